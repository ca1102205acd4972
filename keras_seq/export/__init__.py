"""Export: SavedModel for TF Serving and builtins-only TFLite (TensorFlow only)."""

from keras_seq.export.inference import Translator
from keras_seq.export.run_folder import export_run, load_translator
from keras_seq.export.saved_model import export_saved_model
from keras_seq.export.tflite import check_builtins_only, convert, export_tflite, op_names

__all__ = [
    "Translator",
    "check_builtins_only",
    "convert",
    "export_run",
    "export_saved_model",
    "export_tflite",
    "load_translator",
    "op_names",
]
