"""The order of keras_seq's callbacks in a run: one place knows it."""

import csv
import os

import keras

from keras_seq.callbacks.averaged_weights import AveragedWeights
from keras_seq.callbacks.backup_and_restore import BackupAndRestore
from keras_seq.callbacks.epoch_checkpoints import EpochCheckpoints
from keras_seq.callbacks.scheduled_sampling import SamplingProbabilityLogger, ScheduledSampling
from keras_seq.callbacks.time_budget import TimeBudget
from keras_seq.callbacks.validation_bleu import ValidationBLEU
from keras_seq.callbacks.validation_f1 import ValidationF1
from keras_seq.callbacks.validation_forecast import ValidationForecast

MONITORS = {"val_loss": "min", "val_bleu": "max", "val_f1": "max", "val_mase": "min"}


def standard_callbacks(
    run_dir,
    patience=3,
    tensorboard=True,
    sampling_schedule=None,
    monitor="val_loss",
    validation_scores=None,
    keep_epochs=0,
    attention_images=None,
    time_budget=None,
    average_weights=False,
):
    """Resume, early stopping, best checkpoint, CSV history and TensorBoard for `run_dir`.

    - `checkpoints/backup`: keras_seq's `BackupAndRestore`, so the same command
      resumes an interrupted run from its last finished epoch, with its random
      state and its early-stopping and best-checkpoint progress (train on a
      `make_dataset(shuffle=EpochShuffle(...))` and add that to the callbacks
      too for the data order: the resumed run then ends as an uninterrupted
      one would).
    - `checkpoints/best.weights.h5`: the best weights by `monitor`.
    - early stopping on `monitor`, restoring the best weights.
    - `history.csv` (appended on resume) and `logs/` for TensorBoard, with the
      scheduled-sampling probability of each epoch (and `val_bleu`).
    - with `sampling_schedule` (a `keras_seq.schedules` object or config), the
      `ScheduledSampling` callback that drives the decoders by it.
    - with `validation_scores` (a `ValidationBLEU`, `ValidationF1` or
      `ValidationForecast`), the validation BLEU, entity F1 or forecast MASE of
      each epoch; `monitor="val_bleu"`, `"val_f1"` and `"val_mase"` need the
      callback that logs them.
    - with `keep_epochs` above 0, `checkpoints/epochs/`: the weights of the last
      `keep_epochs` epochs (`EpochCheckpoints`), for `average_checkpoints`.
    - with `attention_images` (an `AttentionImages`, logging for example to
      `logs/attention`), attention heat maps of a few sentences every epoch.
    - with `time_budget` (minutes), a `TimeBudget` that ends training after the last
      epoch that fits, counting the minutes an interrupted run had used (the last
      `train_minutes` of `history.csv`), and that ends a `WarmupCosineDecay` learning
      rate with it (`schedule_epochs`).
    - with `average_weights` (for an optimizer with `use_ema=True`), `AveragedWeights`
      first: every epoch is validated, checkpointed and backed up with the weights'
      moving average, and training ends with it.
    """
    if monitor not in MONITORS:
        raise ValueError(f"`monitor` must be one of {list(MONITORS)}. Received: {monitor!r}")
    scorer = {
        "val_bleu": ValidationBLEU,
        "val_f1": ValidationF1,
        "val_mase": ValidationForecast,
    }.get(monitor)
    if scorer is not None and not isinstance(validation_scores, scorer):
        raise ValueError(
            f'`monitor="{monitor}"` needs a `{scorer.__name__}` as `validation_scores`. '
            f"Received: validation_scores={validation_scores!r}"
        )
    checkpoints = os.path.join(run_dir, "checkpoints")
    os.makedirs(checkpoints, exist_ok=True)
    best = keras.callbacks.ModelCheckpoint(
        os.path.join(checkpoints, "best.weights.h5"),
        monitor=monitor,
        mode=MONITORS[monitor],
        save_best_only=True,
        save_weights_only=True,
    )
    early_stopping = keras.callbacks.EarlyStopping(
        monitor=monitor, mode=MONITORS[monitor], patience=patience, restore_best_weights=True
    )
    callbacks = [
        # First of all: the others score and save the epoch's averaged weights.
        *([AveragedWeights()] if average_weights else []),
        # First: the others read what it adds to the logs.
        *([validation_scores] if validation_scores is not None else []),
        best,
        early_stopping,
        # After the callbacks whose time it counts, before the CSV logger that records it.
        *(
            [
                TimeBudget(
                    time_budget,
                    last_logged(run_dir, "train_minutes") or 0.0,
                    last_logged(run_dir, "schedule_epochs"),
                )
            ]
            if time_budget
            else []
        ),
        # Before the CSV logger and TensorBoard, which write what it adds to the logs.
        SamplingProbabilityLogger()
        if sampling_schedule is None
        else ScheduledSampling(sampling_schedule),
        keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv"), append=True),
        *(
            [EpochCheckpoints(os.path.join(checkpoints, "epochs"), keep_epochs)]
            if keep_epochs
            else []
        ),
        # After the callbacks it watches: it backs up their state after their epoch end.
        BackupAndRestore(os.path.join(checkpoints, "backup"), watch=[best, early_stopping]),
    ]
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(run_dir, "logs")))
    if attention_images is not None:
        callbacks.append(attention_images)
    return callbacks


def last_logged(run_dir, key):
    """The last value of `key` that `history.csv` of `run_dir` records (None if none)."""
    path = os.path.join(run_dir, "history.csv")
    if not os.path.exists(path):
        return None
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    value = rows[-1].get(key) if rows else None
    return float(value) if value else None
