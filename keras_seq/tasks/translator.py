"""The translation task: a backbone, a preprocessor and a decoding strategy in one object."""

import dataclasses
import functools
import itertools
import os
import warnings

import numpy as np
import tensorflow as tf

from keras_seq import decoding
from keras_seq.callbacks import AttentionImages, ValidationBLEU, standard_callbacks
from keras_seq.checks import check_choice, check_positive_int
from keras_seq.data import (
    EpochShuffle,
    LengthCurriculum,
    SubwordTokenizer,
    encode_texts,
    make_dataset,
    measure_padding,
)
from keras_seq.decoding import LexicalShortlist
from keras_seq.evaluation import AttentionMaps, TextTranslator, corpus_scores, make_translate_fn
from keras_seq.export import TranslatorModule, export_translator
from keras_seq.models.seq2seq import (
    build_seq2seq,
    build_transformer,
    records_attention,
    seq2seq_parts,
)
from keras_seq.presets import CorpusStats, length_limit, vocab_size_for
from keras_seq.tasks.preset import NotARunFolder, RunFolder
from keras_seq.training import average_if_better, average_kept_epochs, compile_seq2seq, fit

# The beam settings `Translator.tune_decoding` tries by default.
BEAM_SIZES = (3, 5, 8)
LENGTH_PENALTIES = (0.0, 0.6, 1.0)


def _check_pairs(pairs, name="pairs"):
    """`pairs` as a list of `(source, target)` strings, or a ValueError naming what is wrong."""
    if isinstance(pairs, str) or not hasattr(pairs, "__len__"):
        raise ValueError(f"`{name}` must be a list of (source, target) pairs. Received: {pairs!r}")
    for i, pair in enumerate(pairs):
        if (
            not isinstance(pair, (tuple, list))
            or len(pair) != 2
            or not all(isinstance(text, str) for text in pair)
        ):
            raise ValueError(
                f"`{name}` must hold (source, target) pairs of strings; item {i} is {pair!r}."
            )
    return list(pairs)


class Seq2SeqPreprocessor:
    """Text to ids and back for a translator: two tokenizers and the length limits.

    The keras-hub `Preprocessor` of `Translator`: it owns the source and target
    `SubwordTokenizer`s (the same one for a joint vocabulary) and the maximum
    lengths the model was trained with.

    Args:
        source_tokenizer, target_tokenizer: `ks.data.SubwordTokenizer`s.
        max_source_length: longer sources are cut (decoding) or filtered (training).
        max_target_length: the most target tokens, end token included.

    Example:
    ```python
    preprocessor = ks.tasks.Seq2SeqPreprocessor.from_pairs(pairs, vocab_size=1000)
    dataset, report = preprocessor.make_dataset(pairs, batch_size=64)
    ```
    """

    def __init__(self, source_tokenizer, target_tokenizer, max_source_length, max_target_length):
        check_positive_int("max_source_length", max_source_length)
        check_positive_int("max_target_length", max_target_length)
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.max_source_length = max_source_length
        self.max_target_length = max_target_length

    def __repr__(self):
        return (
            f"Seq2SeqPreprocessor(vocabularies {self.source_tokenizer.vocab_size}/"
            f"{self.target_tokenizer.vocab_size}, max lengths {self.max_source_length}/"
            f"{self.max_target_length})"
        )

    @staticmethod
    def learn_tokenizers(pairs, vocab_size, joint=False, lowercase=False):
        """`(source_tokenizer, target_tokenizer)` learned from training pairs.

        With `joint`, one vocabulary learned from both languages serves as both.
        """
        pairs = _check_pairs(pairs)
        if joint:
            shared = SubwordTokenizer.train(
                [text for pair in pairs for text in pair], vocab_size, lowercase=lowercase
            )
            return shared, shared
        return tuple(
            SubwordTokenizer.train([pair[side] for pair in pairs], vocab_size, lowercase=lowercase)
            for side in (0, 1)
        )

    @staticmethod
    def length_limits(pairs, source_tokenizer, target_tokenizer):
        """`{"max_source_length", "max_target_length"}` that 99.5 % of `pairs` fit in.

        See `keras_seq.presets.length_limit`; the target counts its end token.
        """
        pairs = _check_pairs(pairs)
        limits = {}
        for key, side, tokenizer, extra in (
            ("max_source_length", 0, source_tokenizer, 0),
            ("max_target_length", 1, target_tokenizer, 1),  # the end token
        ):
            texts = [pair[side] for pair in pairs]
            limits[key] = length_limit([len(ids) + extra for ids in encode_texts(tokenizer, texts)])
        return limits

    @classmethod
    def from_pairs(
        cls,
        pairs,
        vocab_size=None,
        joint=False,
        lowercase=False,
        max_source_length=None,
        max_target_length=None,
    ):
        """A preprocessor learned from training pairs: tokenizers, and length limits
        from the data where not given.

        `vocab_size` left None is the rule's for these pairs, as `recipes/translate.py`
        chooses it (`keras_seq.presets.vocab_size_for`: about a third of the distinct
        words, within [1,000, 32,000]).
        """
        if vocab_size is None:
            vocab_size = vocab_size_for(CorpusStats.of(_check_pairs(pairs)), joint=joint)
        source, target = cls.learn_tokenizers(pairs, vocab_size, joint, lowercase)
        limits = cls.length_limits(pairs, source, target)
        return cls(
            source,
            target,
            max_source_length or limits["max_source_length"],
            max_target_length or limits["max_target_length"],
        )

    @classmethod
    def for_run(cls, directory, pairs, vocab_size, joint=False, lowercase=False, **limits):
        """The preprocessor of a run folder being trained, saved in its `vocab/`.

        A resumed run's tokenizers are reloaded from `directory`'s `vocab/`; a new
        run's are learned from the training `pairs` (see `learn_tokenizers`).
        `max_source_length` / `max_target_length` left out or None come from the
        data (`length_limits`). Also writes `vocab/shortlist.npz`, the lexical
        shortlist of `pairs` (`export(shortlist=True)`), if missing.
        """
        run = RunFolder(directory)
        if os.path.exists(run.vocab_prefix("target") + ".model"):
            tokenizers = [SubwordTokenizer.load(run.vocab_prefix(s)) for s in ("source", "target")]
        else:
            tokenizers = cls.learn_tokenizers(pairs, vocab_size, joint, lowercase)
        keys = ("max_source_length", "max_target_length")
        if any(limits.get(key) is None for key in keys):
            limits = {**cls.length_limits(pairs, *tokenizers), **_given(limits)}
        preprocessor = cls(*tokenizers, *(limits[key] for key in keys))
        preprocessor.save(run.path)
        if not os.path.exists(run[RunFolder.SHORTLIST]):
            shortlist = LexicalShortlist.from_text_pairs(pairs, *tokenizers)
            with run.writing(RunFolder.SHORTLIST) as temporary:
                shortlist.save(temporary)
        return preprocessor

    def training_data(self, corpus, batch_size, seed=0, curriculum_epochs=0, subword_dropout=0.0):
        """The pipelines of a training run on `corpus` (`ks.data.load_corpus`'s).

        The training batches follow `EpochShuffle(seed)` (and, with
        `curriculum_epochs`, a `LengthCurriculum`): pass `TrainingData.callbacks`
        to `fit` so a resumed run sees the data in the same order. With
        `subword_dropout`, each epoch's training pairs are segmented with
        BPE-dropout at that rate (`ks.data.make_dataset`); validation and test
        pairs never are.

        Returns:
            `TrainingData`.
        """
        curriculum = LengthCurriculum(curriculum_epochs) if curriculum_epochs else None
        shuffle = EpochShuffle(seed)
        train, train_report = self.make_dataset(
            corpus.train,
            batch_size,
            shuffle=shuffle,
            curriculum=curriculum,
            subword_dropout=subword_dropout,
        )
        (valid, _), (test, test_report) = (
            self.make_dataset(pairs, min(batch_size, len(pairs)), shuffle=False)
            for pairs in (corpus.valid, corpus.test)
        )
        train_report.padding_fraction = measure_padding(train, curriculum)  # fills the cache
        return TrainingData(
            corpus, train, valid, test, train_report, test_report,
            [shuffle, *([curriculum] if curriculum else [])],
        )  # fmt: skip

    def make_dataset(self, pairs, batch_size, shuffle=True, **options):
        """`(dataset, report)` of text pairs for `fit` / `evaluate` (`ks.data.make_dataset`)."""
        return make_dataset(
            _check_pairs(pairs),
            self.source_tokenizer,
            self.target_tokenizer,
            batch_size,
            max_source_length=self.max_source_length,
            max_target_length=self.max_target_length,
            shuffle=shuffle,
            **options,
        )

    def get_config(self):
        return {
            "max_source_length": self.max_source_length,
            "max_target_length": self.max_target_length,
        }

    def save(self, directory):
        """Writes `vocab/source.*` and `vocab/target.*` into `directory` (a preset)."""
        run = RunFolder(directory)
        os.makedirs(run[RunFolder.VOCAB], exist_ok=True)
        self.source_tokenizer.save(run.vocab_prefix("source"))
        self.target_tokenizer.save(run.vocab_prefix("target"))

    @classmethod
    def load(cls, directory):
        """The preprocessor of the preset (run folder) `directory`."""
        run = RunFolder(directory)
        config = run.read_config()
        return cls(
            SubwordTokenizer.load(run.vocab_prefix("source")),
            SubwordTokenizer.load(run.vocab_prefix("target")),
            config["max_source_length"],
            config["max_target_length"],
        )


def _given(values):
    return {key: value for key, value in values.items() if value is not None}


@dataclasses.dataclass
class TrainingData:
    """A training run's data: `Seq2SeqPreprocessor.training_data`."""

    corpus: object  # the text pairs: `train`, `valid`, `test`
    train: object  # the datasets of `make_dataset` batches
    valid: object
    test: object
    train_report: object  # `ks.data.PipelineReport`s, `train_report.padding_fraction` measured
    test_report: object
    callbacks: list  # for `fit`: the training data's epoch order and curriculum


ARCHITECTURES = ("rnn", "transformer")


class TruncationWarning(UserWarning):
    """A text longer than the model's source limit was translated only up to it."""


class Translator:
    """A translator you hold from training to text out to export.

    The keras-hub `Task` of keras_seq: a `backbone` (the `build_seq2seq` training
    model), a `preprocessor` (`Seq2SeqPreprocessor`: tokenizers and length
    limits) and a decoding `strategy` (`ks.decoding`; beam search by default).
    `translate` and `score` decode inside one traced TensorFlow function per
    strategy; `export` writes the TF Serving SavedModel and the builtins-only
    TFLite models; `save_to_preset` writes a run folder that `from_preset`
    loads anywhere (see `keras_seq.tasks.preset` for the layout).

    Args:
        backbone: a `build_seq2seq` model.
        preprocessor: a `Seq2SeqPreprocessor` whose vocabularies match the backbone.
        strategy: decoding strategy of `translate`, `score` and the exports (an
            object, a name or a config, see `ks.decoding.get`).

    Example:
    ```python
    translator = ks.Translator.from_preset("runs/deu")
    translator.translate("Where is the station?")
    translator.score([("Good morning.", "Guten Morgen.")])        # {"bleu": ..., "chrf": ...}
    translator.export("deploy/")                                   # saved_model/, tflite/
    ```
    """

    def __init__(self, backbone, preprocessor, strategy="beam"):
        if not isinstance(preprocessor, Seq2SeqPreprocessor):
            raise ValueError(
                f"`preprocessor` must be a Seq2SeqPreprocessor. Received: {preprocessor!r}"
            )
        parts = seq2seq_parts(backbone)  # raises for a model build_seq2seq did not make
        sizes = (parts.encoder.vocab_size, parts.decoder.vocab_size)
        vocabularies = (
            preprocessor.source_tokenizer.vocab_size,
            preprocessor.target_tokenizer.vocab_size,
        )
        if sizes != vocabularies:
            raise ValueError(
                f"The backbone's vocabularies (source, target) are {sizes} but the "
                f"preprocessor's tokenizers have {vocabularies}: they must be the same."
            )
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.strategy = decoding.get(strategy)
        self.preset_dir = None  # set by from_preset / save_to_preset
        self._decoders = {}

    def __repr__(self):
        return (
            f"Translator({self.backbone.name}, {self.preprocessor!r}, strategy={self.strategy!r})"
        )

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, preprocessor, strategy="beam", architecture="rnn", **options):
        """A new, untrained translator sized by `preprocessor`'s vocabularies.

        Args:
            preprocessor: a `Seq2SeqPreprocessor`.
            strategy: its decoding strategy.
            architecture: `"rnn"`, the attention RNN of `ks.models.build_seq2seq`
                (`options`: `embedding_dim`, `units`, `attention`, `cell`,
                `dropout`, ...), or `"transformer"`, `ks.models.build_transformer`
                (`options`: `hidden_dim`, `num_layers`, `num_heads`, `dropout`, ...;
                `max_length` defaults to the preprocessor's longer limit).
        """
        check_choice("architecture", architecture, ARCHITECTURES)
        builder = build_seq2seq
        if architecture == "transformer":
            builder = build_transformer
            longest = max(preprocessor.max_source_length, preprocessor.max_target_length)
            options.setdefault("max_length", longest)
        backbone = builder(
            preprocessor.source_tokenizer.vocab_size,
            preprocessor.target_tokenizer.vocab_size,
            **options,
        )
        return cls(backbone, preprocessor, strategy)

    @property
    def records_attention(self):
        """Whether translations come with attention maps (False for a Transformer)."""
        return records_attention(self.backbone)

    # ------------------------------------------------------------------ training
    def compile(self, **options):
        """Compiles the backbone (`ks.training.compile_seq2seq` options: learning rate,
        warmup, clipping, label smoothing, ...); returns the translator."""
        compile_seq2seq(self.backbone, **options)
        return self

    def _dataset(self, data, batch_size, shuffle, **options):
        if isinstance(data, tf.data.Dataset):
            if options.get("subword_dropout"):
                raise ValueError(
                    "`subword_dropout` segments text pairs; a `tf.data.Dataset` is used as it "
                    f"is. Received: subword_dropout={options['subword_dropout']!r} with {data!r}"
                )
            return data
        pairs = _check_pairs(data, "validation_data" if not shuffle else "x")
        dataset, _ = self.preprocessor.make_dataset(
            pairs,
            min(batch_size, len(pairs)) if not shuffle else batch_size,
            shuffle=shuffle,
            **options,
        )
        return dataset

    def fit(
        self, x, validation_data=None, batch_size=64, epochs=1, subword_dropout=0.0, **fit_options
    ):
        """Trains the backbone on text pairs (or a dataset of `make_dataset`'s batches).

        Compiles with `compile_seq2seq`'s defaults if `compile` was not called.

        Args:
            x: list of `(source, target)` strings, or a `tf.data.Dataset`.
            validation_data: the same kinds, optional.
            batch_size: pairs per batch, for text pairs.
            epochs: epochs to train.
            subword_dropout: BPE-dropout of the training pairs' segmentation, each
                epoch anew (`ks.data.make_dataset`), for text pairs.
            **fit_options: `keras.Model.fit`'s (`callbacks`, `verbose`, ...).

        Under a `tf.distribute` strategy (the backbone built and compiled in its scope)
        batches are global; with several workers (`ks.training.fit`) each worker reads
        its share of each batch and the weights stay equal on all of them.

        Returns:
            The Keras `History`.
        """
        if getattr(self.backbone, "optimizer", None) is None:
            self.compile()
        train = self._dataset(x, batch_size, shuffle=True, subword_dropout=subword_dropout)
        if validation_data is not None:
            validation_data = self._dataset(validation_data, batch_size, shuffle=False)
        fit_options.setdefault("shuffle", False)  # the pipeline shuffles (and buckets) itself
        return fit(
            self.backbone, train, validation_data=validation_data, epochs=epochs, **fit_options
        )

    def training_callbacks(
        self,
        run_dir,
        validation_pairs,
        patience=3,
        monitor="val_bleu",
        sampling_schedule=None,
        val_bleu_pairs=500,
        keep_epochs=0,
        time_budget=None,
    ):
        """The callbacks of a resumable training run in `run_dir`.

        `ks.callbacks.standard_callbacks` (resume, early stopping and the best
        checkpoint by `monitor`, history, TensorBoard, the scheduled-sampling
        schedule, the last `keep_epochs` epochs' weights for `average_epochs`,
        the end of training after the last epoch that fits in `time_budget` minutes;
        the weights' moving average scored and kept, for a backbone compiled with
        `ema_momentum`) with the validation BLEU of `val_bleu_pairs` of `validation_pairs` each
        epoch (0: none) and, for a model that records attention, heat maps of
        four validation sentences in `logs/attention`.
        """
        text = (
            self.preprocessor.source_tokenizer,
            self.preprocessor.target_tokenizer,
            self.preprocessor.max_source_length,
            self.preprocessor.max_target_length,
        )
        scores = images = None
        if val_bleu_pairs:
            scores = ValidationBLEU(validation_pairs, *text, num_pairs=val_bleu_pairs)
        if self.records_attention:
            log_dir = os.path.join(run_dir, "logs", "attention")
            images = AttentionImages([s for s, _ in validation_pairs[:4]], *text, log_dir=log_dir)
        return standard_callbacks(
            run_dir,
            patience=patience,
            monitor=monitor,
            sampling_schedule=sampling_schedule,
            validation_scores=scores,
            keep_epochs=keep_epochs,
            attention_images=images,
            time_budget=time_budget,
            average_weights=getattr(getattr(self.backbone, "optimizer", None), "use_ema", False),
        )

    def average_epochs(self, run_dir, pairs):
        """Averages the epochs `training_callbacks(keep_epochs=N)` kept in `run_dir`.

        The mean of each tail of them (the last 2, 3, ... epochs) is scored by greedy
        BLEU on `pairs` (validation), and the best is kept only when it beats the
        current weights (`ks.training.average_best_tail`); the kept epochs' files are
        deleted after. Returns None with fewer than two epochs kept, else
        `average_checkpoints`' dict with `epochs` (the best tail's numbers) and `tails`
        (each tail's BLEU, by its first epoch).
        """
        result = average_kept_epochs(self.backbone, run_dir, self._greedy_bleu(pairs))
        if result is None:
            return None
        return {"epochs": result["epochs"], **self._named(result), "tails": result["tails"]}

    # ------------------------------------------------------------------ text out
    def _decoder(self, strategy, return_attention):
        """One traced decoding function per strategy and attention flag, kept for reuse."""
        key = (repr(decoding.serialize(strategy)), return_attention)
        if key not in self._decoders:
            self._decoders[key] = make_translate_fn(
                self.backbone, self.preprocessor.max_target_length, strategy, return_attention
            )
        return self._decoders[key]

    def _texts(self, texts):
        if isinstance(texts, str):
            return [texts]
        if isinstance(texts, (bytes, bytearray)) or not hasattr(texts, "__iter__"):
            is_bytes = isinstance(texts, (bytes, bytearray))
            hint = " (decode bytes first: text.decode('utf-8'))" if is_bytes else ""
            raise ValueError(
                f"`texts` must be a string or a list of strings{hint}. Received: {texts!r}"
            )
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(f"`texts` must be strings; item {i} is {text!r}.")
        return texts

    def _warn_if_cut(self, texts):
        """Warns (`TruncationWarning`) about texts longer than the model's source limit."""
        limit = self.preprocessor.max_source_length
        lengths = [len(ids) for ids in encode_texts(self.preprocessor.source_tokenizer, texts)]
        cut = [i for i, length in enumerate(lengths) if length > limit]
        if cut:
            first = texts[cut[0]]
            warnings.warn(
                f"{len(cut)} of {len(texts)} texts are longer than the model's limit of {limit} "
                f"source tokens and were translated only up to it (text {cut[0]}, "
                f"{lengths[cut[0]]} tokens: {first[:60]!r}...). Split long texts into "
                "sentences and translate those.",
                TruncationWarning,
                stacklevel=3,
            )

    def translate(self, texts, strategy=None, return_attention=False, batch_size=64):
        """Translates text, decoding in the graph by the translator's strategy (or `strategy`).

        Args:
            texts: a string, or a list of strings.
            strategy: a decoding strategy (object, name or config) for this call;
                None: the translator's.
            return_attention: also return each translation's attention map;
                `"heads"` (multi-head attention only): each head's map.
            batch_size: sentences decoded together.

        A blank text (empty, or only spaces) gives an empty translation. A text
        longer than the preprocessor's `max_source_length` tokens is translated
        up to it, with a `TruncationWarning`.

        Returns:
            The translation (a string for a string, a list for a list). With
            `return_attention`, `(translations, maps)`, each map a tuple
            `(source_pieces, target_pieces, weights (len(target), len(source)))`
            (`"heads"`: weights `(len(target), num_heads, len(source))`).
        """
        strategy = self.strategy if strategy is None else decoding.get(strategy)
        batch = self._texts(texts)
        # Blank lines come back blank: a model asked to translate nothing invents a sentence.
        real = [i for i, text in enumerate(batch) if text.strip()]
        runner = TextTranslator
        if return_attention:
            runner = functools.partial(AttentionMaps, heads=return_attention == "heads")
        translations = [""] * len(batch)
        blank_map = ([], [], np.zeros((0, 0, 0) if return_attention == "heads" else (0, 0)))
        extra = [blank_map] * len(batch)
        if real:
            texts_to_decode = [batch[i] for i in real]
            self._warn_if_cut(texts_to_decode)
            decoded, decoded_extra = runner(
                self.backbone,
                texts_to_decode,
                self.preprocessor.source_tokenizer,
                self.preprocessor.target_tokenizer,
                self.preprocessor.max_source_length,
                self.preprocessor.max_target_length,
                strategy=strategy,
                batch_size=batch_size,
                translate_fn=self._decoder(strategy, return_attention),
            )()
            for i, translation, more in zip(real, decoded, decoded_extra, strict=True):
                translations[i], extra[i] = translation, more
        if isinstance(texts, str):
            translations, extra = translations[0], extra[0]
        return (translations, extra) if return_attention else translations

    def score(self, pairs, strategy=None, batch_size=64):
        """sacreBLEU BLEU and chrF (and the exact-match rate) of the translations of `pairs`,
        case-insensitive for a model trained lower-cased (its output is lower-case).

        Returns:
            dict: `bleu`, `chrf`, `exact_match`, `bleu_signature`
            (`ks.evaluation.corpus_scores`).
        """
        pairs = _check_pairs(pairs)
        hypotheses = self.translate([s for s, _ in pairs], strategy, batch_size=batch_size)
        lowercase = self.preprocessor.target_tokenizer.lowercase
        return corpus_scores(hypotheses, [t for _, t in pairs], lowercase)

    def tune_decoding(self, pairs, beam_sizes=None, length_penalties=None, callback=None):
        """Sets the strategy to the beam search with the best BLEU on `pairs`.

        Tune on validation pairs, never on the test set. Ties go to the first
        tried (the smaller beam, the smaller penalty).

        Args:
            pairs: validation `(source, target)` pairs.
            beam_sizes, length_penalties: the grid: a value, a sequence of values,
                or None for the defaults (`BEAM_SIZES`, `LENGTH_PENALTIES`).
            callback: optional `callback(result)` after each setting (progress).

        Returns:
            The grid's results, a list of `{"beam_size", "length_penalty", "bleu"}`.
        """
        grid = [
            default if values is None else values if hasattr(values, "__iter__") else (values,)
            for values, default in (
                (beam_sizes, BEAM_SIZES),
                (length_penalties, LENGTH_PENALTIES),
            )
        ]
        results = []
        for beam_size, length_penalty in itertools.product(*grid):
            strategy = decoding.BeamSearch(beam_size, length_penalty)
            bleu = self.score(pairs, strategy)["bleu"]
            results.append({"beam_size": beam_size, "length_penalty": length_penalty, "bleu": bleu})
            if callback is not None:
                callback(results[-1])
        best = max(results, key=lambda result: result["bleu"])
        self.strategy = decoding.BeamSearch(best["beam_size"], best["length_penalty"])
        return results

    def average_checkpoints(self, paths, pairs):
        """Checkpoint averaging, kept only when it helps.

        The mean of the weight files `paths` (`ks.training.average_checkpoints`)
        replaces the current weights if its greedy BLEU on `pairs` (validation) is
        higher; otherwise the current weights stay.

        Returns:
            dict: `val_bleu_average`, `val_bleu_best_epoch` (the current weights'),
            `kept` (`"average"` or `"best"`).
        """
        average, best, kept = average_if_better(self.backbone, paths, self._greedy_bleu(pairs))
        return self._named({"average": average, "best": best, "kept": kept})

    def _greedy_bleu(self, pairs):
        return lambda: self.score(pairs, decoding.GreedySearch())["bleu"]

    @staticmethod
    def _named(result):
        return {
            "val_bleu_average": result["average"],
            "val_bleu_best_epoch": result["best"],
            "kept": result["kept"],
        }

    # -------------------------------------------------------------------- export
    def module(self, shortlist=None):
        """The exportable `ks.export.TranslatorModule` of this translator.

        Args:
            shortlist: a `ks.decoding.LexicalShortlist`, or True for the preset's
                `vocab/shortlist.npz`; None: full vocabulary.
        """
        if shortlist is True:
            path = (
                None if self.preset_dir is None else RunFolder(self.preset_dir)[RunFolder.SHORTLIST]
            )
            if path is None or not os.path.exists(path):
                raise NotARunFolder(
                    f"{self.preset_dir or 'This translator'} has no {RunFolder.SHORTLIST}: "
                    f"{RunFolder.RECIPE} writes it when it prepares the data (older runs lack "
                    "it); build one with keras_seq.decoding.LexicalShortlist.from_text_pairs "
                    "and pass it as `shortlist`."
                )
            shortlist = LexicalShortlist.load(path)
        return TranslatorModule(
            self.backbone,
            self.preprocessor.source_tokenizer,
            self.preprocessor.target_tokenizer,
            max_source_length=self.preprocessor.max_source_length,
            max_target_length=self.preprocessor.max_target_length,
            strategy=self.strategy,
            shortlist=shortlist,
        )

    def export(
        self, directory, tflite=True, quantizations=None, with_attention=None, shortlist=None
    ):
        """Writes `directory/saved_model/` (TF Serving: text in, text out) and
        `directory/tflite/` (builtins-only greedy and beam models, float32/float16/int8).

        Args:
            directory: any folder; a run folder gets them beside its model.
            tflite: also write the TFLite models.
            quantizations: TFLite variants (default all: float32, float16, int8).
            with_attention: attention weights in the SavedModel's ids signatures
                (default: when the model records them, `records_attention`).
            shortlist: see `module`.

        Returns:
            dict: `saved_model` (path) and `tflite` (file name -> path).
        """
        return export_translator(
            self.module(shortlist), directory, tflite, quantizations, with_attention
        )

    # ------------------------------------------------------------------- presets
    def save_to_preset(self, directory):
        """Writes the translator as a preset (run folder) that `from_preset` loads.

        `model.keras`, `vocab/` and the preset's keys of `config.json` (the length
        limits and the decoding strategy; other keys of an existing config, such
        as a recipe's settings, are kept). Each file is written atomically.
        """
        run = RunFolder(directory)
        os.makedirs(run.path, exist_ok=True)
        self.preprocessor.save(run.path)
        with run.writing(RunFolder.MODEL) as temporary:
            self.backbone.save(temporary)
        strategy = {"decoding": decoding.serialize(self.strategy)}
        if isinstance(self.strategy, decoding.BeamSearch):
            strategy.update(
                beam_size=self.strategy.beam_size, length_penalty=self.strategy.length_penalty
            )
        run.update_config(**self.preprocessor.get_config(), **strategy)
        self.preset_dir = run.path
        return run.path

    @classmethod
    def from_preset(cls, directory, strategy=None, compile=True):
        """Loads a translator from a preset: a `recipes/translate.py` run folder or a
        folder `save_to_preset` wrote, wherever it was moved.

        Args:
            directory: the preset folder.
            strategy: overrides the preset's decoding strategy.
            compile: restore the training configuration (to `fit` further).

        Raises:
            keras_seq.tasks.NotARunFolder: naming what is missing.
        """
        run = RunFolder(directory)
        run.check_trained()
        config = run.read_config()
        translator = cls(
            run.load_model(compile=compile),
            Seq2SeqPreprocessor.load(run.path),
            RunFolder.strategy(config) if strategy is None else strategy,
        )
        translator.preset_dir = run.path
        return translator
