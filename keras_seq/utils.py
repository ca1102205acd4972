"""Small tensor helpers shared by layers and decoders (exportable ops only)."""

from keras import ops


def write_at(buffer, update, position, axis):
    """`buffer` with `update` written at index `position` of `axis` (in place in a loop).

    `update` has size 1 along `axis`. Lowers to `DynamicUpdateSlice`, which
    builtins-only TFLite supports (unlike `TensorArray`).
    """
    start = [ops.convert_to_tensor(0, "int32")] * len(buffer.shape)
    start[axis] = ops.cast(position, "int32")
    return ops.slice_update(buffer, ops.stack(start), update)
