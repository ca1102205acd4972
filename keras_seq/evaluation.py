"""Running trained models on text and scoring them: sacreBLEU for translation, seqeval
for tagging."""

import numpy as np
import tensorflow as tf

from keras_seq import decoding
from keras_seq._optional import optional_import
from keras_seq.data.pipeline import make_source_batches
from keras_seq.models.seq2seq import generate


class _Decode:
    """`generate` of one model and strategy, as a callable object.

    `tf.function` counts the tracings of a Python function by its code object; a
    closure made anew for each strategy would share one and draw TensorFlow's
    "triggered tf.function retracing" warning although each is traced once.
    """

    def __init__(self, model, max_length, strategy, return_attention):
        self.model = model
        self.max_length = max_length
        self.strategy = strategy
        self.return_attention = return_attention

    def __call__(self, source_ids):
        return generate(
            self.model,
            source_ids,
            self.max_length,
            strategy=self.strategy,
            return_attention=self.return_attention,
        )


def make_translate_fn(model, max_length, strategy="greedy", return_attention=False):
    """A `tf.function` from right-padded source ids `(B, S)` to a `DecodeResult`.

    `strategy` is a decoding strategy object, name or config (`ks.decoding.get`);
    `return_attention` fills the result's `attention`.
    """
    return tf.function(
        _Decode(model, max_length, decoding.get(strategy), return_attention),
        input_signature=[tf.TensorSpec([None, None], tf.int32)],
    )


class TextTranslator:
    """Translates a fixed list of texts, as often as asked, with one traced function.

    The texts are tokenized once into length-sorted batches; each call decodes
    them with the model's current weights (the function reads its variables),
    so a callback can score the same sentences every epoch without retracing.

    Args:
        model: a `build_seq2seq` model.
        texts: source texts.
        source_tokenizer, target_tokenizer: `SubwordTokenizer`s.
        max_source_length: sources are cut to this many tokens.
        max_length: the most target tokens.
        strategy: decoding strategy (object, name or config).
        batch_size: sentences per decoded batch.
        translate_fn: a function of `make_translate_fn` for this model, strategy and
            `return_attention`, to reuse one traced already (None: trace one).
    """

    return_attention = False

    def __init__(
        self,
        model,
        texts,
        source_tokenizer,
        target_tokenizer,
        max_source_length,
        max_length,
        strategy="greedy",
        batch_size=128,
        translate_fn=None,
    ):
        self.translate = translate_fn or make_translate_fn(
            model, max_length, strategy, self.return_attention
        )
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.count = len(texts)
        self.batches = make_source_batches(texts, source_tokenizer, batch_size, max_source_length)

    def _decoded(self):
        """Per batch: `(indices, source_ids, DecodeResult, translations of its rows)`."""
        for indices, source_ids in self.batches:
            result = self.translate(tf.constant(source_ids))
            decoded = self.target_tokenizer.detokenize(result.ids[:, 0]).numpy()
            yield indices, source_ids, result, [text.decode("utf-8") for text in decoded]

    def __call__(self):
        """`(translations, scores)` in the order of the texts."""
        translations = [""] * self.count
        scores = np.zeros(self.count, np.float32)
        for indices, _, result, texts in self._decoded():
            for row, i in enumerate(indices):
                translations[i] = texts[row]
                scores[i] = float(result.scores[row, 0])
        return translations, scores


def translate_texts(model, texts, *args, **kwargs):
    """Translates `texts` once; returns `(translations, scores)` in the order given.

    Takes the arguments of `TextTranslator` (tokenizers, length limits, `strategy`,
    `batch_size`).
    """
    return TextTranslator(model, texts, *args, **kwargs)()


def corpus_scores(hypotheses, references, lowercase=False):
    """sacreBLEU BLEU and chrF, and the exact-match rate, of detokenized text.

    With `lowercase` (a model whose tokenizer case-folds, so that its translations are
    lower-case), all three compare lower-cased text; the BLEU signature says `case:lc`.
    """
    metrics = optional_import("sacrebleu.metrics", "sacrebleu", "BLEU and chrF scoring")

    if len(hypotheses) != len(references):
        raise ValueError(
            f"{len(hypotheses)} hypotheses but {len(references)} references: they must pair up."
        )
    bleu_metric, chrf_metric = metrics.BLEU(lowercase=lowercase), metrics.CHRF(lowercase=lowercase)
    bleu = bleu_metric.corpus_score(hypotheses, [references])
    chrf = chrf_metric.corpus_score(hypotheses, [references])
    fold = str.lower if lowercase else str
    pairs = zip(hypotheses, references, strict=True)
    exact = float(np.mean([fold(h.strip()) == fold(r.strip()) for h, r in pairs]))
    return {
        "bleu": bleu.score,
        "chrf": chrf.score,
        "exact_match": exact,
        "bleu_signature": str(bleu_metric.get_signature()),
    }


class AttentionMaps(TextTranslator):
    """Translations of a fixed list of texts with their attention, as often as asked.

    Takes `TextTranslator`'s arguments (greedy by default; with a beam search, the
    best hypothesis): the texts are tokenized once into length-sorted batches and
    decoded by one traced function with the model's current weights at each call,
    so a callback can draw the same sentences every epoch. `heads=True` (a
    multi-head attention decoder only) gives each head's weights.
    """

    def __init__(self, *args, heads=False, **kwargs):
        self.return_attention = "heads" if heads else True
        super().__init__(*args, **kwargs)

    def __call__(self):
        """`(translations, maps)` in the order of the texts; each map is
        `(source_pieces, target_pieces, weights (len(target), [heads,] len(source)))`.

        The target pieces end with the end token when the translation finished.
        """
        translations = [""] * self.count
        maps = [None] * self.count
        for indices, source_ids, result, texts in self._decoded():
            ids, lengths = np.asarray(result.ids)[:, 0], np.asarray(result.lengths)[:, 0]
            attention = np.asarray(result.attention)[:, 0]
            for row, i in enumerate(indices):
                sources = int(np.count_nonzero(source_ids[row]))
                length = int(lengths[row])
                translations[i] = texts[row]
                maps[i] = (
                    self.source_tokenizer.id_to_piece(source_ids[row, :sources].tolist()),
                    self.target_tokenizer.id_to_piece(ids[row, :length].tolist()),
                    attention[row, :length, ..., :sources],
                )
        return translations, maps


def attention_maps(model, texts, *args, **kwargs):
    """Greedy translations of `texts` with the attention weights of each output token, once.

    Takes the arguments of `AttentionMaps` (tokenizers, length limits, `strategy`,
    `batch_size`).

    Returns:
        A list of `(source_pieces, target_pieces, weights (len(target), len(source)))`.
    """
    return AttentionMaps(model, texts, *args, **kwargs)()[1]


# An attention map whose argmax alignment has a rank correlation `tau` at least this is monotonic.
MONOTONIC_TAU = 0.9


def alignment_summary(weights):
    """How one attention map aligns the translation with its source.

    The argmax alignment maps each output token to the source token it attends to
    most. `tau` is Kendall's rank correlation between the output order and that
    source order, counted over the pairs of output tokens that look at different
    source tokens: `(C - D) / (C + D)` for `C` pairs in order and `D` crossing
    pairs (Goodman and Kruskal's gamma, Kendall's tau with ties left out, so that
    several output pieces of one source word do not count against it). It is 1
    for a word-by-word translation, -1 for a reversed one, and 1 when no two
    output tokens look at different source tokens.

    Args:
        weights: `(target, source)` attention weights, each row summing to 1.

    Returns:
        dict: `tau`; `crossings` (`D`); `monotonic` (`tau >= MONOTONIC_TAU`);
        `entropy`, the mean over output tokens of each row's entropy in nats (0
        when each token looks at one source token, `log(source)` when uniform).
    """
    weights = np.asarray(weights, np.float64)
    if weights.ndim != 2 or 0 in weights.shape:
        raise ValueError(
            f"Expected attention weights of shape (target, source), both above 0. "
            f"Received shape: {weights.shape}"
        )
    aligned = weights.argmax(axis=1)
    later = np.triu(np.ones((len(aligned), len(aligned)), bool), k=1)  # pairs i < j
    step = np.sign(aligned[None, :] - aligned[:, None])[later]
    in_order, crossings = int((step > 0).sum()), int((step < 0).sum())
    tau = (in_order - crossings) / (in_order + crossings) if in_order + crossings else 1.0
    p = np.clip(weights, 1e-12, 1.0)
    entropy = float(np.mean(-(weights * np.log(p)).sum(axis=1)))
    return {
        "tau": float(tau),
        "crossings": crossings,
        "monotonic": tau >= MONOTONIC_TAU,
        "entropy": entropy,
    }


class SentenceTagger:
    """Tags a fixed list of tokenized sentences, as often as asked, with one traced function.

    The sentences are encoded once into length-sorted batches; each call tags them
    with the model's current weights, so a callback can score the same sentences
    every epoch without retracing.

    Args:
        model: a `build_tagger` model.
        sentences: lists of words.
        vocabularies: the model's `TagVocabularies`.
        batch_size: sentences per batch.
    """

    def __init__(self, model, sentences, vocabularies, batch_size=256):
        self.vocabularies = vocabularies
        self.count = len(sentences)
        self.lengths = [len(words) for words in sentences]
        uses_chars = "chars" in model.input

        @tf.function(
            input_signature=[
                tf.TensorSpec([None, None], tf.int32),
                tf.TensorSpec([None, None, vocabularies.max_chars], tf.int32),
            ]
        )
        def tag(words, chars):
            inputs = {"words": words, "chars": chars} if uses_chars else {"words": words}
            return model.tag_scores(inputs)

        self.tag = tag
        order = sorted(range(self.count), key=lambda i: self.lengths[i])
        self.batches = []
        for start in range(0, self.count, batch_size):
            indices = [i for i in order[start : start + batch_size] if self.lengths[i]]
            if not indices:
                continue
            width = max(self.lengths[i] for i in indices)
            words = np.zeros((len(indices), width), np.int32)
            chars = np.zeros((len(indices), width, vocabularies.max_chars), np.int32)
            for row, i in enumerate(indices):
                words[row, : self.lengths[i]], chars[row, : self.lengths[i]] = vocabularies.encode(
                    sentences[i]
                )
            self.batches.append((indices, words, chars))

    def __call__(self):
        """`(tags, scores)`: per sentence, its tag strings and their probabilities."""
        tags = [[] for _ in range(self.count)]
        scores = [[] for _ in range(self.count)]
        names = self.vocabularies.output_tags
        for indices, words, chars in self.batches:
            ids, probabilities = (np.asarray(x) for x in self.tag(words, chars))
            for row, i in enumerate(indices):
                n = self.lengths[i]
                tags[i] = [names[k] for k in ids[row, :n]]
                scores[i] = probabilities[row, :n].tolist()
        return tags, scores


def entity_spans(tags):
    """`(type, start, end)` of the entities in a sentence's IOB2 (or IOBES) tags.

    `end` is exclusive. An `I-` tag that does not continue an entity of its type
    starts one (as the CoNLL `conlleval` script reads it).
    """
    spans = []
    kind = start = None
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, name = tag.partition("-")
        continues = prefix in ("I", "E") and name == kind
        if kind is not None and not continues:
            spans.append((kind, start, i))
            kind = None
        if prefix in ("B", "S") or (prefix in ("I", "E") and not continues):
            kind, start = name, i
        if prefix in ("E", "S") and kind is not None:
            spans.append((kind, start, i + 1))
            kind = None
    return spans


def entity_scores(gold, predicted):
    """seqeval's entity-level precision, recall and F1 (in %), overall and per type.

    Scored as the CoNLL evaluation script `conlleval` does (seqeval's default mode):
    an entity counts when its type and its exact span match.

    Args:
        gold, predicted: lists of sentences' tag lists (IOB2 strings), pairing up.

    Returns:
        `{"f1", "precision", "recall", "accuracy", "per_type": {type: {"f1",
        "precision", "recall", "support"}}}`.
    """
    seqeval = optional_import("seqeval.metrics", "seqeval", "Entity-level F1 scoring")
    if len(gold) != len(predicted) or any(
        len(g) != len(p) for g, p in zip(gold, predicted, strict=False)
    ):
        raise ValueError("Gold and predicted tags must pair up sentence by sentence, word by word.")
    report = seqeval.classification_report(gold, predicted, output_dict=True, zero_division=0)
    per_type = {
        name: {
            "f1": float(100 * row["f1-score"]),  # plain floats: they print and dump as such
            "precision": float(100 * row["precision"]),
            "recall": float(100 * row["recall"]),
            "support": int(row["support"]),
        }
        for name, row in report.items()
        if not name.endswith(" avg")
    }
    return {
        "f1": float(100 * seqeval.f1_score(gold, predicted, zero_division=0)),
        "precision": float(100 * seqeval.precision_score(gold, predicted, zero_division=0)),
        "recall": float(100 * seqeval.recall_score(gold, predicted, zero_division=0)),
        "accuracy": float(100 * seqeval.accuracy_score(gold, predicted)),
        "per_type": per_type,
    }


def forecast_scores(forecasts, actuals, history, season=1, intervals=None):
    """MASE and sMAPE of point forecasts, overall and per horizon step.

    MASE (Hyndman & Koehler, 2006) divides the absolute errors by the in-sample
    mean absolute error of the seasonal naive forecast on `history` (the
    training part); below 1 beats it. sMAPE is in percent (0 to 200).

    Args:
        forecasts, actuals: `(num_origins, horizon)`.
        history: the values the models were trained on.
        season: the seasonal naive lag (1: the naive forecast).
        intervals: optional `(lower, upper)` arrays like `forecasts`: adds
            `coverage` (percent of actuals inside).

    Returns:
        dict: `mase`, `smape`, `mase_per_step`, `smape_per_step` (lists), and
        `coverage` with `intervals`.
    """
    forecasts, actuals = np.asarray(forecasts, float), np.asarray(actuals, float)
    if forecasts.shape != actuals.shape or forecasts.ndim != 2:
        raise ValueError(
            "`forecasts` and `actuals` must both be (num_origins, horizon). Received shapes "
            f"{forecasts.shape} and {actuals.shape}."
        )
    history = np.asarray(history, float)
    lag = season if len(history) > season else 1
    scale = np.mean(np.abs(history[lag:] - history[:-lag]))
    if not scale > 0:
        raise ValueError("MASE needs a history that varies: its naive forecast errs by 0.")
    errors = np.abs(forecasts - actuals)
    total = np.abs(forecasts) + np.abs(actuals)
    smape = np.where(total > 0, 200 * errors / np.where(total > 0, total, 1), 0.0)
    scores = {
        "mase": float(errors.mean() / scale),
        "smape": float(smape.mean()),
        "mase_per_step": (errors.mean(axis=0) / scale).tolist(),
        "smape_per_step": smape.mean(axis=0).tolist(),
    }
    if intervals is not None:
        lower, upper = (np.asarray(bound, float) for bound in intervals)
        scores["coverage"] = float(100 * np.mean((actuals >= lower) & (actuals <= upper)))
    return scores
