"""Training setup shared by the recipes: precision, optimizer, callbacks."""

import os

import keras

from keras_seq.callbacks import SamplingProbabilityLogger, ScheduledSampling
from keras_seq.losses import SequenceCrossentropy
from keras_seq.metrics import MaskedAccuracy, Perplexity

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16", "auto")


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
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            precision = "mixed_float16"
        else:
            precision = "mixed_bfloat16" if cpu_has_bfloat16() else "float32"
    keras.config.set_dtype_policy(precision)
    return precision


def compile_seq2seq(
    model,
    learning_rate=2e-3,
    warmup_steps=0,
    total_steps=None,
    clipnorm=1.0,
    label_smoothing=0.0,
    jit_compile=False,
):
    """Compiles a `build_seq2seq` model with Adam, warmup + cosine decay and clipping.

    Metrics: masked token accuracy and teacher-forced perplexity.
    """
    schedule = learning_rate
    if total_steps:
        schedule = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0 if warmup_steps else learning_rate,
            decay_steps=max(1, total_steps - warmup_steps),
            alpha=0.05,
            warmup_target=learning_rate if warmup_steps else None,
            warmup_steps=warmup_steps,
        )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule, clipnorm=clipnorm or None),
        loss=SequenceCrossentropy(label_smoothing=label_smoothing),
        metrics=[MaskedAccuracy(), Perplexity()],
        jit_compile=jit_compile,
    )
    return model


def standard_callbacks(run_dir, patience=3, tensorboard=True, sampling_schedule=None):
    """Resume, early stopping, best checkpoint, CSV history and TensorBoard for `run_dir`.

    - `checkpoints/backup`: `BackupAndRestore`, so the same command resumes an
      interrupted run from its last finished epoch.
    - `checkpoints/best.weights.h5`: the best weights by validation loss.
    - early stopping on validation loss, restoring the best weights.
    - `history.csv` (appended on resume) and `logs/` for TensorBoard, with the
      scheduled-sampling probability of each epoch.
    - with `sampling_schedule` (a `keras_seq.schedules` object or config), the
      `ScheduledSampling` callback that drives the decoders by it.
    """
    checkpoints = os.path.join(run_dir, "checkpoints")
    os.makedirs(checkpoints, exist_ok=True)
    callbacks = [
        keras.callbacks.BackupAndRestore(os.path.join(checkpoints, "backup")),
        keras.callbacks.ModelCheckpoint(
            os.path.join(checkpoints, "best.weights.h5"),
            monitor="val_loss",
            save_best_only=True,
            save_weights_only=True,
        ),
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=patience, restore_best_weights=True
        ),
        # Before the CSV logger and TensorBoard, which write what it adds to the logs.
        SamplingProbabilityLogger()
        if sampling_schedule is None
        else ScheduledSampling(sampling_schedule),
        keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv"), append=True),
    ]
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(run_dir, "logs")))
    return callbacks
