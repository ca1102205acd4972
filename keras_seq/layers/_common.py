"""Argument checks and RNN construction shared by the keras_seq layers (private)."""

import keras

CELLS = ("lstm", "gru", "rnn")
RNN_LAYERS = {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN"}


def check_positive_int(name, value):
    """Raises a ValueError naming `name` unless `value` is a positive int."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")


def check_rate(name, value):
    """Raises a ValueError naming `name` unless `0 <= value < 1`."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1:
        raise ValueError(f"`{name}` must be a float in [0, 1). Received: {name}={value!r}")


def check_choice(name, value, choices):
    """Raises a ValueError naming `name` and the `choices` unless `value` is one of them."""
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {choices}. Received: {name}={value!r}")


def check_cell(cell):
    check_choice("cell", cell, CELLS)


def num_cell_states(cell):
    """State tensors per layer: 2 for LSTM (`[h, c]`), 1 for GRU and simple RNN (`[h]`)."""
    return 2 if cell == "lstm" else 1


def make_rnn(cell, units, dtype, name, **kwargs):
    """An LSTM, GRU or simple (tanh) RNN layer returning sequences and state."""
    layer_class = getattr(keras.layers, RNN_LAYERS[cell])
    return layer_class(
        units, return_sequences=True, return_state=True, dtype=dtype, name=name, **kwargs
    )


def embed(layer, inputs, training):
    """`layer.embedding(inputs)` after word dropout (when the layer has it), then dropout."""
    x = layer.embedding(inputs)
    if layer.word_dropout_layer is not None:
        x = layer.word_dropout_layer(x, training=training)
    return layer.dropout_layer(x, training=training)
