"""The inference module: encoder once, then in-graph decoding by a strategy object."""

import tensorflow as tf

from keras_seq import decoding
from keras_seq.models.seq2seq import as_float32, generate, seq2seq_parts
from keras_seq.special_ids import PAD_ID, UNK_ID


class TranslatorModule(tf.Module):
    """A trained `build_seq2seq` model with its tokenizers, as exportable functions.

    The `tf.Module` that SavedModel and TFLite export save; a user holds a
    `ks.Translator`, whose `module()` builds it.

    Everything runs in one TensorFlow graph with fixed maximum lengths: the text
    is cleaned and tokenized (tensorflow-text), truncated to
    `max_source_length` tokens, encoded once, decoded by the translator's
    decoding strategy, and detokenized.

    Bad-input policy of the text functions (every row gets a defined output):
    - bytes that are not UTF-8 are replaced by U+FFFD before tokenizing;
    - a text longer than `max_source_length` tokens is truncated to its first
      `max_source_length` tokens and flagged in the `truncated` output;
    - an empty or whitespace-only text (no token) gives translation `""`,
      score 0 and no decoding;
    - unknown words become the unknown id and are translated like any token.
    Id inputs out of `[0, vocab_size)` are clipped into range in the graph.

    Args:
        model: a model from `build_seq2seq`, trained under any precision
            policy; the translator computes in float32 (`as_float32`).
        source_tokenizer, target_tokenizer: `SubwordTokenizer`s, or None for an
            ids-only module (TFLite).
        max_source_length: int, the most source tokens.
        max_target_length: int, the most target tokens (end token included).
        strategy: the decoding strategy of `translate` (the text signature) and
            the default of `decode_ids`: an object, a name or a config (see
            `ks.decoding.get`). Defaults to `BeamSearch()`.
        shortlist: optional `ks.decoding.LexicalShortlist`; every decoding of the
            module (and of its exports) then emits only the candidates of the
            source ids (see `ks.models.generate`).
    """

    def __init__(
        self,
        model,
        source_tokenizer=None,
        target_tokenizer=None,
        max_source_length=64,
        max_target_length=64,
        strategy="beam",
        shortlist=None,
    ):
        super().__init__(name="translator")
        self.model = as_float32(model)  # the inference graph is float32 whatever the training
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.max_source_length = max_source_length
        self.max_target_length = max_target_length
        self.strategy = decoding.get(strategy)
        self.shortlist = shortlist
        self.source_vocab_size = seq2seq_parts(model).encoder.vocab_size

    # ----------------------------------------------------------------- ids
    def clean_ids(self, source_ids):
        """int32 ids clipped into the vocabulary, cut to `max_source_length`."""
        source_ids = tf.cast(source_ids, tf.int32)[:, : self.max_source_length]
        return tf.clip_by_value(source_ids, 0, self.source_vocab_size - 1)

    def decode_ids(self, source_ids, strategy=None, return_attention=False, shortlist=None):
        """Decodes right-padded `source_ids (B, S)`.

        Args:
            source_ids: int `(batch_size, source_length)`.
            strategy: a strategy (object, name or config); None = the translator's.
            return_attention: fill `DecodeResult.attention`.
            shortlist: a `LexicalShortlist` in place of the translator's (None = the
                translator's: its own or none).

        Returns:
            A `DecodeResult`.
        """
        return generate(
            self.model,
            self.clean_ids(source_ids),
            self.max_target_length,
            strategy=self.strategy if strategy is None else strategy,
            return_attention=return_attention,
            shortlist=self.shortlist if shortlist is None else shortlist,
        )

    # ---------------------------------------------------------------- text
    def tokenize(self, text):
        """`(source_ids (B, S) right-padded, token_counts (B,), truncated (B,))`."""
        text = tf.strings.unicode_transcode(
            tf.reshape(tf.convert_to_tensor(text, tf.string), [-1]),
            "UTF-8",
            "UTF-8",
            errors="replace",
            replacement_char=0xFFFD,
        )
        ragged = self.source_tokenizer.tokenize(text)
        counts = ragged.row_lengths()
        truncated = counts > self.max_source_length
        ragged = ragged[:, : self.max_source_length]
        return (
            ragged.to_tensor(default_value=PAD_ID),
            tf.cast(ragged.row_lengths(), tf.int32),
            truncated,
        )

    def translate(self, text):
        """Translations of a batch of texts by the translator's strategy (best hypothesis).

        Returns:
            dict of `translation` (string `(B,)`), `score` (float32 `(B,)`),
            `truncated` (bool `(B,)`, the source was cut to `max_source_length`).
        """
        source_ids, counts, truncated = self.tokenize(text)
        has_tokens = counts > 0
        # Rows without tokens are decoded from one unknown token (keeping the batch
        # rectangular, at least one column wide), then blanked.
        width = tf.maximum(tf.shape(source_ids)[1], 1)
        source_ids = tf.pad(source_ids, [[0, 0], [0, 1]])[:, :width]
        first_column = tf.range(width)[None, :] == 0
        source_ids = tf.where(
            tf.logical_and(tf.logical_not(has_tokens)[:, None], first_column), UNK_ID, source_ids
        )
        result = self.decode_ids(source_ids)
        translation = self.target_tokenizer.detokenize(result.ids[:, 0])
        return {
            "translation": tf.where(has_tokens, translation, ""),
            "score": tf.where(has_tokens, result.scores[:, 0], 0.0),
            "truncated": truncated,
        }

    def ids_strategies(self):
        """`{signature name: strategy}` of the ids functions exports write.

        Greedy search always (the cheapest on a device), and the translator's own
        strategy under its name.
        """
        return {"greedy": decoding.GreedySearch(), self.strategy.name: self.strategy}


def result_outputs(result):
    """The named outputs of an ids signature: `ids`, `lengths`, `scores` (and `attention`)."""
    outputs = {"ids": result.ids, "lengths": result.lengths, "scores": result.scores}
    if result.attention is not None:
        outputs["attention"] = result.attention
    return outputs
