"""Export of translators, taggers and forecasters: SavedModel (TF Serving), builtins-only TFLite.

The deployment tools around these (the `python -m export RUN` command line, the
TF Serving config, the clients) live in the repository's top-level `export/`.
"""

from keras_seq.export.bundle import SAVED_MODEL, TFLITE, export_tagger, export_translator
from keras_seq.export.forecaster import ForecasterModule, convert_forecaster, export_forecaster
from keras_seq.export.inference import TranslatorModule
from keras_seq.export.saved_model import export_saved_model, saved_model_strategies
from keras_seq.export.tagger import (
    TaggerModule,
    convert_tagger,
    export_tagger_saved_model,
    export_tagger_tflite,
)
from keras_seq.export.tflite import (
    check_builtins_only,
    convert,
    export_tflite,
    op_names,
    tflite_strategy,
)

__all__ = [
    "ForecasterModule",
    "convert_forecaster",
    "export_forecaster",
    "SAVED_MODEL",
    "TFLITE",
    "TaggerModule",
    "TranslatorModule",
    "check_builtins_only",
    "convert",
    "convert_tagger",
    "export_tagger",
    "export_tagger_saved_model",
    "export_tagger_tflite",
    "export_saved_model",
    "export_tflite",
    "export_translator",
    "op_names",
    "saved_model_strategies",
    "tflite_strategy",
]
