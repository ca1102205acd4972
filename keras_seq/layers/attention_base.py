"""Shared machinery of the attention layers: masked float32 softmax and context."""

import keras
from keras import ops


def masked_softmax(scores, mask=None):
    """Softmax over the last axis in float32, with masked positions exactly 0.

    A row whose positions are all masked gets all-zero weights (finite, no NaN),
    under any dtype policy: the scores are cast to float32 and the masking uses
    `where`, never a large negative constant.

    Args:
        scores: float tensor `(..., source_length)`.
        mask: optional bool tensor broadcastable to `scores`; True = attend.

    Returns:
        float32 tensor shaped like `scores`.
    """
    scores = ops.cast(scores, "float32")
    if mask is None:
        return ops.softmax(scores, axis=-1)
    mask = ops.broadcast_to(ops.cast(mask, "bool"), ops.shape(scores))
    lowest = ops.full_like(scores, float.fromhex("-0x1.fffffep+127"))  # float32 min
    row_max = ops.max(ops.where(mask, scores, lowest), axis=-1, keepdims=True)
    any_real = ops.any(mask, axis=-1, keepdims=True)
    row_max = ops.stop_gradient(ops.where(any_real, row_max, ops.zeros_like(row_max)))
    shifted = ops.where(mask, scores - row_max, ops.zeros_like(scores))
    exps = ops.where(mask, ops.exp(shifted), ops.zeros_like(scores))
    total = ops.sum(exps, axis=-1, keepdims=True)
    return exps / ops.where(total > 0, total, ops.ones_like(total))


def additive_scores(projected_query, keys, score_dense):
    """`v^T tanh(q_t + k_s)` for every query/key pair: `(B, [T,] U), (B, S, U) -> (B, T, S)`.

    `v` is the kernel of `score_dense` (a bias-free `Dense(1)`), applied with
    `einsum` rather than through the layer: a `Dense` on the rank-4 hidden tensor
    lowers to a `Tensordot` whose gradient inside a decoding loop XLA cannot
    compile (a transpose permutation computed at run time).
    """
    if len(projected_query.shape) == 2:
        projected_query = ops.expand_dims(projected_query, 1)
    hidden = ops.tanh(ops.expand_dims(projected_query, 2) + ops.expand_dims(keys, 1))
    v = ops.cast(score_dense.kernel[:, 0], hidden.dtype)
    return ops.einsum("btsu,u->bts", hidden, v)


class Attention(keras.layers.Layer):
    """Base of `BahdanauAttention` and `LuongAttention`.

    Subclasses define `prepare_memory(memory) -> keys` (run once per source
    sentence) and `score(query, keys) -> scores` with `query (B, Dq)` (one
    step) or `(B, T, Dq)`, `keys (B, S, K)` and `scores (B, T, S)` (`T = 1` for
    one step). Projections of a one-step query stay rank 2: a `Dense` on a
    rank-3 tensor inside a decoding loop has a gradient XLA cannot compile.
    This class handles masking and the context.
    """

    def call(self, query, memory, memory_mask=None):
        return self.attend(query, self.prepare_memory(memory), memory, memory_mask)

    def prepare_memory(self, memory):
        raise NotImplementedError

    def score(self, query, keys):
        raise NotImplementedError

    def attend(self, query, keys, memory, memory_mask=None):
        """Attention of `query` over `memory`, given `keys = prepare_memory(memory)`.

        Args:
            query: `(batch_size, query_dim)` or `(batch_size, target_length, query_dim)`.
            keys: the output of `prepare_memory(memory)`.
            memory: `(batch_size, source_length, memory_dim)`.
            memory_mask: optional bool `(batch_size, source_length)`.

        Returns:
            `(context, weights)`: `(batch_size, [target_length,] memory_dim)` in the
            compute dtype and `(batch_size, [target_length,] source_length)` float32.
        """
        one_step = len(query.shape) == 2
        scores = self.score(query, keys)
        mask = None if memory_mask is None else ops.expand_dims(memory_mask, 1)
        weights = masked_softmax(scores, mask)
        context = ops.matmul(ops.cast(weights, memory.dtype), memory)
        if one_step:
            context, weights = context[:, 0], weights[:, 0]
        return context, weights

    def compute_output_shape(self, query_shape, memory_shape, memory_mask_shape=None):
        lead = tuple(query_shape[:-1])
        return lead + (memory_shape[-1],), lead + (memory_shape[1],)

    def compute_output_spec(self, query, memory, memory_mask=None):
        context_shape, weights_shape = self.compute_output_shape(query.shape, memory.shape)
        return (
            keras.KerasTensor(context_shape, dtype=self.compute_dtype),
            keras.KerasTensor(weights_shape, dtype="float32"),
        )
