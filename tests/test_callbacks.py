import csv

import keras
import numpy as np
import pytest

import keras_seq as ks
from keras_seq.callbacks import ScheduledSampling
from keras_seq.schedules import Linear
from tests.reversal import reversal_batch


def data(n=16):
    return reversal_batch(n, length=4)


def compiled_model(attention="luong_general"):
    model = ks.models.build_seq2seq(10, 10, embedding_dim=4, units=4, attention=attention)
    model.compile("adam", ks.losses.SequenceCrossentropy())
    ks.training.build_optimizer(model)
    return model


class Probe(keras.callbacks.Callback):
    """Records (optimizer step, every decoder's probability) as each batch starts."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_batch_begin(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        decoder = ks.models.seq2seq_parts(self.model).decoder
        self.seen.append((step, float(decoder.sampling_probability.numpy())))


def test_per_step_schedule_drives_the_decoder_and_traces_once():
    model = compiled_model()
    traces = []
    train_step = model.train_step

    def counted(batch):
        traces.append(1)  # runs when the train function is traced, not when it runs
        return train_step(batch)

    model.train_step = counted
    schedule = Linear(10)
    probe = Probe()
    after_each_epoch = []
    traced_by_epoch = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: after_each_epoch.append(len(traces))
    )
    x, y = data()
    history = model.fit(
        x,
        y,
        batch_size=4,
        epochs=3,
        verbose=0,
        callbacks=[ScheduledSampling(schedule), probe, traced_by_epoch],
    )
    assert [step for step, _ in probe.seen] == list(range(12))
    for step, value in probe.seen:
        assert value == pytest.approx(schedule(step))
    # Traced in the first batch (TensorFlow traces twice when the optimizer creates its
    # variables there), never again while the probability changes at every step.
    assert after_each_epoch == [after_each_epoch[0]] * 3 and after_each_epoch[0] <= 2
    logged = history.history["sampling_probability"]
    assert logged == pytest.approx([schedule(3), schedule(7), schedule(11)])


def test_per_epoch_schedule():
    model = compiled_model("bahdanau")
    schedule = Linear(4, per="epoch")
    x, y = data()
    history = model.fit(
        x, y, batch_size=8, epochs=3, verbose=0, callbacks=[ScheduledSampling(schedule)]
    )
    assert history.history["sampling_probability"] == pytest.approx([0.0, 0.25, 0.5])


class Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt("simulated interruption")


@pytest.mark.parametrize("per", [pytest.param("step", marks=pytest.mark.slow), "epoch"])
def test_resumed_run_continues_at_the_right_value(tmp_path, per):
    schedule = Linear(12 if per == "step" else 4, per=per)
    x, y = data()

    def callbacks(*extra):
        return [
            keras.callbacks.BackupAndRestore(str(tmp_path / "backup")),
            ScheduledSampling(schedule),
            keras.callbacks.CSVLogger(str(tmp_path / "history.csv"), append=True),
            *extra,
        ]

    with pytest.raises(KeyboardInterrupt):
        compiled_model().fit(
            x, y, batch_size=4, epochs=4, verbose=0, callbacks=callbacks(Interrupt())
        )
    compiled_model().fit(x, y, batch_size=4, epochs=4, verbose=0, callbacks=callbacks())
    with open(tmp_path / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3]
    expected = [schedule(4 * e + 3) if per == "step" else schedule(e) for e in range(4)]
    assert [float(r["sampling_probability"]) for r in rows] == pytest.approx(expected)


def test_a_model_without_a_decoder_is_refused():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("adam", "mse")
    with pytest.raises(ValueError, match="needs a model with an AttentionDecoder"):
        model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0, callbacks=[ScheduledSampling(0.5)])


def test_validation_bleu_scores_the_same_pairs_every_epoch_with_one_trace():
    from keras_seq import evaluation
    from keras_seq.callbacks import ValidationBLEU
    from keras_seq.data import SubwordTokenizer, generate_pairs, make_dataset

    pairs = generate_pairs(600, seed=4)
    source = SubwordTokenizer.train([s for s, _ in pairs], 120)
    # A case-folding target model: validation references written with capitals are
    # compared with its lower-case output case-insensitively.
    target = SubwordTokenizer.train([t for _, t in pairs], 120, lowercase=True)
    pairs[500:] = [(s, t.upper()) for s, t in pairs[500:]]
    train, _ = make_dataset(pairs[:500], source, target, 50, 24, 24)
    model = ks.models.build_seq2seq(120, 120, embedding_dim=16, units=32)
    model.compile(keras.optimizers.Adam(0.02), ks.losses.SequenceCrossentropy())
    ks.training.build_optimizer(model)
    callback = ValidationBLEU(pairs[500:], source, target, 24, 24, num_pairs=40)
    history = model.fit(train, epochs=3, verbose=0, callbacks=[callback])
    logged = history.history["val_bleu"]
    assert len(logged) == 3 and all(0 <= b <= 100 for b in logged)
    assert callback._translator.translate.experimental_get_tracing_count() == 1
    hypotheses, _ = evaluation.translate_texts(
        model, [s for s, _ in pairs[500:540]], source, target, 24, 24
    )
    references = [t for _, t in pairs[500:540]]
    expected = evaluation.corpus_scores(hypotheses, [t.lower() for t in references])["bleu"]
    assert logged[-1] == pytest.approx(expected) and expected > 0
    assert evaluation.corpus_scores(hypotheses, references)["bleu"] < expected  # cased
    with pytest.raises(ValueError, match="empty"):
        ValidationBLEU([], source, target, 24, 24)


def test_validation_f1_is_the_entity_f1_of_the_weights_at_each_epoch_end():
    from keras_seq.callbacks import ValidationF1
    from keras_seq.evaluation import SentenceTagger, entity_scores
    from tests.tasks.test_tagger import numbers_corpus

    keras.utils.set_random_seed(0)
    sentences, valid = numbers_corpus(200), numbers_corpus(40, seed=9)
    vocabularies = ks.data.TagVocabularies.build(sentences)
    model = ks.models.build_tagger(len(vocabularies.words), len(vocabularies.tags), 8, 8)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    data = ks.data.make_tagging_dataset(sentences, vocabularies, 32, with_chars=False)
    gold = [tags for _, tags in valid]
    scores = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: scores.append(
            entity_scores(gold, SentenceTagger(model, [w for w, _ in valid], vocabularies)()[0])
        )
    )
    history = model.fit(
        data, epochs=3, verbose=0, callbacks=[ValidationF1(valid, vocabularies), record]
    )
    assert history.history["val_f1"] == pytest.approx([score["f1"] for score in scores])
    assert len(set(history.history["val_f1"])) > 1  # it follows the weights


def test_validation_forecast_is_the_mase_of_the_free_running_forecasts():
    from keras_seq.callbacks import ValidationForecast
    from keras_seq.evaluation import forecast_scores

    keras.utils.set_random_seed(0)
    t = np.arange(160)
    values = (10 + 0.05 * t + np.sin(2 * np.pi * t / 6)).astype("float32")
    features = ks.data.seasonal_features(len(values), 6)
    train, train_y = ks.data.make_windows(values, features, range(12, 120), 12, 3)
    valid, valid_y = ks.data.make_windows(values, features, range(120, 158), 12, 3)
    model = ks.models.build_forecaster(12, 3, 2, 8, 8)
    model.compile(keras.optimizers.Adam(1e-2), ks.losses.QuantileLoss())
    ks.training.build_optimizer(model)
    inputs = {k: v for k, v in valid.items() if k != "future_values"}
    expected = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: expected.append(
            forecast_scores(
                np.asarray(ks.models.forecast(model, **inputs)[0])[..., 1],
                valid_y, values[:120], 6,
            )["mase"]
        )
    )  # fmt: skip
    callback = ValidationForecast(valid, valid_y, values[:120], season=6)
    history = model.fit(train, train_y, epochs=3, verbose=0, callbacks=[callback, record])
    assert history.history["val_mase"] == pytest.approx(expected, rel=1e-4)
    assert history.history["val_mase"][-1] < history.history["val_mase"][0]  # it learns
    with pytest.raises(ValueError, match="No validation windows"):
        ValidationForecast(valid, valid_y[:0], values[:120])


def test_standard_callbacks_check_the_monitor(tmp_path):
    from keras_seq.callbacks import standard_callbacks

    with pytest.raises(ValueError, match="'val_acc'"):
        standard_callbacks(str(tmp_path), monitor="val_acc")
    with pytest.raises(ValueError, match="needs a `ValidationBLEU`"):
        standard_callbacks(str(tmp_path), monitor="val_bleu")
    with pytest.raises(ValueError, match="needs a `ValidationF1`"):
        standard_callbacks(str(tmp_path), monitor="val_f1")
    made = standard_callbacks(str(tmp_path), monitor="val_loss", tensorboard=False)
    early = next(c for c in made if isinstance(c, keras.callbacks.EarlyStopping))
    assert early.monitor == "val_loss" and early.mode == "min"


class MinuteClock:
    """A `time` module whose every `perf_counter()` call is one minute after the last."""

    def __init__(self):
        self.calls = 0

    def perf_counter(self):
        self.calls += 1
        return 60.0 * self.calls


@pytest.mark.slow
def test_time_budget_ends_training_at_the_last_epoch_that_fits_and_resumes_it(
    tmp_path, monkeypatch
):
    from keras_seq.callbacks import standard_callbacks, time_budget

    monkeypatch.setattr(time_budget, "time", MinuteClock())
    x, y = data()
    model = compiled_model()  # one model for both runs: traced once

    def fit():
        made = standard_callbacks(
            str(tmp_path), monitor="val_loss", tensorboard=False, time_budget=4.5
        )
        model.fit(x, y, validation_data=(x, y), epochs=6, verbose=0, callbacks=made)
        return next(c for c in made if isinstance(c, ks.callbacks.TimeBudget))

    # Epochs of one minute each, a minute apart: after the second, 4 minutes are used and a
    # third would end after 4.5.
    budget = fit()
    assert budget.stopped_epoch == 1 and budget.spent_minutes == 0
    with open(tmp_path / "history.csv") as f:
        assert [float(row["train_minutes"]) for row in csv.DictReader(f)] == [2.0, 4.0]
    # A run started again in the same folder counts the minutes used before.
    budget = fit()
    assert budget.spent_minutes == 4.0 and budget.stopped_epoch == 0
    with pytest.raises(ValueError, match="`minutes` must be a positive number. Received: min"):
        ks.callbacks.TimeBudget(0)
    with pytest.raises(ValueError, match="spent_minutes"):
        ks.callbacks.TimeBudget(10, spent_minutes=-0.5)


@pytest.mark.parametrize("budget, fitted", [(4.5, [2, 2]), (100.0, [6] * 6)])
def test_time_budget_ends_the_learning_rate_decay_with_the_last_epoch_that_fits(
    tmp_path, monkeypatch, capsys, budget, fitted
):
    from keras_seq.callbacks import standard_callbacks, time_budget
    from keras_seq.training import compile_seq2seq

    monkeypatch.setattr(time_budget, "time", MinuteClock())
    x, y = data()  # 16 pairs: 4 batches of 4 an epoch
    model = ks.models.build_seq2seq(10, 10, embedding_dim=4, units=4)
    compile_seq2seq(model, learning_rate=1e-2, warmup_steps=2, total_steps=6 * 4)
    schedule = model.optimizer._learning_rate

    def fit():
        made = standard_callbacks(str(tmp_path), tensorboard=False, time_budget=budget)
        model.fit(x, y, batch_size=4, epochs=6, verbose=2, callbacks=made, shuffle=False)
        return next(c for c in made if isinstance(c, ks.callbacks.TimeBudget))

    # Two-minute epochs (a minute each, a minute of callbacks after): with 4.5 minutes,
    # two fit, and the rate reaches its floor (5 % of the peak) as the second ends.
    fit()
    # What the budget says is printed on lines of its own, after the epoch's progress line.
    lines = capsys.readouterr().out.splitlines()
    said = [i for i, line in enumerate(lines) if "Time budget" in line]
    assert len(said) == (2 if fitted[-1] < 6 else 0)
    assert all(lines[i].startswith("Time budget") and "loss" in lines[i - 1] for i in said)
    with open(tmp_path / "history.csv") as f:
        assert [int(row["schedule_epochs"]) for row in csv.DictReader(f)] == fitted
    end = fitted[-1] * 4
    assert schedule.get_config()["end_steps"] == end
    assert float(schedule(end)) == pytest.approx(5e-4) and float(schedule(2)) == pytest.approx(1e-2)
    assert float(schedule(end // 2 + 1)) == pytest.approx(5e-3 * 1.05, rel=0.2)
    # A run resumed in the folder starts from where its schedule had been fitted.
    schedule.end_at(1.0)
    made = standard_callbacks(str(tmp_path), tensorboard=False, time_budget=budget)
    resumed = next(c for c in made if isinstance(c, ks.callbacks.TimeBudget))
    assert resumed.schedule_epochs == fitted[-1]
    resumed.set_model(model)
    resumed.set_params({"epochs": 6})
    resumed.on_train_begin()
    assert schedule.get_config()["end_steps"] == end


class ListClock:
    """A `time` module whose `perf_counter()` calls return `minutes`, in seconds."""

    def __init__(self, minutes):
        self.times = iter(minutes)

    def perf_counter(self):
        return 60.0 * next(self.times)


def test_time_budget_never_restarts_a_decay_that_has_ended(tmp_path, monkeypatch):
    from keras_seq.callbacks import time_budget
    from keras_seq.training import compile_seq2seq

    # Calls: the start, then each epoch's start and end. The first epoch takes 3 minutes
    # (tracing), the others 1: after the first, 2 of 8 minutes' epochs seem to fit; after
    # the second, 3; after the third, 4. The decay ended with the second epoch and stays
    # ended: the third and fourth train at the floor.
    monkeypatch.setattr(time_budget, "time", ListClock([0, 0, 3, 3, 4, 4, 5, 5, 6]))
    x, y = data()  # 4 batches of 4 an epoch
    model = ks.models.build_seq2seq(10, 10, embedding_dim=4, units=4)
    compile_seq2seq(model, learning_rate=1e-2, total_steps=6 * 4)
    budget = ks.callbacks.TimeBudget(8)
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(
            (logs["schedule_epochs"], float(model.optimizer.learning_rate))
        )
    )
    model.fit(x, y, batch_size=4, epochs=6, verbose=0, callbacks=[budget, record])
    assert budget.stopped_epoch == 3
    assert [epochs for epochs, _ in seen] == [2, 2, 2, 2]
    assert [rate for _, rate in seen[1:]] == pytest.approx([5e-4] * 3)


def test_attention_images_reach_tensorboard_every_epoch(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from keras_seq.data import SubwordTokenizer

    texts = ["in 3 days", "two weeks ago", "tuesday, may 23, 1978"]
    tokenizer = SubwordTokenizer.train(texts * 20, 80)
    model = ks.models.build_seq2seq(tokenizer.vocab_size, tokenizer.vocab_size, 8, 8)
    model.compile(optimizer="adam", loss=ks.losses.SequenceCrossentropy())
    ks.training.build_optimizer(model)
    ids = np.asarray(tokenizer.tokenize(texts).to_tensor().numpy(), "int32")
    x = {"source_ids": ids, "target_ids": np.concatenate([np.ones((3, 1), "int32"), ids], 1)}
    y = np.concatenate([ids, np.full((3, 1), 2, "int32")], 1)
    log_dir = str(tmp_path / "attention")
    images = ks.callbacks.AttentionImages(texts[:2], tokenizer, tokenizer, 16, 8, log_dir=log_dir)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[images])

    events = EventAccumulator(log_dir, size_guidance={"tensors": 0})
    events.Reload()
    assert sorted(events.Tags()["tensors"]) == ["attention/0", "attention/1"]
    for tag in ("attention/0", "attention/1"):
        steps = events.Tensors(tag)
        assert [e.step for e in steps] == [0, 1]
        width, height = (int(v) for v in steps[-1].tensor_proto.string_val[:2])
        assert width > 50 and height > 50
    with pytest.raises(ValueError, match="holds no sentence"):
        ks.callbacks.AttentionImages(["  "], tokenizer, tokenizer, 16, 8, log_dir=log_dir)


def test_averaged_weights_are_validated_and_kept_at_the_end(tmp_path):
    """With a moving average of the weights, each epoch's validation loss is the
    average's, and training ends with the last epoch's average, also when it ends before
    the planned epochs as a time budget ends it (Keras' own `fit` then ends by copying
    the raw weights, kept in the average's slots, back into the model)."""
    (x, y), (vx, vy) = data(32), data(16)
    keras.utils.set_random_seed(0)
    model = ks.models.build_seq2seq(10, 10, embedding_dim=4, units=4, attention="luong_general")
    ks.training.compile_seq2seq(model, learning_rate=1e-2, ema_momentum=0.9)
    callbacks = ks.callbacks.standard_callbacks(
        str(tmp_path), tensorboard=False, average_weights=True
    )
    assert isinstance(callbacks[0], ks.callbacks.AveragedWeights)
    stop = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: setattr(model, "stop_training", epoch == 1)
    )
    history = model.fit(
        x, y, batch_size=8, epochs=4, validation_data=(vx, vy), callbacks=[*callbacks, stop],
        verbose=0,
    )  # fmt: skip
    assert len(history.history["val_loss"]) == 2
    evaluated = model.evaluate(vx, vy, verbose=0, return_dict=True)["loss"]
    np.testing.assert_allclose(evaluated, history.history["val_loss"][-1], rtol=1e-5)
    raw = model.optimizer._model_variables_moving_average  # swapped: the raw weights
    averaged = model.trainable_variables
    assert max(float(np.abs(a - b).max()) for a, b in zip(averaged, raw, strict=True)) > 1e-4


def test_ema_momentum_must_be_below_one():
    model = ks.models.build_seq2seq(10, 10, embedding_dim=4, units=4)
    with pytest.raises(ValueError, match="ema_momentum=1.0"):
        ks.training.compile_seq2seq(model, ema_momentum=1.0)
