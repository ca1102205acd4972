"""RNN construction shared by the keras_seq layers (private)."""

import keras

from keras_seq.checks import check_choice

CELLS = ("lstm", "gru", "rnn")
RNN_LAYERS = {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN"}


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
