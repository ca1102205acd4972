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
