"""Small tensor helpers shared by layers, decoders and metrics (exportable ops only)."""

from keras import ops


def best_token(logits):
    """The highest-scoring id along the last axis, as int32 (one rank less than `logits`).

    `top_k` rather than `argmax`: the latter lowers to a Flex-only TFLite op
    (`BitwiseAnd`). Ties go to the lowest id.
    """
    _, indices = ops.top_k(ops.cast(logits, "float32"), 1)
    return ops.cast(indices[..., 0], "int32")


def write_at(buffer, update, position, axis):
    """`buffer` with `update` written at index `position` of `axis` (in place in a loop).

    `update` has size 1 along `axis`. Lowers to `DynamicUpdateSlice`, which
    builtins-only TFLite supports (unlike `TensorArray`). Not differentiable
    outside XLA: training loops use `write_row`.
    """
    start = [ops.convert_to_tensor(0, "int32")] * len(buffer.shape)
    start[axis] = ops.cast(position, "int32")
    return ops.slice_update(buffer, ops.stack(start), update)


def write_row(buffer, values, t):
    """`buffer (B, T, ...)` with `values (B, ...)` written at time `t`, differentiably.

    A scatter, not `slice_update`: TensorFlow has no gradient for the latter
    outside XLA, and the teacher-forcing loop trains.
    """
    rows = ops.arange(ops.shape(buffer)[0], dtype="int32")
    indices = ops.stack([rows, ops.full_like(rows, t)], axis=1)
    return ops.scatter_update(buffer, indices, values)
