"""Running trained models on text and scoring them: sacreBLEU for translation, seqeval
for tagging."""

import numpy as np
import tensorflow as tf

from keras_seq import decoding
from keras_seq._optional import optional_import
from keras_seq.data.pipeline import make_source_batches
from keras_seq.models import generate


def make_translate_fn(model, max_length, strategy="greedy", return_attention=False):
    """A `tf.function` from right-padded source ids `(B, S)` to a `DecodeResult`.

    `strategy` is a decoding strategy object, name or config (`ks.decoding.get`);
    `return_attention` fills the result's `attention`.
    """
    strategy = decoding.get(strategy)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
    def translate(source_ids):
        return generate(
            model, source_ids, max_length, strategy=strategy, return_attention=return_attention
        )

    return translate


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
    ):
        self.translate = make_translate_fn(model, max_length, strategy, self.return_attention)
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


def corpus_scores(hypotheses, references):
    """sacreBLEU BLEU and chrF, and the exact-match rate, of detokenized text."""
    metrics = optional_import("sacrebleu.metrics", "sacrebleu", "BLEU and chrF scoring")

    if len(hypotheses) != len(references):
        raise ValueError(
            f"{len(hypotheses)} hypotheses but {len(references)} references: they must pair up."
        )
    bleu_metric, chrf_metric = metrics.BLEU(), metrics.CHRF()
    bleu = bleu_metric.corpus_score(hypotheses, [references])
    chrf = chrf_metric.corpus_score(hypotheses, [references])
    exact = float(
        np.mean([h.strip() == r.strip() for h, r in zip(hypotheses, references, strict=True)])
    )
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
    so a callback can draw the same sentences every epoch.
    """

    return_attention = True

    def __call__(self):
        """`(translations, maps)` in the order of the texts; each map is
        `(source_pieces, target_pieces, weights (len(target), len(source)))`.

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
                    attention[row, :length, :sources],
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


def plot_attention(source_pieces, target_pieces, weights, path, title=None):
    """Writes a heat map PNG of `weights (target, source)` with the pieces on the axes."""
    matplotlib = optional_import("matplotlib", "matplotlib", "Attention heat maps")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(
        figsize=(1 + 0.45 * len(source_pieces), 1 + 0.4 * len(target_pieces))
    )
    axes.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    axes.set_xticks(range(len(source_pieces)), source_pieces, rotation=90)
    axes.set_yticks(range(len(target_pieces)), target_pieces)
    axes.set_xlabel("source")
    axes.set_ylabel("translation")
    if title:
        axes.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


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
        for indices, words, chars in self.batches:
            ids, probabilities = (np.asarray(x) for x in self.tag(words, chars))
            for row, i in enumerate(indices):
                n = self.lengths[i]
                tags[i] = [self.vocabularies.tags[k] for k in ids[row, :n]]
                scores[i] = probabilities[row, :n].tolist()
        return tags, scores


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
            "f1": 100 * row["f1-score"],
            "precision": 100 * row["precision"],
            "recall": 100 * row["recall"],
            "support": int(row["support"]),
        }
        for name, row in report.items()
        if not name.endswith(" avg")
    }
    return {
        "f1": 100 * seqeval.f1_score(gold, predicted, zero_division=0),
        "precision": 100 * seqeval.precision_score(gold, predicted, zero_division=0),
        "recall": 100 * seqeval.recall_score(gold, predicted, zero_division=0),
        "accuracy": 100 * seqeval.accuracy_score(gold, predicted),
        "per_type": per_type,
    }


def plot_tag_confusion(gold, predicted, tags, path):
    """Writes a PNG of the word-level tag confusion matrix (rows gold, columns predicted).

    Each row is normalised to the fraction of its gold words; the counts are printed
    in the cells. Tags missing from `tags` (gold tags unseen in training) are added
    at the end.
    """
    matplotlib = optional_import("matplotlib", "matplotlib", "The tag confusion matrix")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seen = {t for sentence in (*gold, *predicted) for t in sentence}
    tags = [*tags, *sorted(seen - set(tags))]  # gold tags the model never learned, too
    index = {tag: i for i, tag in enumerate(tags)}
    counts = np.zeros((len(tags), len(tags)), np.int64)
    for gold_tags, predicted_tags in zip(gold, predicted, strict=True):
        for g, p in zip(gold_tags, predicted_tags, strict=True):
            counts[index[g], index[p]] += 1
    fractions = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = 1.5 + 0.55 * len(tags)
    figure, axes = plt.subplots(figsize=(size + 1, size))
    image = axes.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
    for i, j in zip(*np.nonzero(counts), strict=True):
        color = "white" if fractions[i, j] > 0.5 else "black"
        axes.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=7, color=color)
    axes.set_xticks(range(len(tags)), tags, rotation=90)
    axes.set_yticks(range(len(tags)), tags)
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    figure.colorbar(image, ax=axes, fraction=0.046)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
