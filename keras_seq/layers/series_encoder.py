"""A recurrent encoder of real-valued sequences (time series windows)."""

import keras
from keras import ops

from keras_seq.layers.rnn_encoder import RNNEncoder


@keras.saving.register_keras_serializable(package="keras_seq")
class SeriesEncoder(RNNEncoder):
    """`RNNEncoder` over feature vectors: a dense projection instead of an embedding.

    Each position's features (for a forecaster: the scaled value and its
    calendar features) are projected to `embedding_dim`, then run through the
    same stack of (bi)directional LSTM, GRU or simple RNN layers. Windows have
    no padding: every position is real.

    Args:
        num_features: positive int, features per position.
        embedding_dim, units, num_layers, cell, bidirectional, dropout,
            residual, layer_norm: as `RNNEncoder`'s.

    Call arguments:
        inputs: float tensor `(batch_size, length, num_features)`.
        training: Python bool.

    Returns:
        `(memory, memory_mask, states)`, as `RNNEncoder`.
    """

    def __init__(self, num_features, embedding_dim, units, **kwargs):
        kwargs.pop("pad_id", None)
        super().__init__(num_features, embedding_dim, units, **kwargs)
        self.num_features = num_features

    def _input_layer(self):
        return keras.layers.Dense(
            self.embedding_dim, dtype=self.dtype_policy, name="input_projection"
        )

    def _mask(self, inputs):
        if len(inputs.shape) != 3 or inputs.shape[-1] not in (None, self.num_features):
            raise ValueError(
                f"`inputs` must be (batch_size, length, {self.num_features}) features. "
                f"Received shape {tuple(inputs.shape)}."
            )
        return ops.ones(ops.shape(inputs)[:2], dtype="bool")

    def get_config(self):
        config = super().get_config()
        del config["vocab_size"], config["pad_id"]
        return {**config, "num_features": self.num_features}
