"""An output projection that shares the target embedding's matrix."""

import keras
from keras import ops


class TiedOutput(keras.layers.Layer):
    """Logits from the target embedding matrix: `project(feature) @ E^T + bias`.

    The decoder's output projection reuses its input embedding `E` (vocab_size x
    embedding_dim), as in Press & Wolf (2017) and Inan et al. (2017): a word's
    input and output vectors are one vector, which halves the parameters that
    grow with the vocabulary and regularises a model trained on a small corpus.
    A feature wider or narrower than the embedding first goes through a linear
    `projection` (no bias) to `embedding_dim`.

    It stands where a `Dense(vocab_size)` would: `kernel` is the
    `(feature_dim, vocab_size)` matrix it multiplies by (computed, not a
    variable) and `bias` its `(vocab_size,)` bias, so code that reads a dense
    output layer's columns (`ks.decoding.LexicalShortlist`) reads this one's too.
    The embedding's variable belongs to the embedding layer; this layer owns
    only the bias and the projection. `AttentionDecoder(tie_embeddings=True)`
    builds it around its own embedding and recreates it from its config; on
    its own in a functional model it has no config to save.

    Args:
        embedding: the built-or-not `keras.layers.Embedding` whose matrix it shares.

    Reference:
        - [Press & Wolf, 2017](https://arxiv.org/abs/1608.05859)
    """

    def __init__(self, embedding, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(embedding, keras.layers.Embedding):
            raise ValueError(
                "`embedding` must be a keras.layers.Embedding. "
                f"Received: {type(embedding).__name__}"
            )
        self.embedding = embedding
        self.projection = None

    def build(self, feature_shape):
        width = self.embedding.output_dim
        if feature_shape[-1] != width:
            self.projection = keras.layers.Dense(
                width, use_bias=False, dtype=self.dtype_policy, name="projection"
            )
            self.projection.build(feature_shape)
        self.bias = self.add_weight(
            shape=(self.embedding.input_dim,), initializer="zeros", name="bias"
        )
        self.built = True

    @property
    def kernel(self):
        """`(feature_dim, vocab_size)`: the projection times the transposed embedding."""
        matrix = ops.transpose(self.embedding.embeddings)
        if self.projection is not None:
            matrix = ops.matmul(self.projection.kernel, matrix)
        return matrix

    def call(self, feature):
        if self.projection is not None:
            feature = self.projection(feature)
        embeddings = ops.cast(self.embedding.embeddings, self.compute_dtype)
        return ops.matmul(feature, ops.transpose(embeddings)) + ops.cast(
            self.bias, self.compute_dtype
        )

    def compute_output_shape(self, feature_shape):
        return tuple(feature_shape[:-1]) + (self.embedding.input_dim,)
