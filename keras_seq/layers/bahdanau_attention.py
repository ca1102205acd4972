"""Additive (Bahdanau) attention."""

import keras

from keras_seq.checks import check_positive_int
from keras_seq.layers.attention_base import Attention, additive_scores


@keras.saving.register_keras_serializable(package="keras_seq")
class BahdanauAttention(Attention):
    """Additive attention of a decoder query over an encoder memory.

    The score of memory position `s` is `v^T tanh(W_q q + W_m m_s + b)`, as in
    Bahdanau et al. (2015). Keras' `AdditiveAttention` is not this: it has no
    projections. `W_m m` depends only on the source sentence, so decoders compute
    it once with `prepare_memory` and reuse it at every step through `attend`.

    Masking: memory positions where `memory_mask` is False get weight exactly 0.
    A row with no real position gets all-zero weights and a zero context.

    Args:
        units: positive int, width of the hidden scoring layer.
        **kwargs: base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        query: float tensor `(batch_size, query_dim)` or
            `(batch_size, target_length, query_dim)`.
        memory: float tensor `(batch_size, source_length, memory_dim)`.
        memory_mask: optional bool tensor `(batch_size, source_length)`.

    Returns:
        `(context, weights)`: `(batch_size, [target_length,] memory_dim)` in the
        compute dtype and `(batch_size, [target_length,] source_length)` float32.

    Raises:
        ValueError: if `units` is not a positive integer.

    Example:
    >>> attention = BahdanauAttention(16)
    >>> context, weights = attention(ops.ones((2, 8)), ops.ones((2, 5, 12)))
    >>> tuple(context.shape), tuple(weights.shape)
    ((2, 12), (2, 5))

    Reference:
        - [Bahdanau et al., 2015](https://arxiv.org/abs/1409.0473)
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        check_positive_int("units", units)
        self.units = units
        self.query_dense = keras.layers.Dense(
            units, use_bias=False, dtype=self.dtype_policy, name="query_dense"
        )
        self.memory_dense = keras.layers.Dense(
            units, use_bias=True, dtype=self.dtype_policy, name="memory_dense"
        )
        self.score_dense = keras.layers.Dense(
            1, use_bias=False, dtype=self.dtype_policy, name="score_dense"
        )

    def build(self, query_shape, memory_shape, memory_mask_shape=None):
        self.query_dense.build(query_shape)
        self.memory_dense.build(memory_shape)
        self.score_dense.build(tuple(memory_shape[:-1]) + (self.units,))
        self.built = True

    def prepare_memory(self, memory):
        return self.memory_dense(memory)

    def score(self, query, keys):
        return additive_scores(self.query_dense(query), keys, self.score_dense)

    def get_config(self):
        return {**super().get_config(), "units": self.units}
