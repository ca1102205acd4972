"""Multiplicative (Luong) attention."""

import math

import keras
from keras import ops

from keras_seq.checks import check_choice, check_positive_int
from keras_seq.layers.attention_base import Attention, additive_scores

SCORES = ("dot", "general", "concat", "scaled_dot")


@keras.saving.register_keras_serializable(package="keras_seq")
class LuongAttention(Attention):
    """Multiplicative attention of a decoder query over an encoder memory.

    Scores of memory position `s` for query `q` (Luong et al., 2015):
    `"dot"`: `q . m_s`; `"scaled_dot"`: `q . m_s / sqrt(memory_dim)`;
    `"general"`: `q . W m_s`; `"concat"`: `v^T tanh(W [q; m_s])`.
    The memory-only part (`W m_s`) is computed once per source sentence by
    `prepare_memory` and reused at every decoder step through `attend`.

    Masking: memory positions where `memory_mask` is False get weight exactly 0.
    A row with no real position gets all-zero weights and a zero context.

    Args:
        score: one of `"dot"`, `"general"`, `"concat"`, `"scaled_dot"`.
            Defaults to `"general"`.
        units: width of the hidden layer of the `"concat"` score; defaults to the
            query width. Ignored by the other scores.
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
        ValueError: for an unknown `score`, or, for `"dot"` and `"scaled_dot"`, a
            query width different from the memory width.

    Example:
    >>> attention = LuongAttention("dot")
    >>> context, weights = attention(ops.ones((2, 8)), ops.ones((2, 5, 8)))
    >>> tuple(context.shape), tuple(weights.shape)
    ((2, 8), (2, 5))

    Reference:
        - [Luong et al., 2015](https://arxiv.org/abs/1508.04025)
    """

    def __init__(self, score="general", units=None, **kwargs):
        super().__init__(**kwargs)
        check_choice("score", score, SCORES)
        if units is not None:
            check_positive_int("units", units)
        self.score_type = score
        self.units = units

    def build(self, query_shape, memory_shape, memory_mask_shape=None):
        query_dim, memory_dim = query_shape[-1], memory_shape[-1]
        if self.score_type in ("dot", "scaled_dot") and query_dim != memory_dim:
            raise ValueError(
                f"LuongAttention(score={self.score_type!r}) needs the query and memory to "
                f"have the same width. Received: query_dim={query_dim}, memory_dim={memory_dim}. "
                "Use score='general' or 'concat' for different widths."
            )
        self._memory_dim = memory_dim
        if self.score_type == "general":
            self.memory_dense = keras.layers.Dense(
                query_dim, use_bias=False, dtype=self.dtype_policy, name="memory_dense"
            )
            self.memory_dense.build(memory_shape)
        elif self.score_type == "concat":
            units = self.units or query_dim
            self.memory_dense = keras.layers.Dense(
                units, use_bias=True, dtype=self.dtype_policy, name="memory_dense"
            )
            self.query_dense = keras.layers.Dense(
                units, use_bias=False, dtype=self.dtype_policy, name="query_dense"
            )
            self.score_dense = keras.layers.Dense(
                1, use_bias=False, dtype=self.dtype_policy, name="score_dense"
            )
            self.memory_dense.build(memory_shape)
            self.query_dense.build(query_shape)
            self.score_dense.build((None, units))
        self.built = True

    def prepare_memory(self, memory):
        if self.score_type in ("general", "concat"):
            return self.memory_dense(memory)
        return memory

    def score(self, query, keys):
        if self.score_type == "concat":
            return additive_scores(self.query_dense(query), keys, self.score_dense)
        if len(query.shape) == 2:
            query = ops.expand_dims(query, 1)
        scores = ops.matmul(query, ops.swapaxes(keys, 1, 2))  # (B, T, S)
        if self.score_type == "scaled_dot":
            scores = scores / ops.cast(math.sqrt(self._memory_dim), scores.dtype)
        return scores

    def get_config(self):
        return {**super().get_config(), "score": self.score_type, "units": self.units}
