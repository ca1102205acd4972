"""Training setup shared by the recipes: precision, distribution, optimizer, callbacks."""

import collections
import json
import os
import shutil
import time

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_seq.callbacks import EpochCheckpoints
from keras_seq.checks import check_positive_int
from keras_seq.cluster import max_over_workers, multi_worker, worker_name
from keras_seq.losses import SequenceCrossentropy
from keras_seq.metrics import MaskedAccuracy, Perplexity
from keras_seq.optimizers import Adam, build_optimizer, moving_average

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16", "auto")
DISTRIBUTIONS = ("auto", "default", "mirrored", "multi_worker", "tpu")


def cpu_has_bfloat16(cpuinfo="/proc/cpuinfo"):
    """Whether this CPU has native bfloat16 arithmetic (AVX512-BF16 or AMX-BF16 flags)."""
    try:
        with open(cpuinfo) as f:
            lines = f.read().splitlines()
    except OSError:
        return False
    flags = set()
    for line in lines:
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def set_precision(precision="float32"):
    """Sets the global Keras dtype policy and returns its name.

    `"auto"`: `mixed_float16` with a GPU, `mixed_bfloat16` on a CPU with native
    bfloat16, else `float32`.
    """
    if precision not in PRECISIONS:
        raise ValueError(
            f"`precision` must be one of {PRECISIONS}. Received: precision={precision!r}"
        )
    if precision == "auto":
        if tf.config.list_physical_devices("GPU"):
            precision = "mixed_float16"
        else:
            precision = "mixed_bfloat16" if cpu_has_bfloat16() else "float32"
    keras.config.set_dtype_policy(precision)
    return precision


def tf_config_workers():
    """Number of workers `TF_CONFIG` describes (0 without a cluster)."""
    try:
        config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON: {error}") from None
    return len(config.get("cluster", {}).get("worker", []))


def distribution_strategy(name="auto", devices=None):
    """A `tf.distribute` strategy by name.

    - `"auto"`: `"tpu"` when `TPU_NAME` is set, `"multi_worker"` when `TF_CONFIG`
      describes more than one worker, `"mirrored"` with more than one GPU, else
      `"default"`.
    - `"default"`: the default strategy (one device, no replication).
    - `"mirrored"`: `MirroredStrategy` over `devices` (default: all GPUs, or the CPU).
    - `"multi_worker"`: `MultiWorkerMirroredStrategy` from `TF_CONFIG`.
    - `"tpu"`: `TPUStrategy` on the TPU `TPU_NAME` names.

    Build and compile the model in the strategy's scope, then train it with `fit`
    (below: several workers too); batches are global (split across replicas) and
    `SequenceCrossentropy` averages over the real tokens of the global batch, so a
    run gives the same losses on one device or several.

    Raises:
        ValueError: for an unknown name.
    """
    name = resolve_distribution(name)
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(os.environ.get("TPU_NAME"))
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    return tf.distribute.get_strategy()


def resolve_distribution(name="auto"):
    """The strategy name that `name` stands for here (`"auto"` resolved as documented
    in `distribution_strategy`), without creating the strategy.

    Raises:
        ValueError: for an unknown name.
    """
    if name not in DISTRIBUTIONS:
        raise ValueError(f"`name` must be one of {DISTRIBUTIONS}. Received: name={name!r}")
    if name != "auto":
        return name
    if os.environ.get("TPU_NAME"):
        return "tpu"
    if tf_config_workers() > 1:
        return "multi_worker"
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return "mirrored"
    return "default"


def fit(model, *args, **kwargs):
    """`model.fit(*args, **kwargs)` under the strategy `model` was built in, several
    workers' `MultiWorkerMirroredStrategy` included.

    Keras 3.15's `fit` fails under that strategy (keras-team/keras#20585): it reduces
    the first batch with the strategy's `reduce` to build the model, and every scalar
    log with `reduce(..., axis=0)`, which the multi-worker strategy refuses. With
    several workers the model's train and test functions are set here instead (each
    runs one step of the model's own `train_step` / `test_step` in every replica and
    averages each log over the replicas), the first-batch build is skipped (the
    model must be built before; its optimizer is built here, in the strategy's
    scope), the workers check that they start at the same epoch (a resumed run's
    backups agree; else a `RuntimeError` on every worker, not a hang), and they agree
    after each epoch to stop when any callback of any worker stops. Epochs,
    callbacks, validation and the `History` are Keras' own. After it, `evaluate`
    and `predict` run on each worker alone.

    Returns:
        The Keras `History`.

    Raises:
        ValueError: with several workers, for a model not yet built or with
            `steps_per_execution` other than 1.
    """
    strategy = model.distribute_strategy
    if not multi_worker(strategy):
        return model.fit(*args, **kwargs)
    if not model.built:
        raise ValueError(
            f"Build {model.name!r} before training on several workers (call it on a batch)."
        )
    if model.steps_per_execution != 1:
        raise ValueError(
            "Training on several workers runs one step per call. Received: "
            f"steps_per_execution={model.steps_per_execution}"
        )
    with strategy.scope():
        build_optimizer(model)
    model._distribute_strategy = None  # skips Keras' first-batch build (keras#20585)
    model.train_function = _replicated_step(strategy, model.train_step)
    model.test_function = _replicated_step(strategy, model.test_step)
    kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), _WorkersInStep(strategy)]
    try:
        with strategy.scope():  # the strategy `model.distribute_strategy` now reads
            return model.fit(*args, **kwargs)
    finally:
        # After `fit`, `evaluate` and `predict` run on this worker alone (Keras makes
        # their functions anew outside the scope): one worker scores, the others may end.
        model.train_function = model.test_function = None


def _replicated_step(strategy, step):
    """A train or test function for `fit`: one batch of the distributed iterator through
    `step` in every replica, each log averaged over the replicas."""

    @tf.function
    def function(iterator):
        logs = strategy.run(step, args=(next(iterator),))
        return {name: strategy.reduce("MEAN", value, axis=None) for name, value in logs.items()}

    return function


class _WorkersInStep(keras.callbacks.Callback):
    """Keeps the workers of one `fit` in step: they start at the same epoch (a resumed
    run's backups agree) and end training together when a callback of any worker ended
    it (a worker that trained on alone would wait for the others' gradients forever)."""

    def __init__(self, strategy):
        super().__init__()
        self.strategy = strategy

    def on_train_begin(self, logs=None):
        # After the other callbacks': a backup being restored has set the first epoch.
        first = self.model._initial_epoch or 0
        latest, earliest = max_over_workers([first, -first], self.strategy)
        if latest != -earliest:
            raise RuntimeError(
                f"The workers' backups are of different epochs: they would resume at epochs "
                f"{int(-earliest) + 1} to {int(latest) + 1} ({worker_name(self.strategy)} at "
                f"{first + 1}; a worker stopped while the others backed up). Give every "
                "worker the same backup (copy the chief's), or start the run anew."
            )

    def on_epoch_end(self, epoch, logs=None):
        (stop,) = max_over_workers([float(bool(self.model.stop_training))], self.strategy)
        self.model.stop_training = stop > 0


@keras.saving.register_keras_serializable(package="keras_seq")
class WarmupCosineDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup to `peak`, then a cosine decay to `alpha * peak` at `total_steps`.

    The decay can be made to end sooner (`end_at`): `ks.callbacks.TimeBudget` does so
    when fewer epochs fit in its budget than were planned, so that a run cut short by
    time still anneals, instead of stopping at a high learning rate (budgeted
    training: Li, Yumer and Ramanan, 2020). The end is a variable, read in the
    compiled train step.

    Args:
        peak: the learning rate after warmup.
        total_steps: optimizer updates of the planned run.
        warmup_steps: updates of the linear warmup from 0.
        alpha: the floor, a fraction of `peak`.
        end_steps: the update at which the decay ends (default `total_steps`; a
            saved schedule records where `end_at` had moved it).
    """

    def __init__(self, peak, total_steps, warmup_steps=0, alpha=0.05, end_steps=None):
        if not isinstance(total_steps, int) or isinstance(total_steps, bool) or total_steps < 1:
            raise ValueError(f"`total_steps` must be an integer >= 1. Received: {total_steps!r}")
        self.peak = float(peak)
        self.total_steps = total_steps
        self.warmup_steps = int(warmup_steps)
        self.alpha = float(alpha)
        self.end = keras.Variable(
            float(end_steps or total_steps), dtype="float32", trainable=False, name="decay_end"
        )

    def end_at(self, fraction):
        """Ends the decay after `fraction` (in (0, 1]) of the planned updates; returns the
        step at which it now ends (never inside the warmup)."""
        end = max(self.warmup_steps + 1, round(self.total_steps * min(1.0, fraction)))
        self.end.assign(float(end))
        return end

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warmup = float(self.warmup_steps)
        progress = ops.clip((step - warmup) / ops.maximum(self.end - warmup, 1.0), 0.0, 1.0)
        cosine = 0.5 * (1.0 + ops.cos(np.pi * progress))
        decayed = self.peak * (self.alpha + (1.0 - self.alpha) * cosine)
        if not self.warmup_steps:
            return decayed
        return ops.where(step < warmup, self.peak * step / warmup, decayed)

    def get_config(self):
        return {
            "peak": self.peak,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "alpha": self.alpha,
            "end_steps": float(self.end.numpy()),
        }


def compile_seq2seq(
    model,
    learning_rate=2e-3,
    warmup_steps=0,
    total_steps=None,
    clipnorm=1.0,
    label_smoothing=0.0,
    jit_compile=False,
    clipvalue=None,
    accumulate_steps=1,
    global_clipnorm=None,
    ema_momentum=0.0,
):
    """Compiles a `build_seq2seq` model with Adam, warmup + cosine decay and clipping.

    Metrics: masked token accuracy and teacher-forced perplexity.

    Args:
        model: a `build_seq2seq` model (compile it in the strategy's scope).
        learning_rate: peak learning rate.
        warmup_steps, total_steps: linear warmup, then cosine decay to 5 % over
            `total_steps` optimizer updates (batches / `accumulate_steps`): a
            `WarmupCosineDecay`, which a `TimeBudget` ends sooner when fewer epochs
            fit; no schedule without `total_steps`.
        clipnorm: clip each variable's gradient to this norm (0 or None: off).
        label_smoothing: of `SequenceCrossentropy`.
        jit_compile: compile the train step with XLA.
        clipvalue: clip each gradient element into `[-clipvalue, clipvalue]`.
        global_clipnorm: clip all gradients together to this global norm.
            Keras takes one of `clipnorm`, `clipvalue`, `global_clipnorm`.
        accumulate_steps: apply the summed gradients of this many batches at once
            (the Keras optimizer's `gradient_accumulation_steps`): a batch this
            many times larger in the same memory.
        ema_momentum: in [0, 1); above 0, the optimizer also keeps an exponential
            moving average of the weights with this momentum (`use_ema`, bias-corrected
            by `ks.optimizers.Adam`),
            which `ks.callbacks.AveragedWeights` validates, saves and ends with
            (`standard_callbacks(average_weights=True)`). 0: none.
    """
    average = moving_average(ema_momentum)
    schedule = learning_rate
    if total_steps:
        schedule = WarmupCosineDecay(learning_rate, int(total_steps), warmup_steps)
    clipping = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
    chosen = {k: v for k, v in clipping.items() if v}
    if len(chosen) > 1:
        raise ValueError(
            "Clip gradients one way: by norm, by value or by global norm (Keras takes one). "
            f"Received: {', '.join(f'{k}={v!r}' for k, v in chosen.items())}"
        )
    if not isinstance(accumulate_steps, int) or accumulate_steps < 1:
        raise ValueError(
            f"`accumulate_steps` must be an integer >= 1. Received: {accumulate_steps!r}"
        )
    optimizer = Adam(  # Keras' Adam, its moving average bias-corrected
        schedule,
        clipnorm=clipnorm or None,
        clipvalue=clipvalue or None,
        global_clipnorm=global_clipnorm or None,
        gradient_accumulation_steps=accumulate_steps if accumulate_steps > 1 else None,
        **average,
    )
    model.compile(
        optimizer=optimizer,
        loss=SequenceCrossentropy(label_smoothing=label_smoothing),
        metrics=[MaskedAccuracy(), Perplexity()],
        jit_compile=jit_compile,
    )
    build_optimizer(model)
    return model


def seconds_per_step(model, dataset, steps=6):
    """Wall seconds of one training step of the compiled `model` on `dataset`'s batches.

    The first `steps` batches of `dataset` are read once into memory, trained on once
    (`fit`) to trace and warm up, then once more, each step timed; the median step
    counts, so that neither the input pipeline (a shuffle buffer refilled for each
    pass) nor a pause of the host inflates it. With several workers, the slowest
    worker's time (every worker decides alike on it). The weights and the optimizer
    state change: time a model built for the purpose, not the one to train.
    """
    check_positive_int("steps", steps)
    batches = dataset.take(steps).cache()
    count = sum(1 for _ in batches)  # fills the cache: both passes read the same batches
    if not count:
        raise ValueError(f"No batch to time: {dataset!r} is empty.")
    timer = _StepSeconds()
    fit(model, batches, epochs=2, verbose=0, callbacks=[timer])
    (seconds,) = max_over_workers([float(np.median(timer.seconds))], model.distribute_strategy)
    return seconds


class _StepSeconds(keras.callbacks.Callback):
    """The wall seconds of each training step of the last epoch."""

    def on_epoch_begin(self, epoch, logs=None):
        self.seconds = []

    def on_train_batch_begin(self, batch, logs=None):
        self._started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.seconds.append(time.perf_counter() - self._started)


def average_checkpoints(model, paths):
    """Sets `model`'s weights to the mean of the weight files `paths` (checkpoint averaging).

    Averaging the weights of the last few epochs is a standard gain in neural
    machine translation (Vaswani et al., 2017; Junczys-Dowmunt et al., 2016): the
    mean sits nearer the centre of the region the optimizer wanders in. Float
    weights are averaged in float64; other weights take the last file's value.

    Args:
        model: a built model whose architecture wrote the files
            (`model.save_weights`, e.g. by `EpochCheckpoints`).
        paths: the `.weights.h5` files, at least one.

    Raises:
        ValueError: for an empty `paths`.
    """
    if not paths:
        raise ValueError("`paths` is empty: there are no checkpoints to average.")
    ((_, mean),) = collections.deque(_tail_means(model, paths), maxlen=1)  # all files' mean
    model.set_weights(mean)


def _tail_means(model, paths):
    """Yields `(k, weights)`: the mean of the last k files of `paths` for k = 1, 2, ...
    (float weights summed in float64; other weights the last file's). Loads each file
    into `model` once."""
    total = None
    for k, path in enumerate(reversed(paths), start=1):
        model.load_weights(path)
        weights = model.get_weights()
        if total is None:
            total = [w.astype("float64") if _floating(w) else w for w in weights]
        else:
            total = [t + w if _floating(w) else t for t, w in zip(total, weights, strict=True)]
        pairs = zip(total, weights, strict=True)
        yield k, [(t / k).astype(w.dtype) if _floating(w) else t for t, w in pairs]
    # A weights file holds the optimizer's state too: it ends as the newest file's.
    model.load_weights(paths[-1])


def _floating(weight):
    return np.issubdtype(weight.dtype, np.floating)


def average_if_better(model, paths, score):
    """Checkpoint averaging kept only when it helps.

    The mean of the weight files `paths` (`average_checkpoints`) replaces
    `model`'s weights if `score()` (a validation score of the model's current
    weights, higher is better) is higher with it; otherwise the weights stay.

    Returns:
        `(score of the average, score of the weights before, kept)`, where `kept`
        is `"average"` or `"best"`.
    """
    current = model.get_weights()
    before = score()
    average_checkpoints(model, paths)
    after = score()
    kept = "average" if after > before else "best"
    if kept == "best":
        model.set_weights(current)
    return after, before, kept


def average_best_tail(model, paths, score):
    """Checkpoint averaging over the annealed tail: the best of the current weights and
    the means of the last k of `paths`, for each k from 2 to all.

    The first epochs kept can sit far from the minimum that the decaying learning
    rate settles in, and a mean that takes them in can lose to the best epoch (36.5
    against 37.7 validation BLEU for the last five of seven epochs on Multi30k), so
    each tail is scored and the best kept; a tie keeps the weights before, or the
    shorter tail.

    Args:
        model: a built model whose architecture wrote the files.
        paths: the `.weights.h5` files in training order, at least two.
        score: `score()`, a validation score of the model's current weights, higher
            is better.

    Returns:
        `(tails, before, top, kept)`: `tails` maps each k to its mean's score, `before`
        is the score of the weights before, `top` the best tail's k (the smaller on a
        tie) and `kept` whether its mean replaced the weights.

    Raises:
        ValueError: for fewer than two `paths`.
    """
    if len(paths) < 2:
        raise ValueError(f"`paths` must hold at least two files. Received: {list(paths)}")
    current = model.get_weights()
    before = score()
    tails, top, top_mean = {}, None, None
    for k, mean in _tail_means(model, paths):
        if k >= 2:
            model.set_weights(mean)
            tails[k] = score()
            if top is None or tails[k] > tails[top]:
                top, top_mean = k, mean
    kept = tails[top] > before
    model.set_weights(top_mean if kept else current)
    return tails, before, top, kept


def average_kept_epochs(model, run_dir, score):
    """`average_best_tail` over the epochs `standard_callbacks(keep_epochs=N)` kept in
    `run_dir` (`checkpoints/epochs/`), whose files it then deletes.

    Returns:
        None with fewer than two epochs kept, else a dict: `epochs` (the numbers, from 1,
        of the best-scoring tail), `average` (its score), `best` (the score of the
        weights before), `kept` (`"average"` or `"best"`) and `tails` (each tail's
        score, by its first epoch).
    """
    paths = EpochCheckpoints.paths(os.path.join(run_dir, "checkpoints", "epochs"))
    if len(paths) < 2:
        return None
    tails, best, top, kept = average_best_tail(model, paths, score)
    shutil.rmtree(os.path.dirname(paths[0]))  # the space given back
    epochs = [EpochCheckpoints.epoch_of(path) for path in paths]
    return {
        "epochs": epochs[-top:],
        "average": tails[top],
        "best": best,
        "kept": "average" if kept else "best",
        "tails": {epochs[-k]: tails[k] for k in sorted(tails)},
    }


def describe_average(average, metric):
    """One line on the choice of `average_epochs` (its dict `average`) by `metric`
    (`"BLEU"`, `"F1"`: the dict's `val_<metric>_average` and `val_<metric>_best_epoch`),
    with each tail's score where the dict has them (`tails`)."""
    key = f"val_{metric.lower()}"
    epochs = average["epochs"]
    tails = average.get("tails", {})
    each = ", ".join(f"{first}-{epochs[-1]} {value:.2f}" for first, value in tails.items())
    return (
        f"Checkpoint average of epochs {epochs[0]}-{epochs[-1]}: validation {metric} "
        f"{average[key + '_average']:.2f} against {average[key + '_best_epoch']:.2f} for the "
        f"best epoch; keeping the {average['kept']}." + (f" (Epochs {each}.)" if tails else "")
    )
