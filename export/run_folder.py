"""The run folders of `recipes/translate.py` and `recipes/tag.py`: layout and export.

The recipe writes a run folder through `RunFolder` and `python -m export`
reads it through `RunFolder`: file names, the `vocab/` layout and the config
keys that choose the decoding strategy are known here and nowhere else.
"""

import contextlib
import json
import os
import shutil
import tempfile


class NotARunFolder(ValueError):
    """A folder that is not (or not yet) a finished run folder."""


class RunFolder:
    """Paths and settings of one run folder.

    Args:
        path: the run folder.
    """

    RECIPE = "recipes/translate.py"
    CONFIG = "config.json"
    METRICS = "metrics.json"
    HISTORY = "history.csv"
    CURVES = "curves.png"
    MODEL = "model.keras"
    VOCAB = "vocab"
    CHECKPOINTS = "checkpoints"
    TRANSLATIONS = "translations.tsv"
    ATTENTION = "attention"
    SAVED_MODEL = "saved_model"
    TFLITE = "tflite"
    # Written with the vocabularies: the lexical shortlist of the training pairs.
    SHORTLIST = os.path.join(VOCAB, "shortlist.npz")
    # Written when training ends, so a run stopped later does not train again.
    TRAINING_DONE = os.path.join(CHECKPOINTS, "training_done.json")
    # What a finished training leaves behind, and what exporting needs.
    TRAINED = (
        CONFIG,
        MODEL,
        os.path.join(VOCAB, "source.model"),
        os.path.join(VOCAB, "target.model"),
    )

    def __init__(self, path):
        self.path = os.fspath(path)

    def __getitem__(self, name):
        """The path of `name` inside the run folder."""
        return os.path.join(self.path, name)

    def vocab_prefix(self, side):
        """Path prefix of the `"source"` or `"target"` SentencePiece files."""
        return os.path.join(self.path, self.VOCAB, side)

    def read_config(self):
        with open(self[self.CONFIG]) as f:
            return json.load(f)

    def read_metrics(self):
        """The run's `metrics.json`, or `{}` before evaluation has written it."""
        if not os.path.exists(self[self.METRICS]):
            return {}
        with open(self[self.METRICS]) as f:
            return json.load(f)

    @contextlib.contextmanager
    def writing(self, name):
        """A temporary path beside `name`, renamed to `name` when the block succeeds.

        A file of the run is never half-written: a failure leaves the earlier
        file, or none. The temporary name keeps the extension (Keras checks it).
        """
        root, extension = os.path.splitext(self[name])
        temporary = f"{root}.tmp{extension}"
        try:
            yield temporary
            os.replace(temporary, self[name])
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)

    def write_json(self, name, value):
        """Writes `value` to `name` as JSON, atomically."""
        with self.writing(name) as temporary, open(temporary, "w") as f:
            json.dump(value, f, indent=2)

    def check_trained(self):
        """Raises `NotARunFolder` naming what is missing unless training has finished here."""
        if not os.path.isdir(self.path):
            raise NotARunFolder(f"{self.path} is not a folder.")
        missing = [name for name in self.TRAINED if not os.path.exists(self[name])]
        if missing:
            raise NotARunFolder(
                f"{self.path} is not a finished run folder of {self.RECIPE}: "
                f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing."
            )

    @staticmethod
    def strategy(config):
        """The beam search a run's config asks for (`beam_size`, `length_penalty`).

        Settings not chosen yet (None: the run stopped before its validation
        grid) take `BeamSearch`'s defaults.
        """
        from keras_seq.decoding import BeamSearch

        keys = ("beam_size", "length_penalty")
        return BeamSearch(**{k: config[k] for k in keys if config.get(k) is not None})

    def load_translator(self, shortlist=False):
        """A `keras_seq.export.Translator` of the run's model, vocabularies and settings.

        With `shortlist`, its decoding emits only the candidates of the run's
        lexical shortlist (`vocab/shortlist.npz`).
        """
        import keras

        import keras_seq  # noqa: F401  (registers the layers for load_model)
        from keras_seq.data import SubwordTokenizer
        from keras_seq.decoding import LexicalShortlist
        from keras_seq.export import Translator

        self.check_trained()
        if shortlist and not os.path.exists(self[self.SHORTLIST]):
            raise NotARunFolder(
                f"{self.path} has no {self.SHORTLIST}: {self.RECIPE} writes it when it prepares "
                "the data (older runs lack it); build one with "
                "keras_seq.decoding.LexicalShortlist.from_text_pairs and save it there."
            )
        config = self.read_config()
        return Translator(
            keras.models.load_model(self[self.MODEL]),
            SubwordTokenizer.load(self.vocab_prefix("source")),
            SubwordTokenizer.load(self.vocab_prefix("target")),
            max_source_length=config["max_source_length"],
            max_target_length=config["max_target_length"],
            strategy=self.strategy(config),
            shortlist=LexicalShortlist.load(self[self.SHORTLIST]) if shortlist else None,
        )

    def export(self, translator=None, tflite=True, quantizations=None, with_attention=True):
        """Writes `saved_model/` and (with `tflite`) `tflite/*.tflite`.

        Args:
            translator: an already built `Translator`; by default loaded from the run.
            tflite: also write the TFLite models.
            quantizations: TFLite variants; default all of
                `keras_seq.export.tflite.QUANTIZATIONS`.
            with_attention: add attention weights to the SavedModel's ids signatures.

        Returns:
            dict of what was written: `saved_model` (path) and `tflite` (name -> path).
        """
        from keras_seq.export import export_saved_model, export_tflite
        from keras_seq.export.tflite import QUANTIZATIONS

        translator = translator or self.load_translator()
        written = {
            "saved_model": export_saved_model(
                translator, self[self.SAVED_MODEL], with_attention=with_attention
            )
        }
        if tflite:
            written["tflite"] = self.write_tflite(
                lambda folder: export_tflite(translator, folder, quantizations or QUANTIZATIONS)
            )
        return written

    def write_tflite(self, write):
        """Runs `write(folder)` into `tflite/` (see `write_folder`).

        `write` returns the file names it wrote; returns `{name: path}` in `tflite/`.
        """
        files = self.write_folder(self.TFLITE, write)
        return {name: os.path.join(self[self.TFLITE], name) for name in files}

    def write_folder(self, name, write):
        """Runs `write(folder)` in a staging folder, renamed to `name` when it succeeds.

        A failure leaves the earlier folder, or none: never a partial one.
        Returns what `write` returns.
        """
        staging = tempfile.mkdtemp(dir=self.path, prefix=f".{name}-")
        umask = os.umask(0)
        os.umask(umask)
        try:
            result = write(staging)
            os.chmod(staging, 0o777 & ~umask)  # as `os.makedirs` would, not mkdtemp's 0o700
            if os.path.exists(self[name]):
                shutil.rmtree(self[name])
            os.replace(staging, self[name])
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return result


class TagRunFolder(RunFolder):
    """The run folder of `recipes/tag.py`: the translation layout's files, and its own."""

    RECIPE = "recipes/tag.py"
    PREDICTIONS = "predictions.conll"
    CONFUSION = "confusion.png"
    TRAINED = (
        RunFolder.CONFIG,
        RunFolder.MODEL,
        os.path.join(RunFolder.VOCAB, "words.txt"),
        os.path.join(RunFolder.VOCAB, "tags.txt"),
    )

    def export(self, model=None, vocabularies=None, tflite=True, quantizations=None):
        """Writes `saved_model/` and (with `tflite`) `tflite/tagger*.tflite`.

        Args:
            model, vocabularies: the trained `Tagger` and its `TagVocabularies`; by
                default loaded from the run.
            tflite: also write the TFLite models, `max_words` (config) words long.
            quantizations: TFLite variants; default all.

        Returns:
            dict of what was written: `saved_model` (path) and `tflite` (name -> path).
        """
        import keras

        import keras_seq  # noqa: F401  (registers the layers for load_model)
        from keras_seq.data import TagVocabularies
        from keras_seq.export import TaggerModule, export_tagger_saved_model, export_tagger_tflite
        from keras_seq.export.tflite import QUANTIZATIONS

        self.check_trained()
        model = model or keras.models.load_model(self[self.MODEL])
        vocabularies = vocabularies or TagVocabularies.load(self[self.VOCAB])
        module = TaggerModule(model, vocabularies, max_words=self.read_config()["max_words"])
        written = {"saved_model": export_tagger_saved_model(module, self[self.SAVED_MODEL])}
        if tflite:
            written["tflite"] = self.write_tflite(
                lambda folder: export_tagger_tflite(module, folder, quantizations or QUANTIZATIONS)
            )
        return written


def open_run_folder(path):
    """The `TagRunFolder` of a `recipes/tag.py` run, else the `RunFolder` of a translation run."""
    tag_run = TagRunFolder(path)
    if os.path.exists(tag_run[os.path.join(TagRunFolder.VOCAB, "tags.txt")]):
        return tag_run
    return RunFolder(path)
