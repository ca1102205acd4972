"""Multi-head scaled dot-product attention of a decoder query over an encoder memory."""

import math

import keras
from keras import ops

from keras_seq.checks import check_positive_int
from keras_seq.layers.attention_base import Attention, masked_softmax


@keras.saving.register_keras_serializable(package="keras_seq")
class MultiHeadAttention(Attention):
    """Multi-head attention with the call of `BahdanauAttention` and `LuongAttention`.

    The query and the memory are projected into `num_heads` subspaces of width
    `key_dim`; each head attends with a scaled dot product,
    `softmax(q_h . k_h,s / sqrt(key_dim))`, and reads its own value projection
    `v_h,s`; the heads' readings, concatenated, are projected back to the
    memory width (Vaswani et al., 2017, over a recurrent decoder's query). The
    key and value projections depend only on the source sentence: decoders
    compute them once with `prepare_memory` and reuse them at every step.

    The weights this layer returns (and a decoder records and plots) are the
    mean over heads, so every attention layer gives one map per sentence;
    `attend_heads` returns each head's weights.

    Unlike `keras.layers.MultiHeadAttention`, masking is done in float32 with
    `where`: memory positions where `memory_mask` is False get weight exactly 0
    under any dtype policy, and a row with no real position gets all-zero
    weights and a zero context.

    Args:
        num_heads: positive int, number of heads. Defaults to 4.
        key_dim: positive int, width of each head's query, key and value;
            defaults to `memory_dim // num_heads` (at least 1).
        **kwargs: base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        query: float tensor `(batch_size, query_dim)` or
            `(batch_size, target_length, query_dim)`.
        memory: float tensor `(batch_size, source_length, memory_dim)`.
        memory_mask: optional bool tensor `(batch_size, source_length)`.

    Returns:
        `(context, weights)`: `(batch_size, [target_length,] memory_dim)` in the
        compute dtype and the head-mean weights `(batch_size, [target_length,]
        source_length)` float32.

    Raises:
        ValueError: if `num_heads` or `key_dim` is not a positive integer.

    Example:
    >>> attention = MultiHeadAttention(num_heads=2)
    >>> context, weights = attention(ops.ones((2, 8)), ops.ones((2, 5, 12)))
    >>> tuple(context.shape), tuple(weights.shape)
    ((2, 12), (2, 5))

    Reference:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762)
    """

    def __init__(self, num_heads=4, key_dim=None, **kwargs):
        super().__init__(**kwargs)
        check_positive_int("num_heads", num_heads)
        if key_dim is not None:
            check_positive_int("key_dim", key_dim)
        self.num_heads = num_heads
        self.key_dim = key_dim

    def build(self, query_shape, memory_shape, memory_mask_shape=None):
        memory_dim = memory_shape[-1]
        self.head_dim = self.key_dim or max(1, memory_dim // self.num_heads)
        width = self.num_heads * self.head_dim
        policy = self.dtype_policy
        self.query_dense = keras.layers.Dense(
            width, use_bias=False, dtype=policy, name="query_dense"
        )
        # Keys and values in one projection: one tensor for the decoder state to carry.
        self.memory_dense = keras.layers.Dense(
            2 * width, use_bias=False, dtype=policy, name="memory_dense"
        )
        self.output_dense = keras.layers.Dense(
            memory_dim, use_bias=False, dtype=policy, name="output_dense"
        )
        self.query_dense.build(query_shape)
        self.memory_dense.build(memory_shape)
        self.output_dense.build((None, width))
        self.built = True

    def prepare_memory(self, memory):
        return self.memory_dense(memory)

    def attend(self, query, keys, memory, memory_mask=None):
        context, weights = self.attend_heads(query, keys, memory_mask)
        return context, ops.mean(weights, axis=-2)

    def attend_heads(self, query, keys, memory_mask=None):
        """Attention with each head's weights, given `keys = prepare_memory(memory)`.

        Returns:
            `(context, weights)`: `(batch_size, [target_length,] memory_dim)` in
            the compute dtype and float32 `(batch_size, [target_length,]
            num_heads, source_length)`.
        """
        one_step = len(query.shape) == 2
        # A one-step query is projected while rank 2 (see `Attention`).
        queries = self.query_dense(query)
        if one_step:
            queries = ops.expand_dims(queries, 1)
        key_heads, value_heads = ops.split(keys, 2, axis=-1)
        queries, key_heads, value_heads = (
            self._split_heads(x) for x in (queries, key_heads, value_heads)
        )
        scores = ops.matmul(queries, ops.swapaxes(key_heads, 2, 3))  # (B, H, T, S)
        scores = ops.cast(scores, "float32") / math.sqrt(self.head_dim)
        mask = None if memory_mask is None else memory_mask[:, None, None, :]
        weights = masked_softmax(scores, mask)
        heads = ops.matmul(ops.cast(weights, value_heads.dtype), value_heads)  # (B, H, T, K)
        heads = ops.transpose(heads, (0, 2, 1, 3))
        heads = ops.reshape(heads, (ops.shape(heads)[0], -1, self.num_heads * self.head_dim))
        weights = ops.transpose(weights, (0, 2, 1, 3))  # (B, T, H, S)
        if one_step:
            heads, weights = heads[:, 0], weights[:, 0]
        return self.output_dense(heads), weights

    def _split_heads(self, x):
        """`(B, L, H * K) -> (B, H, L, K)`."""
        x = ops.reshape(x, (ops.shape(x)[0], -1, self.num_heads, self.head_dim))
        return ops.transpose(x, (0, 2, 1, 3))

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim}
