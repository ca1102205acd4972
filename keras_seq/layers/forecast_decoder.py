"""A recurrent decoder of real values with attention: multi-step forecasting."""

import keras
from keras import ops

from keras_seq.layers._scheduled_sampling import _position_seed, mix_mask
from keras_seq.layers.attention_decoder import AttentionDecoder
from keras_seq.utils import in_xla_context, write_at, write_row


def check_quantiles(quantiles):
    """`quantiles` as a tuple of increasing floats in (0, 1), or a ValueError."""
    try:
        values = tuple(float(q) for q in quantiles)
    except (TypeError, ValueError):
        values = ()
    if not values or any(not 0 < q < 1 for q in values) or list(values) != sorted(set(values)):
        raise ValueError(
            "`quantiles` must be increasing numbers in (0, 1), e.g. (0.1, 0.5, 0.9). "
            f"Received: {quantiles!r}"
        )
    return values


@keras.saving.register_keras_serializable(package="keras_seq")
class ForecastDecoder(AttentionDecoder):
    """`AttentionDecoder` over real values: each step reads the previous value and
    the step's known features, and predicts quantiles of the next value.

    The attention styles (before or after the cell, any score, multi-head), the
    state (memory and keys inside it), teacher forcing with the fused RNN and
    scheduled sampling are the text decoder's; only the input (a dense
    projection of `[previous value, features]` instead of an embedding) and the
    output (one value per quantile instead of logits) differ.
    `attention=None` keeps the context at zero: the encoder reaches the decoder
    through its final states only (a seq2seq model without attention).

    Feeding back its own forecasts (scheduled sampling, `sampling_probability`):
    at each step after the first, with that probability, the previous value is
    the decoder's own point forecast (the quantile nearest 0.5, without
    gradient) instead of the true one. `forecast_sequence` always feeds back its
    own: that is how it forecasts.

    Args:
        num_features: int >= 0, known features per future step besides the value.
        embedding_dim: positive int, width of the input projection.
        units: positive int.
        quantiles: increasing numbers in (0, 1); the outputs, in this order.
        attention: an `AttentionDecoder` attention, or None (no attention).
        **kwargs: `AttentionDecoder`'s other arguments (`cell`, `num_layers`,
            `dropout`, `attend_before_cell`, `scheduled_sampling`, `seed`, ...).

    Call arguments:
        inputs: float `(batch_size, horizon, 1 + num_features)`: the previous
            value (the last observed one at the first step) and each step's features.
        memory, memory_mask, encoder_state, training: as `AttentionDecoder`'s.

    Returns:
        `(batch_size, horizon, len(quantiles))`.
    """

    def __init__(
        self,
        num_features,
        embedding_dim,
        units,
        quantiles=(0.1, 0.5, 0.9),
        attention="luong_general",
        **kwargs,
    ):
        if not isinstance(num_features, int) or isinstance(num_features, bool) or num_features < 0:
            raise ValueError(f"`num_features` must be an int >= 0. Received: {num_features!r}")
        quantiles = check_quantiles(quantiles)
        kwargs.pop("vocab_size", None)
        super().__init__(len(quantiles), embedding_dim, units, attention or "luong_dot", **kwargs)
        self.uses_attention = attention is not None
        self.num_features = num_features
        self.quantiles = quantiles
        self.point_index = min(range(len(quantiles)), key=lambda i: abs(quantiles[i] - 0.5))

    def _input_layer(self):
        return keras.layers.Dense(
            self.embedding_dim, dtype=self.dtype_policy, name="input_projection"
        )

    def decode_sequence(self, inputs, state, training=False):
        """Teacher forcing (scheduled sampling in training): `(outputs, attention_weights)`."""
        inputs = self._check_inputs(inputs)
        if not training:
            return self._teacher_forced(inputs, state, training)
        seed = self.seed_generator.next()  # once per batch, outside any loop or branch
        probability = ops.convert_to_tensor(self.sampling_probability)
        if self.feeds_cell or in_xla_context():
            return self._run(inputs, state, training, probability, seed)
        return ops.cond(
            probability > 0,
            lambda: self._run(inputs, state, training, probability, seed),
            lambda: self._teacher_forced(inputs, state, training),
        )

    def forecast_sequence(self, inputs, state):
        """Free-running forecast: each step after the first reads the previous point
        forecast (the value column of `inputs` is read at the first step only).
        Returns `(outputs, attention_weights)`; exportable (no scatter, no variable)."""
        return self._run(self._check_inputs(inputs), state, False)

    def _check_inputs(self, inputs):
        width = 1 + self.num_features
        if len(inputs.shape) != 3 or inputs.shape[-1] not in (None, width):
            raise ValueError(
                f"`inputs` must be (batch_size, horizon, {width}): the previous value and "
                f"{self.num_features} feature(s) per step. Received shape {tuple(inputs.shape)}."
            )
        return ops.cast(inputs, self.compute_dtype)

    def _run(self, inputs, state, training, probability=None, seed=None):
        """A loop over the steps. `probability` None: always the own forecast after the
        first step (forecasting); else each step with that probability (training)."""
        batch_size, horizon = ops.shape(inputs)[0], ops.shape(inputs)[1]
        outputs = ops.zeros((batch_size, horizon, self.vocab_size), self.compute_dtype)
        source_length = ops.shape(state["memory"])[1]
        weights = ops.zeros((batch_size, horizon, source_length), "float32")
        write = (
            write_row
            if training
            else lambda buffer, row, t: write_at(buffer, row[:, None], t, axis=1)
        )
        point = self.point_index

        def body(t, previous, outputs, weights, state):
            step = ops.take(inputs, t, axis=1)
            if probability is None:
                own = ops.logical_and(t > 0, ops.ones((batch_size, 1), "bool"))
            else:
                own = mix_mask((batch_size, 1), probability, _position_seed(seed, t, 0), t == 0)
            value = ops.where(own, previous, step[:, :1])
            feature, state = self.step_feature(
                ops.concatenate([value, step[:, 1:]], axis=-1), state, training
            )
            output = self.output_dense(feature)
            previous = ops.stop_gradient(output[:, point : point + 1])
            outputs = write(outputs, output, t)
            weights = write(weights, state["attention_weights"], t)
            return t + 1, previous, outputs, weights, state

        _, _, outputs, weights, _ = ops.while_loop(
            lambda t, *_: t < horizon,
            body,
            (
                ops.convert_to_tensor(0, "int32"),
                ops.zeros((batch_size, 1), self.compute_dtype),
                outputs,
                weights,
                state,
            ),
            maximum_iterations=horizon,
        )
        return outputs, weights

    def compute_output_spec(
        self, inputs, memory, memory_mask=None, encoder_state=None, training=False
    ):
        return keras.KerasTensor(tuple(inputs.shape[:2]) + (self.vocab_size,), self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        del config["vocab_size"], config["sampling"]
        return {
            **config,
            "num_features": self.num_features,
            "quantiles": list(self.quantiles),
            "attention": self.attention if self.uses_attention else None,
        }
