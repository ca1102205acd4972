"""Word features from the characters of each word (for taggers)."""

import keras
from keras import ops

from keras_seq.checks import check_choice, check_positive_int
from keras_seq.layers.bidirectional import Bidirectional

CHARACTER_ENCODERS = ("cnn", "lstm")


@keras.saving.register_keras_serializable(package="keras_seq")
class CharacterEncoder(keras.layers.Layer):
    """One feature vector per word from its characters: a char CNN or char BiLSTM.

    - `"cnn"` (Ma and Hovy, 2016): character embeddings, a width-`kernel_size`
      convolution with `units` filters, max-pooled over the word's real characters.
      Padding characters are zeroed before the convolution and left out of the max,
      so a word's features do not depend on how far its batch is padded.
    - `"lstm"` (Lample et al., 2016): a bidirectional LSTM over the characters; the
      word's features are the final forward and backward hidden states (`2 * units`).

    Character id 0 is padding; a word with no characters (a padding word) gets zeros.

    Args:
        vocab_size: positive int, the number of character ids (padding included).
        kind: `"cnn"` or `"lstm"`. Defaults to `"cnn"`.
        embedding_dim: positive int, the character embedding width. Defaults to 30.
        units: positive int, filters (cnn) or LSTM units per direction. Defaults to 50.
        kernel_size: positive int, the convolution width (cnn). Defaults to 3.
        **kwargs: base layer keyword arguments.

    Call arguments:
        char_ids: int tensor `(batch_size, words, chars)`.

    Returns:
        float tensor `(batch_size, words, output_dim)`: `units` for cnn, `2 * units`
        for lstm.

    Raises:
        ValueError: for an unknown `kind` or a non-positive size.

    Example:
        >>> encoder = CharacterEncoder(vocab_size=60)
        >>> encoder(ops.ones((2, 7, 12), "int32")).shape
        TensorShape([2, 7, 50])

    Reference:
        - [Ma and Hovy, 2016](https://arxiv.org/abs/1603.01354)
        - [Lample et al., 2016](https://arxiv.org/abs/1603.01360)
    """

    def __init__(self, vocab_size, kind="cnn", embedding_dim=30, units=50, kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        for name, value in (
            ("vocab_size", vocab_size),
            ("embedding_dim", embedding_dim),
            ("units", units),
            ("kernel_size", kernel_size),
        ):
            check_positive_int(name, value)
        check_choice("kind", kind, CHARACTER_ENCODERS)
        self.vocab_size = vocab_size
        self.kind = kind
        self.embedding_dim = embedding_dim
        self.units = units
        self.kernel_size = kernel_size
        self.embedding = keras.layers.Embedding(
            vocab_size, embedding_dim, dtype=self.dtype_policy, name="embedding"
        )
        if kind == "cnn":
            self.encoder = keras.layers.Conv1D(
                units, kernel_size, padding="same", dtype=self.dtype_policy, name="conv"
            )
        else:
            self.encoder = Bidirectional(
                keras.layers.LSTM(units, dtype=self.dtype_policy),
                dtype=self.dtype_policy,
                name="bilstm",
            )

    @property
    def output_dim(self):
        return self.units if self.kind == "cnn" else 2 * self.units

    def build(self, char_ids_shape):
        self.embedding.build((None, None))
        self.encoder.build((None, None, self.embedding_dim))
        self.built = True

    def call(self, char_ids, training=False):
        shape = ops.shape(char_ids)
        flat = ops.reshape(char_ids, (-1, shape[2]))
        mask = ops.not_equal(flat, 0)
        embedded = self.embedding(flat) * ops.cast(mask[..., None], self.compute_dtype)
        if self.kind == "cnn":
            features = self.encoder(embedded)
            lowest = ops.cast(ops.min(features) - 1.0, features.dtype)
            features = ops.max(ops.where(mask[..., None], features, lowest), axis=1)
            features = ops.where(ops.any(mask, axis=1)[:, None], features, 0.0)
        else:
            # The last real step of each direction, concatenated.
            features = self.encoder(embedded, mask=mask, training=training)
        return ops.reshape(features, (shape[0], shape[1], self.output_dim))

    def compute_output_shape(self, char_ids_shape):
        return (char_ids_shape[0], char_ids_shape[1], self.output_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "kind": self.kind,
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "kernel_size": self.kernel_size,
        }
