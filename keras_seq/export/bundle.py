"""Everything a deployment needs, in one folder: `saved_model/` and `tflite/`."""

import os

from keras_seq import files
from keras_seq.export.saved_model import export_saved_model
from keras_seq.export.tagger import export_tagger_saved_model, export_tagger_tflite
from keras_seq.export.tflite import QUANTIZATIONS, export_tflite
from keras_seq.models.seq2seq import records_attention

# The two folders an export writes inside the directory it is given.
SAVED_MODEL = "saved_model"
TFLITE = "tflite"


def _export(directory, write_saved_model, write_tflite, tflite, quantizations):
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    written = {"saved_model": write_saved_model(os.path.join(directory, SAVED_MODEL))}
    if tflite:
        quantizations = tuple(dict.fromkeys(quantizations or QUANTIZATIONS))  # each once
        folder = os.path.join(directory, TFLITE)
        with files.replacing(folder, folder=True) as staging:
            names = write_tflite(staging, quantizations)
        written["tflite"] = {name: os.path.join(folder, name) for name in names}
    return written


def export_translator(module, directory, tflite=True, quantizations=None, with_attention=None):
    """Writes `directory/saved_model/` and (with `tflite`) `directory/tflite/*.tflite`.

    Each is written in a staging folder and renamed into place, so a failed
    export leaves the earlier one, or none.

    Args:
        module: a `TranslatorModule` (`ks.Translator.module()`).
        directory: the folder (a run folder, or any other).
        tflite: also write the builtins-only TFLite models.
        quantizations: TFLite variants; default all of `QUANTIZATIONS`.
        with_attention: add attention weights to the SavedModel's ids signatures
            (default: when the model records them; a Transformer does not).

    Returns:
        dict: `saved_model` (path) and `tflite` (file name -> path).
    """
    if with_attention is None:
        with_attention = records_attention(module.model)
    return _export(
        directory,
        lambda path: export_saved_model(module, path, with_attention=with_attention),
        lambda folder, quantizations: export_tflite(module, folder, quantizations),
        tflite,
        quantizations,
    )


def export_tagger(module, directory, tflite=True, quantizations=None):
    """`export_translator` for a `TaggerModule`: `saved_model/`, `tflite/tagger*.tflite`."""
    return _export(
        directory,
        lambda path: export_tagger_saved_model(module, path),
        lambda folder, quantizations: export_tagger_tflite(module, folder, quantizations),
        tflite,
        quantizations,
    )
