"""Export of trained models: SavedModel for TF Serving, builtins-only TFLite (TensorFlow only).

The deployment tools around these (the `python -m export RUN` command line, the
TF Serving config, the clients) live in the repository's top-level `export/`.
"""

from keras_seq.export.inference import Translator
from keras_seq.export.saved_model import export_saved_model, saved_model_strategies
from keras_seq.export.tflite import (
    check_builtins_only,
    convert,
    export_tflite,
    op_names,
    tflite_strategy,
)

__all__ = [
    "Translator",
    "check_builtins_only",
    "convert",
    "export_saved_model",
    "export_tflite",
    "op_names",
    "saved_model_strategies",
    "tflite_strategy",
]
