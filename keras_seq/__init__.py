"""keras_seq: attention-based recurrent sequence-to-sequence models for Keras 3."""

from keras_seq import (
    callbacks,
    cli,
    data,
    decoding,
    evaluation,
    export,
    files,
    layers,
    losses,
    metrics,
    models,
    plots,
    presets,
    report,
    run_folder,
    schedules,
    training,
)
from keras_seq.special_ids import END_ID, PAD_ID, START_ID, UNK_ID

__version__ = "0.1.0"
__all__ = [
    "callbacks",
    "cli",
    "data",
    "decoding",
    "evaluation",
    "export",
    "files",
    "layers",
    "losses",
    "metrics",
    "models",
    "plots",
    "presets",
    "report",
    "run_folder",
    "schedules",
    "training",
    "PAD_ID",
    "START_ID",
    "END_ID",
    "UNK_ID",
]
