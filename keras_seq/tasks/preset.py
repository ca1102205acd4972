"""The run folder: one documented layout, the preset of `Translator`, `Tagger` and `Forecaster`.

A run folder is what `recipes/translate.py`, `recipes/tag.py` and `recipes/forecast.py`
write, and what the tasks' `save_to_preset` write: the same folder is a preset, loaded
anywhere by `from_preset`. File names, the
`vocab/` layout and the config keys that choose the decoding strategy are known
here and nowhere else; every file is written atomically (`keras_seq.files`).

Translation (`RunFolder`):

    config.json        settings; the preset reads max_source_length, max_target_length,
                       beam_size, length_penalty (and `decoding`, when present)
    model.keras        the trained `build_seq2seq` model (the backbone)
    vocab/             source.model/.vocab, target.model/.vocab (SentencePiece),
                       shortlist.npz (optional lexical shortlist)
    metrics.json  history.csv  curves.png  translations.tsv  attention/  report/
    checkpoints/       resume state, best weights
    saved_model/       TF Serving export;  tflite/  builtins-only TFLite models

Tagging (`TagRunFolder`): config.json (with `max_words`), model.keras,
vocab/words.txt, vocab/tags.txt, vocab/chars.txt, predictions.conll,
confusion.png, saved_model/, tflite/.

Forecasting (`ForecastRunFolder`): config.json (with `lookback`, `horizon`, `season`,
`interval_scales`), model.keras, saved_model/, tflite/.
"""

import contextlib
import csv
import os
import time
import warnings
import zipfile

import keras

from keras_seq import decoding, evaluation, files, plots
from keras_seq.callbacks import TrainingTimer
from keras_seq.export.bundle import SAVED_MODEL, TFLITE
from keras_seq.training import describe_average


class NotARunFolder(ValueError):
    """A folder that is not (or not yet) a finished run folder."""


class DamagedPreset(NotARunFolder):
    """A run folder whose files are there but cannot be read."""


class RunFolder:
    """Paths and settings of one translation run folder (a `Translator` preset).

    Args:
        path: the run folder.
    """

    RECIPE = "recipes/translate.py"
    TASK = "Translator"
    CONFIG = "config.json"
    METRICS = "metrics.json"
    HISTORY = "history.csv"
    CURVES = "curves.png"
    MODEL = "model.keras"
    VOCAB = "vocab"
    CHECKPOINTS = "checkpoints"
    TRANSLATIONS = "translations.tsv"
    ATTENTION = "attention"
    REPORT = os.path.join("report", "index.html")
    SAVED_MODEL = SAVED_MODEL
    TFLITE = TFLITE
    # Written with the vocabularies: the lexical shortlist of the training pairs.
    SHORTLIST = os.path.join(VOCAB, "shortlist.npz")
    # Written when training ends, so a run stopped later does not train again.
    TRAINING_DONE = os.path.join(CHECKPOINTS, "training_done.json")
    # What a finished run holds (recipes/translate.py lists those present).
    RESULTS = (
        CONFIG, METRICS, HISTORY, CURVES, MODEL, VOCAB, CHECKPOINTS, TRANSLATIONS, ATTENTION,
    )  # fmt: skip
    # What a finished training leaves behind: what `from_preset` and exporting need.
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
        """The run's `config.json`, or `{}` before anything has written it."""
        return files.read_json(self[self.CONFIG], default={})

    def update_config(self, **values):
        """Writes `values` into `config.json`, keeping its other keys; returns the config."""
        config = {**self.read_config(), **values}
        os.makedirs(self.path, exist_ok=True)
        self.write_json(self.CONFIG, config)
        return config

    def read_metrics(self):
        """The run's `metrics.json`, or `{}` before evaluation has written it."""
        return files.read_json(self[self.METRICS], default={})

    @contextlib.contextmanager
    def writing(self, name):
        """A temporary path beside `name`, renamed to `name` when the block succeeds.

        A file of the run is never half-written: a failure leaves the earlier
        file, or none. The temporary name keeps the extension (Keras checks it).
        """
        with files.replacing(self[name]) as temporary:
            yield temporary

    def write_json(self, name, value):
        """Writes `value` to `name` as JSON, atomically."""
        files.write_json(self[name], value)

    def write_folder(self, name, write):
        """Runs `write(folder)` in a staging folder, renamed to `name` when it succeeds.

        A failure leaves the earlier folder, or none: never a partial one.
        Returns what `write` returns.
        """
        with files.replacing(self[name], folder=True) as staging:
            return write(staging)

    def check_trained(self):
        """Raises `NotARunFolder` naming what is missing unless training has finished here."""
        if not os.path.isdir(self.path):
            raise NotARunFolder(f"{self.path} is not a folder.")
        missing = self.missing()
        if missing:
            other = open_run_folder(self.path)
            if type(other) is not type(self) and not other.missing():
                raise NotARunFolder(
                    f"{self.path} is a {other.TASK} run ({other.RECIPE}), not a {self.TASK} run: "
                    f"load it with ks.{other.TASK}.from_preset."
                )
            raise NotARunFolder(
                f"{self.path} is not a finished {self.TASK} run folder ({self.RECIPE} or "
                f"ks.{self.TASK}.save_to_preset): {', '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} missing."
            )

    def missing(self):
        """The files of `TRAINED` that are not (yet) in the folder."""
        return [name for name in self.TRAINED if not os.path.exists(self[name])]

    def load_model(self, compile=True):
        """The run's `model.keras`, or `DamagedPreset` naming it when it cannot be read."""
        path = self[self.MODEL]
        if not zipfile.is_zipfile(path):  # Keras would say "File not found" of a file that is
            reason = "not a .keras (zip) file: truncated or overwritten"
        else:
            try:
                return keras.models.load_model(path, compile=compile)
            except Exception as error:  # a config or weights error: all mean the same here
                reason = f"{type(error).__name__}: {(str(error).splitlines() or [''])[0][:200]}"
        raise DamagedPreset(
            f"{path} is damaged and cannot be loaded as a Keras model ({reason}). Copy it "
            "again from where it was trained (or save_to_preset again); in a run folder of "
            f"{self.RECIPE}, deleting it and running the same command trains it again."
        )

    @staticmethod
    def strategy(config):
        """The decoding strategy a run's config asks for.

        `decoding` (a `ks.decoding.serialize` config, written by `save_to_preset`)
        when present; else beam search with the config's `beam_size` and
        `length_penalty`, where settings not chosen yet (None: the run stopped
        before its validation grid) take `BeamSearch`'s defaults.
        """
        if config.get("decoding"):
            return decoding.get(config["decoding"])
        keys = ("beam_size", "length_penalty")
        return decoding.BeamSearch(**{k: config[k] for k in keys if config.get(k) is not None})

    def training_summary(self):
        """What `save_training` recorded, or None while training has not finished here."""
        if os.path.exists(self[self.TRAINING_DONE]) and os.path.exists(self[self.MODEL]):
            return files.read_json(self[self.TRAINING_DONE])
        return None

    def train(self, task, data, validation_data, epochs, callbacks, average=None, **fit_options):
        """Trains `task` (a `Translator` or a `Tagger`, compiled) and ends the training
        here (`save_training`); returns the training summary.

        A training that had finished here is not run again: its weights are loaded
        into `task` and its summary returned. An interrupted one resumes through
        `callbacks` (`ks.callbacks.standard_callbacks`' backup).

        Args:
            data, validation_data, epochs, callbacks: for `task.fit`, with
                `fit_options` (`verbose`, ...).
            average: `(pairs, metric)`: average the last epochs' weights when that
                scores better on the validation `pairs` (`task.average_epochs`; the
                callbacks must keep those epochs), `metric` (`"BLEU"`, `"F1"`) naming
                the score in the printed line. None: no averaging.

        Returns:
            dict: `train_seconds` (all of `fit`: validation and checkpoints included),
            `train_step_seconds` (the training batches alone), `epochs_run_this_session`,
            and `checkpoint_average` (`average_epochs`' dict) when averaging ran.
        """
        model = getattr(task, "backbone", task)  # what `model.keras` holds
        summary = self.training_summary()
        if summary is not None:
            print(f"Training had finished; evaluating {self[self.MODEL]}.")
            model.load_weights(self[self.MODEL])
            return summary
        timer, start = TrainingTimer(), time.perf_counter()
        history = task.fit(
            data, validation_data=validation_data, epochs=epochs,
            callbacks=[*callbacks, timer], **fit_options,
        )  # fmt: skip
        summary = {
            "train_seconds": time.perf_counter() - start,
            "train_step_seconds": timer.seconds,
            "epochs_run_this_session": len(history.history.get("loss", [])),
        }
        if average is not None:
            pairs, metric = average
            result = task.average_epochs(self.path, pairs)
            if result is not None:
                summary["checkpoint_average"] = result
                print(describe_average(result, metric))
        return self.save_training(model, summary)

    def save_training(self, model, summary):
        """Ends a training: `model.keras`, then `training_done.json` (`summary`), each
        atomically. A run stopped before this resumes its training from its last epoch;
        one stopped after it reuses the model. Returns `summary`."""
        with self.writing(self.MODEL) as temporary:
            model.save(temporary)
        self.write_json(self.TRAINING_DONE, summary)
        return summary

    def evaluate(self, translator, data):
        """Scores `translator` on the test split of `data` (`Seq2SeqPreprocessor.
        training_data`'s): test loss, perplexity and token accuracy; sacreBLEU, chrF and
        exact match of greedy decoding (`*_greedy`) and of `translator.strategy`. Writes
        `translations.tsv` (the strategy's) and, when the model records attention,
        `attention/0-3.png` (greedy).

        Returns:
            `(metrics, scores)`: `metrics.json`'s test and data entries, and the scores
            by decoding (`"greedy"`, `"beam"`: `ks.evaluation.corpus_scores`' dicts).
        """
        test = translator.backbone.evaluate(data.test, verbose=0, return_dict=True)
        corpus, report, preprocessor = data.corpus, data.train_report, translator.preprocessor
        sources, references = map(list, zip(*corpus.test, strict=True))
        lowercase, scores = preprocessor.target_tokenizer.lowercase, {}
        for name, strategy in (("greedy", "greedy"), ("beam", translator.strategy)):
            with warnings.catch_warnings():  # counted in metrics.json: overlong_test_pairs
                warnings.simplefilter("ignore", UserWarning)
                hypotheses = translator.translate(sources, strategy)
            scores[name] = evaluation.corpus_scores(hypotheses, references, lowercase)
        self.write_translations(sources, references, hypotheses)
        if translator.records_attention:
            os.makedirs(self[self.ATTENTION], exist_ok=True)
            _, maps = translator.translate(sources[:4], "greedy", return_attention=True)
            for i, (source_pieces, target_pieces, weights) in enumerate(maps):
                path = os.path.join(self[self.ATTENTION], f"{i}.png")
                plots.plot_attention(source_pieces, target_pieces, weights, path, sources[i])
        metrics = {
            **{key: scores["beam"][key] for key in ("bleu", "chrf", "exact_match")},
            "bleu_signature": scores["beam"]["bleu_signature"],
            **{f"{key}_greedy": scores["greedy"][key] for key in ("bleu", "chrf", "exact_match")},
            "test_loss": test["loss"],
            "perplexity": test["perplexity"],
            "test_token_accuracy": test["token_accuracy"],
            "padding_fraction": report.padding_fraction,
            "train_pairs": len(corpus.train),
            "valid_pairs": len(corpus.valid),
            "test_pairs": len(corpus.test),
            "overlong_pairs": report.overlong,
            "overlong_test_pairs": data.test_report.overlong,
            "overlong_policy": report.policy,
            "skipped_lines": corpus.skipped,
            "source_vocab_size": preprocessor.source_tokenizer.vocab_size,
            "target_vocab_size": preprocessor.target_tokenizer.vocab_size,
        }
        return metrics, scores

    def write_translations(self, sources, references, hypotheses):
        """Writes `translations.tsv` (source, reference, hypothesis), atomically."""
        with (
            self.writing(self.TRANSLATIONS) as path,
            open(path, "w", newline="", encoding="utf-8") as f,
        ):
            writer = csv.writer(f, delimiter="\t", lineterminator="\n")
            writer.writerow(["source", "reference", "hypothesis"])
            writer.writerows(zip(sources, references, hypotheses, strict=True))

    def read_translations(self):
        """`(sources, references, hypotheses)` of `translations.tsv`."""
        if not os.path.exists(self[self.TRANSLATIONS]):
            raise NotARunFolder(
                f"{self.path} has no {self.TRANSLATIONS}: the run was not evaluated."
            )
        with open(self[self.TRANSLATIONS], newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        return tuple([row[key] for row in rows] for key in ("source", "reference", "hypothesis"))


class TagRunFolder(RunFolder):
    """The run folder of `recipes/tag.py` (a `Tagger` preset)."""

    RECIPE = "recipes/tag.py"
    TASK = "Tagger"
    PREDICTIONS = "predictions.conll"
    CONFUSION = "confusion.png"
    TRAINED = (
        RunFolder.CONFIG,
        RunFolder.MODEL,
        os.path.join(RunFolder.VOCAB, "words.txt"),
        os.path.join(RunFolder.VOCAB, "tags.txt"),
    )


class ForecastRunFolder(RunFolder):
    """The run folder of `recipes/forecast.py` (a `Forecaster` preset)."""

    RECIPE = "recipes/forecast.py"
    TASK = "Forecaster"
    TRAINED = (RunFolder.CONFIG, RunFolder.MODEL)
    # The config keys that make a folder a forecaster preset.
    PRESET_KEYS = ("lookback", "horizon", "season")

    def missing(self):
        """The files of `TRAINED`, and the keys of `PRESET_KEYS` in `config.json`, not here."""
        missing = super().missing()
        if self.CONFIG not in missing:
            config = self.read_config()
            missing += [f"{self.CONFIG}:{key}" for key in self.PRESET_KEYS if key not in config]
        return missing


def open_run_folder(path):
    """The `TagRunFolder` of a tagging run, the `ForecastRunFolder` of a forecasting run,
    else the `RunFolder` of a translation run."""
    tag_run = TagRunFolder(path)
    if os.path.exists(tag_run[os.path.join(TagRunFolder.VOCAB, "tags.txt")]):
        return tag_run
    forecast_run = ForecastRunFolder(path)
    if not os.path.isdir(forecast_run[RunFolder.VOCAB]) and os.path.exists(forecast_run.path):
        try:
            if not forecast_run.missing():
                return forecast_run
        except files.DamagedFile:
            pass
    return RunFolder(path)
