"""Keras callbacks of keras_seq, one per file (as `keras/src/callbacks/`).

`standard_callbacks` (`standard.py`) is the one place that knows their order in a
run. `EpochShuffle` and `LengthCurriculum` are callbacks of the training data: they
live with the pipeline that reads them (`keras_seq.data.pipeline`).
"""

from keras_seq.callbacks.attention_images import AttentionImages
from keras_seq.callbacks.averaged_weights import AveragedWeights
from keras_seq.callbacks.backup_and_restore import BackupAndRestore
from keras_seq.callbacks.epoch_checkpoints import EpochCheckpoints
from keras_seq.callbacks.scheduled_sampling import (
    SamplingProbabilityLogger,
    ScheduledSampling,
    attention_decoders,
)
from keras_seq.callbacks.standard import MONITORS, standard_callbacks
from keras_seq.callbacks.time_budget import TimeBudget
from keras_seq.callbacks.training_timer import TrainingTimer
from keras_seq.callbacks.validation_bleu import ValidationBLEU
from keras_seq.callbacks.validation_f1 import ValidationF1
from keras_seq.callbacks.validation_forecast import ValidationForecast
from keras_seq.data.pipeline import EpochShuffle, LengthCurriculum

__all__ = [
    "MONITORS",
    "AttentionImages",
    "AveragedWeights",
    "BackupAndRestore",
    "EpochCheckpoints",
    "EpochShuffle",
    "LengthCurriculum",
    "SamplingProbabilityLogger",
    "ScheduledSampling",
    "TimeBudget",
    "TrainingTimer",
    "ValidationBLEU",
    "ValidationF1",
    "ValidationForecast",
    "attention_decoders",
    "standard_callbacks",
]
