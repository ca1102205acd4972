"""Stacked (bi)directional recurrent encoder."""

import keras
from keras import ops

from keras_seq.checks import check_positive_int, check_rate
from keras_seq.layers._common import check_cell, embed, make_rnn
from keras_seq.layers.bidirectional import Bidirectional
from keras_seq.layers.word_dropout import make_word_dropout


@keras.saving.register_keras_serializable(package="keras_seq")
class RNNEncoder(keras.layers.Layer):
    """Embeds source ids and runs a stack of (bi)directional LSTM or GRU layers.

    Positions equal to `pad_id` are masked; batches must be right-padded (the
    fused GPU kernels need it). Between layers: dropout, then optionally a
    residual connection (from the second layer on) and layer normalisation.

    Args:
        vocab_size: positive int, source vocabulary size.
        embedding_dim: positive int.
        units: positive int, units of each direction of each layer.
        num_layers: positive int. Defaults to 1.
        cell: `"lstm"`, `"gru"` or `"rnn"` (simple tanh RNN). Defaults to `"lstm"`.
        bidirectional: bool. Defaults to True; the two directions' outputs and
            final states are concatenated (width `2 * units`).
        dropout: float in [0, 1), applied to the embeddings and between layers.
        word_dropout: float in [0, 1), the probability of dropping a whole source
            token's embedding in training (`WordDropout`). Defaults to 0.
        residual: bool, add each layer's input to its output from layer 2 on.
        layer_norm: bool, layer-normalise each layer's output.
        pad_id: int, the padding id. Defaults to 0.
        **kwargs: base layer keyword arguments.

    Call arguments:
        source_ids: int tensor `(batch_size, source_length)`, right-padded.
        training: Python bool.

    Returns:
        `(memory, memory_mask, states)`: memory `(batch_size, source_length,
        output_dim)`, bool mask `(batch_size, source_length)`, and for each layer
        the list of its final states (`[h, c]` for LSTM, `[h]` for GRU), each
        `(batch_size, output_dim)`.
    """

    def __init__(
        self,
        vocab_size,
        embedding_dim,
        units,
        num_layers=1,
        cell="lstm",
        bidirectional=True,
        dropout=0.0,
        residual=False,
        layer_norm=False,
        pad_id=0,
        word_dropout=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (
            ("vocab_size", vocab_size),
            ("embedding_dim", embedding_dim),
            ("units", units),
            ("num_layers", num_layers),
        ):
            check_positive_int(name, value)
        check_cell(cell)
        check_rate("dropout", dropout)
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.units = units
        self.num_layers = num_layers
        self.cell = cell
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.residual = residual
        self.layer_norm = layer_norm
        self.pad_id = pad_id
        self.output_dim = units * (2 if bidirectional else 1)
        self.embedding = self._input_layer()
        self.rnn_layers = []
        for i in range(num_layers):
            rnn = make_rnn(cell, units, self.dtype_policy, f"{cell}_{i}")
            if bidirectional:
                rnn = Bidirectional(rnn, dtype=self.dtype_policy, name=f"bidirectional_{i}")
            self.rnn_layers.append(rnn)
        self.norm_layers = [
            keras.layers.LayerNormalization(dtype=self.dtype_policy, name=f"layer_norm_{i}")
            for i in range(num_layers if layer_norm else 0)
        ]
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self.word_dropout = word_dropout
        self.word_dropout_layer = make_word_dropout(word_dropout, self.dtype_policy)

    def _input_layer(self):
        """What turns the inputs into the first layer's: the source embedding."""
        return keras.layers.Embedding(
            self.vocab_size, self.embedding_dim, dtype=self.dtype_policy, name="embedding"
        )

    def _mask(self, inputs):
        return ops.not_equal(inputs, self.pad_id)

    def build(self, source_ids_shape):
        self.embedding.build(source_ids_shape)
        width = self.embedding_dim
        for i, rnn in enumerate(self.rnn_layers):
            rnn.build((None, None, width))
            width = self.output_dim
            if self.layer_norm:
                self.norm_layers[i].build((None, None, width))
        self.built = True

    def call(self, source_ids, training=False):
        mask = self._mask(source_ids)
        x = embed(self, source_ids, training)
        states = []
        for i, rnn in enumerate(self.rnn_layers):
            output, *layer_states = rnn(x, mask=mask, training=training)
            states.append(layer_states)
            if i < self.num_layers - 1:
                output = self.dropout_layer(output, training=training)
            if self.residual and i > 0:
                output = output + x
            if self.layer_norm:
                output = self.norm_layers[i](output)
            x = output
        return x, mask, states

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "num_layers": self.num_layers,
            "cell": self.cell,
            "bidirectional": self.bidirectional,
            "dropout": self.dropout,
            "residual": self.residual,
            "layer_norm": self.layer_norm,
            "pad_id": self.pad_id,
            "word_dropout": self.word_dropout,
        }
