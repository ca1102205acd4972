"""Small tensor helpers shared by layers, decoders and metrics (exportable ops only)."""

import tensorflow as tf
from keras import ops


def best_token(logits):
    """The highest-scoring id along the last axis, as int32 (one rank less than `logits`).

    `top_k` rather than `argmax`: the latter lowers to a Flex-only TFLite op
    (`BitwiseAnd`). Ties go to the lowest id.
    """
    _, indices = ops.top_k(ops.cast(logits, "float32"), 1)
    return ops.cast(indices[..., 0], "int32")


# `row_top_k`'s blocks: about this many columns each, and how many a row needs before they pay.
TOP_K_BLOCK, TOP_K_MIN_BLOCKS = 128, 8


def top_k_block(columns):
    """The block width of `row_top_k`: a divisor of `columns` in [64, 256], the nearest
    to `TOP_K_BLOCK` (no padding then), else `TOP_K_BLOCK` itself."""
    divisors = [width for width in range(64, 257) if columns % width == 0]
    return min(divisors, key=lambda width: abs(width - TOP_K_BLOCK), default=TOP_K_BLOCK)


def row_top_k(values, k):
    """`ops.top_k(values, k)` of a float `(rows, columns)` tensor: the same values and
    indices (ties to the lower index), computed in two rounds when `columns` is known
    and large.

    TFLite's `TOPK_V2` compares element by element: over five rows of 10,000 logits it
    took 0.2-0.3 ms, several times the log-sum-exp beside it (docs/performance.md). The
    first round takes each block of columns' maximum (a vectorised reduction); the `k`
    blocks with the highest maxima hold the `k` best values (a block left out has `k`
    values at least as high, each at a lower index when tied), so the second round is a
    `top_k` over their columns, gathered in column order so that ties still go to the
    lower index. When no block width divides `columns`, the last block is padded with
    the row's minimum, which its padded columns, past every real one, never win a tie
    against (not `-inf`: TFLite pads with the lowest finite float instead).
    """
    columns = values.shape[-1]
    if columns is None or columns < TOP_K_MIN_BLOCKS * k * TOP_K_BLOCK:
        return ops.top_k(values, k)
    width = top_k_block(columns)
    blocks = -(-columns // width)
    if blocks * width != columns:
        lowest = ops.min(values, axis=-1, keepdims=True)
        filler = ops.repeat(lowest, blocks * width - columns, axis=-1)
        values = ops.concatenate([values, filler], axis=-1)
    grouped = ops.reshape(values, (-1, blocks, width))
    _, chosen = ops.top_k(ops.max(grouped, axis=-1), k)
    chosen = ops.sort(ops.cast(chosen, "int32"), axis=-1)  # column order: ties as top_k's
    candidates = ops.reshape(tf.gather(grouped, chosen, batch_dims=1), (-1, k * width))
    top_values, position = ops.top_k(candidates, k)
    position = ops.cast(position, "int32")
    block = ops.take_along_axis(chosen, ops.floor_divide(position, width), axis=1)
    return top_values, block * width + ops.mod(position, width)


def draw_token(logits, seed):
    """An id drawn from `softmax(logits)` along the last axis, as int32.

    The Gumbel-max trick (`top_k` of logits plus Gumbel noise) with stateless
    uniform noise keyed by `seed` (int `(2,)`): no multinomial op and no random
    state, so it runs in loops, under XLA and in exported graphs.
    """
    uniform = tf.random.stateless_uniform(ops.shape(logits), seed, 1e-9, 1.0)
    return best_token(ops.cast(logits, "float32") - ops.log(-ops.log(uniform)))


def in_xla_context():
    """Whether the code being traced will be compiled by XLA (`jit_compile=True`).

    Read from TensorFlow's control-flow context (an internal API, in this one
    place): XLA cannot compile a `while_loop` that captures variables inside a
    `cond`, so layers choose their branch at trace time there.
    """
    from tensorflow.python.framework import ops as tf_ops
    from tensorflow.python.ops import control_flow_util

    return control_flow_util.GraphOrParentsInXlaContext(tf_ops.get_default_graph())


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
