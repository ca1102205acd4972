"""keras_seq: attention-based recurrent sequence-to-sequence models for Keras 3."""

import os as _os
import sys as _sys

from keras_seq import _native_logs

# Before TensorFlow's first import, whose early native logs ignore TF_CPP_MIN_LOG_LEVEL.
# Not under pytest, which captures the descriptors itself.
if "tensorflow" not in _sys.modules and "pytest" not in _sys.modules:
    if _native_logs.started_as_command():
        _os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _native_logs.install()

from keras_seq import (
    callbacks,
    checks,
    cli,
    cluster,
    data,
    decoding,
    evaluation,
    export,
    files,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    plots,
    presets,
    profiling,
    report,
    schedules,
    tasks,
    training,
)
from keras_seq.special_ids import END_ID, PAD_ID, START_ID, UNK_ID
from keras_seq.tasks import Forecaster, Tagger, Translator

__version__ = "0.1.0"
__all__ = [
    "callbacks",
    "checks",
    "cli",
    "cluster",
    "data",
    "decoding",
    "evaluation",
    "export",
    "files",
    "layers",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "plots",
    "presets",
    "profiling",
    "report",
    "schedules",
    "tasks",
    "training",
    "Forecaster",
    "Tagger",
    "Translator",
    "PAD_ID",
    "START_ID",
    "END_ID",
    "UNK_ID",
]
