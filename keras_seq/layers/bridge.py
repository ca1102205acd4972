"""Bridges from an encoder's final states to a decoder's initial states."""

import keras
from keras import ops

from keras_seq.checks import check_choice, check_positive_int
from keras_seq.layers._common import check_cell, num_cell_states

BRIDGES = ("zero", "last", "mean", "dense")


def masked_mean(memory, memory_mask):
    """Mean of `memory (B, S, D)` over the positions where `memory_mask` is True."""
    weights = ops.cast(ops.expand_dims(memory_mask, -1), memory.dtype)
    count = ops.maximum(ops.sum(weights, axis=1), ops.cast(1, memory.dtype))
    return ops.sum(memory * weights, axis=1) / count


@keras.saving.register_keras_serializable(package="keras_seq")
class Bridge(keras.layers.Layer):
    """Maps encoder final states to the initial states of a stacked decoder.

    Kinds:
    - `"zero"`: all-zero decoder states.
    - `"last"`: decoder layer `i` starts from encoder layer `i`'s final states
      (both directions concatenated for a bidirectional encoder); decoder layers
      without an encoder counterpart start from zeros. Widths must match.
    - `"mean"`: every decoder layer's hidden state is the mean of the memory over
      real positions (an LSTM's cell state starts at zero). Widths must match.
    - `"dense"`: a learned `tanh` projection of all encoder final states,
      concatenated, to each decoder state (any widths).

    Args:
        kind: one of `"zero"`, `"last"`, `"mean"`, `"dense"`.
        units: positive int, the decoder's units.
        num_layers: positive int, the decoder's number of layers.
        cell: the decoder cell, `"lstm"`, `"gru"` or `"rnn"`.
        **kwargs: base layer keyword arguments.

    Call arguments:
        encoder_states: list (one per encoder layer) of lists of
            `(batch_size, width)` tensors.
        memory: `(batch_size, source_length, memory_dim)`.
        memory_mask: bool `(batch_size, source_length)`.

    Returns:
        A list (one per decoder layer) of lists of `(batch_size, units)` tensors:
        `[h, c]` for LSTM, `[h]` for GRU.

    Raises:
        ValueError: for an unknown kind or cell, or, with `"last"` or `"mean"`,
            encoder widths that differ from `units`.
    """

    def __init__(self, kind="last", units=None, num_layers=1, cell="lstm", **kwargs):
        super().__init__(**kwargs)
        check_choice("kind", kind, BRIDGES)
        check_positive_int("units", units)
        check_positive_int("num_layers", num_layers)
        check_cell(cell)
        self.kind = kind
        self.units = units
        self.num_layers = num_layers
        self.cell = cell
        self.num_states = num_cell_states(cell)
        self.projections = [
            [
                keras.layers.Dense(
                    units, activation="tanh", dtype=self.dtype_policy, name=f"dense_{i}_{j}"
                )
                for j in range(self.num_states)
            ]
            for i in range(num_layers if kind == "dense" else 0)
        ]

    def build(self, encoder_states_shape, memory_shape, memory_mask_shape=None):
        widths = [shape[-1] for layer in encoder_states_shape for shape in layer]
        if self.kind == "last" and any(w != self.units for w in widths):
            raise ValueError(
                f"Bridge(kind='last') needs encoder state widths equal to the decoder "
                f"units ({self.units}). Received widths {widths}; use kind='dense' or set "
                "the decoder units to the encoder output width."
            )
        if self.kind == "mean" and memory_shape[-1] != self.units:
            raise ValueError(
                f"Bridge(kind='mean') needs the memory width ({memory_shape[-1]}) to equal "
                f"the decoder units ({self.units}); use kind='dense'."
            )
        for layer in self.projections:
            for dense in layer:
                dense.build((None, sum(widths)))
        self.built = True

    def call(self, encoder_states, memory, memory_mask=None):
        if memory_mask is None:
            memory_mask = ops.ones(ops.shape(memory)[:2], dtype="bool")
        batch_size = ops.shape(memory)[0]
        zeros = ops.zeros((batch_size, self.units), dtype=memory.dtype)
        if self.kind == "zero":
            return [[zeros] * self.num_states for _ in range(self.num_layers)]
        if self.kind == "mean":
            mean = masked_mean(memory, memory_mask)
            return [[mean] + [zeros] * (self.num_states - 1) for _ in range(self.num_layers)]
        if self.kind == "dense":
            flat = ops.concatenate([s for layer in encoder_states for s in layer], axis=-1)
            return [[dense(flat) for dense in layer] for layer in self.projections]
        states = []
        for i in range(self.num_layers):
            layer = list(encoder_states[i]) if i < len(encoder_states) else [zeros]
            layer = (layer + [zeros] * self.num_states)[: self.num_states]
            states.append(layer)
        return states

    def get_config(self):
        return {
            **super().get_config(),
            "kind": self.kind,
            "units": self.units,
            "num_layers": self.num_layers,
            "cell": self.cell,
        }
