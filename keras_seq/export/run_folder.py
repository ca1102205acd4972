"""Export of a `recipes/translate.py` run folder: `saved_model/` and `tflite/`."""

import json
import os

from keras_seq.export.inference import Translator
from keras_seq.export.saved_model import export_saved_model
from keras_seq.export.tflite import QUANTIZATIONS, export_tflite


def load_translator(run_dir):
    """A `Translator` of a run folder's `model.keras`, vocabularies and settings."""
    import keras

    import keras_seq  # noqa: F401  (registers the layers for load_model)
    from keras_seq.data import SubwordTokenizer

    for name in (
        "config.json",
        "model.keras",
        os.path.join("vocab", "source.model"),
        os.path.join("vocab", "target.model"),
    ):
        if not os.path.exists(os.path.join(run_dir, name)):
            raise FileNotFoundError(f"{run_dir} is not a finished run folder: {name} is missing.")
    with open(os.path.join(run_dir, "config.json")) as f:
        config = json.load(f)
    model = keras.models.load_model(os.path.join(run_dir, "model.keras"))
    return Translator(
        model,
        SubwordTokenizer.load(os.path.join(run_dir, "vocab", "source")),
        SubwordTokenizer.load(os.path.join(run_dir, "vocab", "target")),
        max_source_length=config["max_source_length"],
        max_target_length=config["max_target_length"],
        beam_size=config["beam_size"],
        length_penalty=config["length_penalty"],
    )


def export_run(
    run_dir, translator=None, tflite=True, quantizations=QUANTIZATIONS, with_attention=True
):
    """Writes `RUN/saved_model` and (with `tflite`) `RUN/tflite/*.tflite`.

    Args:
        run_dir: a finished run folder.
        translator: an already built `Translator`; by default loaded from the run.
        tflite: also write the TFLite models.
        quantizations: TFLite variants to write.
        with_attention: add attention weights to the SavedModel's ids signatures.

    Returns:
        dict of what was written: `saved_model` (path) and `tflite` (name -> path).
    """
    translator = translator or load_translator(run_dir)
    written = {
        "saved_model": export_saved_model(
            translator, os.path.join(run_dir, "saved_model"), with_attention=with_attention
        )
    }
    if tflite:
        written["tflite"] = export_tflite(
            translator, os.path.join(run_dir, "tflite"), quantizations
        )
    return written
