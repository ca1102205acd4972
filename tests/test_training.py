import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_seq as ks
from keras_seq import training
from tests.reversal import reversal_batch


def test_set_precision():
    assert training.set_precision("mixed_bfloat16") == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == "mixed_bfloat16"
    with pytest.raises(ValueError, match="precision='fp8'"):
        training.set_precision("fp8")


def this_cpus_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def test_auto_precision_follows_this_machine():
    if tf.config.list_physical_devices("GPU"):
        expected = "mixed_float16"
    elif {"avx512_bf16", "amx_bf16"} & this_cpus_flags():
        expected = "mixed_bfloat16"
    else:
        expected = "float32"
    assert training.set_precision("auto") == expected
    assert keras.config.dtype_policy().name == expected


@pytest.mark.parametrize(
    "flags,expected",
    [
        ("fpu sse avx2 avx512f", False),
        ("fpu avx512f avx512_bf16 avx512_vnni", True),
        ("fpu amx_bf16 amx_tile", True),
        ("fpu avx512_bf16x", False),  # a longer flag that only starts the same
    ],
)
def test_bfloat16_detection_reads_the_flags(tmp_path, flags, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n\nprocessor\t: 1\n")
    assert training.cpu_has_bfloat16(str(cpuinfo)) is expected
    assert training.cpu_has_bfloat16(str(tmp_path / "absent")) is False


def test_warmup_then_decay_schedule(tmp_path):
    model = ks.models.build_seq2seq(10, 10, embedding_dim=4, units=4)
    training.compile_seq2seq(model, learning_rate=1e-2, warmup_steps=10, total_steps=100)
    schedule = model.optimizer._learning_rate  # the schedule object, not its current value
    rates = [float(schedule(step)) for step in (0, 5, 10, 55, 100)]
    assert rates[0] < rates[1] < rates[2] == pytest.approx(1e-2)
    assert rates[2] > rates[3] > rates[4] > 0
    assert rates[4] == pytest.approx(5e-4)  # the floor: 5 % of the peak
    # Its end moved sooner (as a TimeBudget does), it is saved and loaded with the model.
    schedule.end_at(0.5)
    assert float(schedule(50)) == pytest.approx(5e-4) and float(schedule(30)) > 5e-4
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path).optimizer._learning_rate
    assert [float(loaded(s)) for s in (5, 30, 50)] == [float(schedule(s)) for s in (5, 30, 50)]


def test_callbacks_write_history_with_sampling_probability(tmp_path):
    model = ks.models.build_seq2seq(10, 10, embedding_dim=4, units=4)
    model.get_layer("decoder").sampling_probability.assign(0.25)
    training.compile_seq2seq(model)
    x = {
        "source_ids": np.array([[4, 5, 0]] * 8, "int32"),
        "target_ids": np.array([[1, 6, 7]] * 8, "int32"),
    }
    y = np.array([[6, 7, 2]] * 8, "int32")
    model.fit(
        x,
        y,
        validation_data=(x, y),
        epochs=2,
        verbose=0,
        callbacks=ks.callbacks.standard_callbacks(str(tmp_path), tensorboard=False),
    )
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert len(lines) == 3 and "sampling_probability" in lines[0]
    assert lines[1].split(",")[lines[0].split(",").index("sampling_probability")] == "0.25"
    assert (tmp_path / "checkpoints" / "best.weights.h5").is_file()


def test_last_epochs_are_kept_and_averaged(tmp_path):
    x, y = reversal_batch(32, length=5, seed=1)
    model = ks.models.build_seq2seq(10, 10, embedding_dim=4, units=4)
    training.compile_seq2seq(model, learning_rate=1e-2)
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(model.get_weights())
    )
    callbacks = ks.callbacks.standard_callbacks(str(tmp_path), tensorboard=False, keep_epochs=2)
    model.fit(x, y, batch_size=8, epochs=4, verbose=0, callbacks=[*callbacks, record])
    folder = tmp_path / "checkpoints" / "epochs"
    paths = ks.callbacks.EpochCheckpoints.paths(str(folder))
    assert [p.rsplit("/", 1)[1] for p in paths] == ["epoch-003.weights.h5", "epoch-004.weights.h5"]

    training.average_checkpoints(model, paths)
    for got, a, b in zip(model.get_weights(), seen[2], seen[3], strict=True):
        np.testing.assert_allclose(got, (a + b) / 2, rtol=1e-6, atol=1e-7)
    assert not np.allclose(seen[2][0], seen[3][0])  # the epochs differ: a real mean
    with pytest.raises(ValueError, match="no checkpoints to average"):
        training.average_checkpoints(model, [])
    with pytest.raises(ValueError, match="`keep` must be a positive integer. Received: 0"):
        ks.callbacks.EpochCheckpoints(str(folder), keep=0)


def test_average_if_better_keeps_the_average_only_when_it_scores_higher(tmp_path):
    model = ks.models.build_seq2seq(10, 10, embedding_dim=4, units=4)
    first = [np.full(w.shape, 1.0, "float32") for w in model.get_weights()]
    second = [np.full(w.shape, 3.0, "float32") for w in model.get_weights()]
    paths = []
    for name, weights in (("a", first), ("b", second)):
        model.set_weights(weights)
        paths.append(str(tmp_path / f"{name}.weights.h5"))
        model.save_weights(paths[-1])
    current = [np.full(w.shape, 5.0, "float32") for w in model.get_weights()]

    def score():  # higher the nearer the weights are to 2 (the average's)
        return -abs(float(model.get_weights()[0].flat[0]) - 2.0)

    model.set_weights(current)
    assert training.average_if_better(model, paths, score) == (0.0, -3.0, "average")
    assert all((w == 2.0).all() for w in model.get_weights())  # the mean of 1 and 3

    def score_away():  # now the current weights (5) score higher than the average (2)
        return float(model.get_weights()[0].flat[0])

    model.set_weights(current)
    assert training.average_if_better(model, paths, score_away) == (2.0, 5.0, "best")
    assert all((w == 5.0).all() for w in model.get_weights())  # the weights before stay
    model.set_weights(current)
    tie = training.average_if_better(model, paths, lambda: 1.0)
    assert tie == (1.0, 1.0, "best") and all((w == 5.0).all() for w in model.get_weights())


def test_average_best_tail_keeps_the_best_scoring_tail_or_the_weights_before(tmp_path):
    model = ks.models.build_seq2seq(10, 10, embedding_dim=4, units=4)
    paths = []
    for value in (1.0, 3.0, 5.0):  # three epochs' files, oldest first
        model.set_weights([np.full(w.shape, value, "float32") for w in model.get_weights()])
        paths.append(str(tmp_path / f"{value}.weights.h5"))
        model.save_weights(paths[-1])

    def first():
        return float(model.get_weights()[0].flat[0])

    def near(target):  # higher the nearer the weights are to `target`
        return lambda: -abs(first() - target)

    # The tails' means: the last two files 4, all three 3; the weights before 10.
    cases = ((4.0, 2, True, 4.0), (3.0, 3, True, 3.0), (9.0, 2, False, 10.0))
    for target, top, kept, value in cases:
        model.set_weights([np.full(w.shape, 10.0, "float32") for w in model.get_weights()])
        tails, before, best, chosen = training.average_best_tail(model, paths, near(target))
        assert tails == {2: -abs(4.0 - target), 3: -abs(3.0 - target)}
        assert before == -abs(10.0 - target) and (best, chosen) == (top, kept)
        assert all((w == value).all() for w in model.get_weights())
    tie = training.average_best_tail(model, paths, lambda: 1.0)  # keeps the weights, the
    assert tie == ({2: 1.0, 3: 1.0}, 1.0, 2, False) and first() == 10.0  # shorter tail best
    with pytest.raises(ValueError, match="at least two files"):
        training.average_best_tail(model, paths[:1], first)


def test_seconds_per_step_times_warmed_up_steps_on_the_datasets_batches():
    x, y = reversal_batch(32, length=5, seed=1)
    model = ks.models.build_seq2seq(10, 10, embedding_dim=4, units=4)
    training.compile_seq2seq(model, learning_rate=1e-2)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    step = training.seconds_per_step(model, dataset, steps=3)
    assert 0 < step < 10
    assert int(model.optimizer.iterations.numpy()) == 6  # 3 batches, traced then timed
    with pytest.raises(ValueError, match="steps=0"):
        training.seconds_per_step(model, dataset, steps=0)
    with pytest.raises(ValueError, match="No batch to time"):
        training.seconds_per_step(model, dataset.take(0))


def test_gradient_accumulation_updates_once_per_group_of_batches():
    x, y = reversal_batch(32, length=5, seed=1)
    model = ks.models.build_seq2seq(10, 10, embedding_dim=4, units=4)
    training.compile_seq2seq(model, learning_rate=1e-2, accumulate_steps=2)
    assert model.optimizer.gradient_accumulation_steps == 2
    snapshots = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: snapshots.append(model.get_weights()[0].copy())
    )
    initial = model.get_weights()[0].copy()
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[record])
    assert int(model.optimizer.iterations.numpy()) == 8  # 16 batches, 8 updates
    before = [initial, *snapshots[:-1]]
    changed = [not np.array_equal(a, b) for a, b in zip(before, snapshots, strict=True)]
    assert changed == [False, True] * 8  # the weights move after every second batch


def count_train_step_traces(model):
    """Wraps `model.train_step`; the returned list grows by one each time it is traced."""
    traces, step = [], model.train_step
    model.train_step = lambda data: traces.append(1) or step(data)
    return traces


def test_fit_traces_the_train_step_once_with_the_optimizer_built_at_compile(tmp_path):
    x, y = reversal_batch(16, length=5)
    model = ks.models.build_seq2seq(10, 10, embedding_dim=4, units=4)
    training.compile_seq2seq(model, accumulate_steps=2)
    assert model.optimizer.built  # Adam's moments and the accumulators exist before fit
    traces = count_train_step_traces(model)
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    assert len(traces) == 1  # created in the trace, they would make tf.function trace twice
    tagger = ks.models.build_tagger(12, 5, 4, 4)
    tagger.compile(optimizer="adam")
    traces = count_train_step_traces(tagger)
    words = np.arange(1, 13, dtype="int32").reshape(3, 4) % 11 + 1
    tagger.fit({"words": words}, words % 5, epochs=2, verbose=0)
    assert tagger.optimizer.built and len(traces) == 1
    tagger.save(tmp_path / "tagger.keras")  # and it still compiles when it is loaded
    assert keras.models.load_model(tmp_path / "tagger.keras").optimizer.built


def test_clipping_settings():
    model = ks.models.build_seq2seq(10, 10, embedding_dim=4, units=4)
    training.compile_seq2seq(model, clipnorm=0.5)
    assert model.optimizer.clipnorm == 0.5 and model.optimizer.global_clipnorm is None
    training.compile_seq2seq(model, clipnorm=0, global_clipnorm=5.0)
    assert model.optimizer.global_clipnorm == 5.0 and model.optimizer.clipnorm is None
    training.compile_seq2seq(model, clipnorm=0, clipvalue=0.1)
    assert model.optimizer.clipvalue == 0.1 and model.optimizer.global_clipnorm is None
    with pytest.raises(ValueError, match="one way.*clipnorm=1.0, clipvalue=0.1"):
        training.compile_seq2seq(model, clipnorm=1.0, clipvalue=0.1)
    with pytest.raises(ValueError, match="accumulate_steps"):
        training.compile_seq2seq(model, accumulate_steps=0)


def test_distribution_strategy_by_name(monkeypatch):
    monkeypatch.delenv("TPU_NAME", raising=False)
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert training.distribution_strategy("auto") is tf.distribute.get_strategy()
    assert training.distribution_strategy("default").num_replicas_in_sync == 1
    with pytest.raises(ValueError, match="name='horovod'"):
        training.distribution_strategy("horovod")
    cluster = {"cluster": {"worker": ["a:1", "b:2", "c:3"]}, "task": {"type": "worker"}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(cluster))
    assert training.tf_config_workers() == 3
    assert training.resolve_distribution("auto") == "multi_worker"
    assert training.resolve_distribution("mirrored") == "mirrored"
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        training.tf_config_workers()


def test_one_process_is_its_own_chief_and_the_tf_config_rule_names_the_chief():
    strategy = tf.distribute.get_strategy()
    assert ks.cluster.is_chief(strategy) and not ks.cluster.multi_worker(strategy)
    assert ks.cluster.worker_name(strategy) == "chief"
    assert ks.cluster.max_over_workers([1.5, -2.0], strategy) == [1.5, -2.0]
    assert ks.cluster.chief_task("worker", 0, ["worker"])
    assert not ks.cluster.chief_task("worker", 1, ["worker"])
    assert not ks.cluster.chief_task("worker", 0, ["chief", "worker"])
    assert ks.cluster.chief_task("chief", 0, ["chief", "worker"])
    assert not ks.cluster.chief_task("evaluator", 0, ["chief", "worker", "evaluator"])


def test_workers_resuming_from_backups_of_different_epochs_are_refused(monkeypatch):
    # What the workers would gather: this one resumes at epoch 3 (index 2), another at
    # epoch 5, the earliest at epoch 2 (`max_over_workers` of [first, -first]).
    gathered = {"latest": 4.0, "-earliest": -1.0}
    monkeypatch.setattr(
        training,
        "max_over_workers",
        lambda values, strategy: [gathered["latest"], gathered["-earliest"]][: len(values)],
    )
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model._initial_epoch = 2
    in_step = training._WorkersInStep(tf.distribute.get_strategy())
    in_step.set_model(model)
    with pytest.raises(RuntimeError, match="different epochs.*epochs 2 to 5.*chief at 3"):
        in_step.on_train_begin()
    gathered.update({"latest": 2.0, "-earliest": -2.0})  # all at epoch 3: no complaint
    in_step.on_train_begin()
    # One worker's callback ended training: every worker ends with it.
    model.stop_training = False  # as `fit` starts it
    gathered["latest"] = 1.0
    in_step.on_epoch_end(0)
    assert model.stop_training
    gathered["latest"] = 0.0
    in_step.on_epoch_end(1)
    assert not model.stop_training
