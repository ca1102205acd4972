"""Translating text with a trained model and scoring it (sacreBLEU, exact match)."""

import numpy as np
import tensorflow as tf

from keras_seq import decoding
from keras_seq._optional import optional_import
from keras_seq.data.pipeline import make_source_batches
from keras_seq.models import generate


def make_translate_fn(model, max_length, strategy="greedy"):
    """A `tf.function` from right-padded source ids `(B, S)` to a `DecodeResult`.

    `strategy` is a decoding strategy object, name or config (`ks.decoding.get`).
    """
    strategy = decoding.get(strategy)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
    def translate(source_ids):
        return generate(model, source_ids, max_length, strategy=strategy)

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
        self.translate = make_translate_fn(model, max_length, strategy)
        self.target_tokenizer = target_tokenizer
        self.count = len(texts)
        self.batches = make_source_batches(texts, source_tokenizer, batch_size, max_source_length)

    def __call__(self):
        """`(translations, scores)` in the order of the texts."""
        translations = [""] * self.count
        scores = np.zeros(self.count, np.float32)
        for indices, source_ids in self.batches:
            result = self.translate(tf.constant(source_ids))
            decoded = self.target_tokenizer.detokenize(result.ids[:, 0]).numpy()
            for row, i in enumerate(indices):
                translations[i] = decoded[row].decode("utf-8")
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


def attention_maps(model, texts, source_tokenizer, target_tokenizer, max_source_length, max_length):
    """Greedy translations of `texts` with the attention weights of each output token.

    Returns:
        A list of `(source_pieces, target_pieces, weights (len(target), len(source)))`.
    """
    maps = []
    for text in texts:
        ids = np.asarray(
            source_tokenizer.tokenize([text]).to_list()[0][:max_source_length], np.int32
        )[None]
        result = generate(model, ids, max_length, return_attention=True)
        weights = np.asarray(result.attention)[0, 0]
        length = int(result.lengths[0, 0])
        target_ids = np.asarray(result.ids[0, 0, :length]).tolist()
        maps.append(
            (
                source_tokenizer.id_to_piece(ids[0].tolist()),
                target_tokenizer.id_to_piece(target_ids),
                weights[:length],
            )
        )
    return maps


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
