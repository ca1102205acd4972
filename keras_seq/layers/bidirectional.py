"""Bidirectional wrapper for Keras RNN layers that merges outputs and states."""

import keras
from keras import ops

MERGE_MODES = ("concat", "sum", "ave", "mul", None)
STATE_MERGES = ("concat", "sum", "ave", None)


def _merge(first, second, mode):
    if mode == "concat":
        return ops.concatenate([first, second], axis=-1)
    if mode == "sum":
        return first + second
    if mode == "ave":
        return (first + second) / 2
    if mode == "mul":
        return first * second
    raise ValueError(f"Unknown merge mode {mode!r}")


def _with_policy(layer, policy):
    if layer.dtype_policy.name == policy.name:
        return layer
    return layer.__class__.from_config({**layer.get_config(), "dtype": policy})


@keras.saving.register_keras_serializable(package="keras_seq")
class Bidirectional(keras.layers.Layer):
    """Runs an RNN layer forwards and backwards and merges outputs and states.

    Unlike `keras.layers.Bidirectional`, the final states of the two directions
    are merged (`state_merge`) so that they can initialise a decoder directly, and
    every `return_state` x mask x `merge_mode` combination works. With a
    right-padded mask the backward direction starts at the last real token, so
    every real position gets exactly what the unpadded sequence gives.

    Args:
        layer: a `keras.layers.RNN` instance (`LSTM`, `GRU`, `SimpleRNN`, `RNN`).
            It becomes the forward layer.
        merge_mode: how outputs are combined: `"concat"`, `"sum"`, `"ave"`,
            `"mul"`, or `None` (both outputs returned separately).
        state_merge: how final states are combined, component by component:
            `"concat"`, `"sum"`, `"ave"`, or `None` (forward states then backward
            states).
        backward_layer: optional RNN layer for the backward direction; by default
            a copy of `layer`'s config running the other way.
        **kwargs: base layer keyword arguments. An explicit `dtype` also applies
            to the wrapped layers (they are re-created from their configs).

    Call arguments:
        sequences: float tensor `(batch_size, time, features)`.
        mask: optional bool tensor `(batch_size, time)`, True = real step.
        initial_state: optional list of the forward then backward initial states.
        training: Python bool.

    Returns:
        The merged output (or `[forward, backward]` with `merge_mode=None`); with
        `return_state=True` on the wrapped layer, the flat list
        `[output(s), *merged_states]`.

    Raises:
        ValueError: for an unknown `merge_mode` or `state_merge`, or a wrapped layer
            that is not a Keras RNN layer.

    Example:
    >>> encoder = Bidirectional(keras.layers.LSTM(4, return_sequences=True,
    ...                                           return_state=True))
    >>> output, h, c = encoder(ops.ones((2, 3, 5)))
    >>> tuple(output.shape), tuple(h.shape)
    ((2, 3, 8), (2, 8))
    """

    def __init__(
        self, layer, merge_mode="concat", state_merge="concat", backward_layer=None, **kwargs
    ):
        if not isinstance(layer, keras.layers.RNN):
            raise ValueError(
                "`layer` must be a Keras RNN layer (LSTM, GRU, SimpleRNN or RNN). "
                f"Received: layer={layer!r}"
            )
        if merge_mode not in MERGE_MODES:
            raise ValueError(
                f"`merge_mode` must be one of {MERGE_MODES}. Received: merge_mode={merge_mode!r}"
            )
        if state_merge not in STATE_MERGES:
            raise ValueError(
                f"`state_merge` must be one of {STATE_MERGES}. "
                f"Received: state_merge={state_merge!r}"
            )
        kwargs.setdefault("name", f"bidirectional_{layer.name}")
        super().__init__(**kwargs)
        if kwargs.get("dtype") is not None:
            layer = _with_policy(layer, self.dtype_policy)
            if backward_layer is not None:
                backward_layer = _with_policy(backward_layer, self.dtype_policy)
        self.forward_layer = layer
        self._custom_backward = backward_layer is not None
        if backward_layer is None:
            config = layer.get_config()
            config["go_backwards"] = not config["go_backwards"]
            config["name"] = f"backward_{layer.name}"
            backward_layer = layer.__class__.from_config(config)
        elif not isinstance(backward_layer, keras.layers.RNN):
            raise ValueError(
                f"`backward_layer` must be a Keras RNN layer. Received: {backward_layer!r}"
            )
        self.backward_layer = backward_layer
        self.merge_mode = merge_mode
        self.state_merge = state_merge
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True

    @property
    def num_states(self):
        """Number of state tensors of one direction (2 for LSTM, 1 for GRU)."""
        state_size = self.forward_layer.cell.state_size
        return len(state_size) if isinstance(state_size, (list, tuple)) else 1

    def build(self, sequences_shape, mask_shape=None, initial_state_shape=None):
        self.forward_layer.build(sequences_shape)
        self.backward_layer.build(sequences_shape)
        self.built = True

    def call(self, sequences, mask=None, initial_state=None, training=None):
        forward_state = backward_state = None
        if initial_state is not None:
            forward_state = list(initial_state[: self.num_states])
            backward_state = list(initial_state[self.num_states :])
        forward = self.forward_layer(
            sequences, mask=mask, initial_state=forward_state, training=training
        )
        backward = self.backward_layer(
            sequences, mask=mask, initial_state=backward_state, training=training
        )
        if self.return_state:
            forward, *forward_states = forward
            backward, *backward_states = backward
        if self.return_sequences:
            backward = ops.flip(backward, axis=1)
        if self.merge_mode is None:
            outputs = [forward, backward]
        else:
            outputs = [_merge(forward, backward, self.merge_mode)]
        if not self.return_state:
            return outputs if self.merge_mode is None else outputs[0]
        if self.state_merge is None:
            states = forward_states + backward_states
        else:
            states = [
                _merge(f, b, self.state_merge)
                for f, b in zip(forward_states, backward_states, strict=True)
            ]
        return outputs + states

    def compute_mask(self, sequences, mask=None):
        output_mask = mask if self.return_sequences else None
        output_masks = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if not self.return_state:
            return output_masks if self.merge_mode is None else output_mask
        num_states = self.num_states * (2 if self.state_merge is None else 1)
        return output_masks + [None] * num_states

    def get_config(self):
        config = {
            **super().get_config(),
            "layer": keras.saving.serialize_keras_object(self.forward_layer),
            "merge_mode": self.merge_mode,
            "state_merge": self.state_merge,
        }
        if self._custom_backward:
            config["backward_layer"] = keras.saving.serialize_keras_object(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        if config.get("backward_layer") is not None:
            config["backward_layer"] = keras.saving.deserialize_keras_object(
                config["backward_layer"]
            )
        return cls(**config)
