"""Multi-step forecasting with an attention encoder-decoder over real values.

`build_forecaster` makes the training model (teacher forcing, or scheduled
sampling driven by `ks.callbacks.ScheduledSampling`); `forecast` rolls the
decoder out on its own forecasts inside the graph, as `generate` does for text.
Each window is centred and scaled by its own past values (`WindowScaler`), so
one model serves a series whose level drifts, and the outputs are in the
series' units.
"""

import keras
import numpy as np
from keras import ops

from keras_seq.layers.bridge import Bridge
from keras_seq.layers.forecast_decoder import ForecastDecoder
from keras_seq.layers.series_encoder import SeriesEncoder

INPUTS = ("past_values", "past_features", "future_features", "future_values")


@keras.saving.register_keras_serializable(package="keras_seq")
class WindowScaler(keras.layers.Layer):
    """`(scaled, loc, scale)` of past values `(batch_size, lookback)`: each window
    centred on its mean and divided by its standard deviation (floored, so a
    flat window gives zeros). `loc` and `scale` are `(batch_size, 1)`, float32."""

    def call(self, values):
        values = ops.cast(values, "float32")
        loc = ops.mean(values, axis=1, keepdims=True)
        spread = ops.sqrt(ops.mean(ops.square(values - loc), axis=1, keepdims=True))
        scale = ops.maximum(spread, 1e-6 + 1e-4 * ops.abs(loc))
        return (values - loc) / scale, loc, scale

    def compute_output_spec(self, values):
        rows = (values.shape[0], 1)
        return (
            keras.KerasTensor(values.shape, "float32"),
            keras.KerasTensor(rows, "float32"),
            keras.KerasTensor(rows, "float32"),
        )


def build_forecaster(
    lookback,
    horizon,
    num_features=0,
    embedding_dim=32,
    units=64,
    attention="luong_general",
    cell="lstm",
    encoder_layers=1,
    bidirectional=True,
    dropout=0.0,
    quantiles=(0.1, 0.5, 0.9),
    attend_before_cell=None,
    num_heads=4,
    scheduled_sampling="loop",
    seed=None,
    name="forecaster",
):
    """A functional forecaster: `lookback` past values in, `horizon` steps' quantiles out.

    Inputs (a dict): `past_values` float `(B, lookback)`, `future_values` float
    `(B, horizon)` (the truth, read by teacher forcing: the value fed at step `t`
    is the one of step `t - 1`), and with `num_features` > 0 `past_features`
    `(B, lookback, num_features)` and `future_features` `(B, horizon,
    num_features)` (known ahead: calendar features). Output: float32
    `(B, horizon, len(quantiles))` in the series' units. Train it with
    `ks.losses.QuantileLoss(quantiles)`; forecast with `forecast`.

    The layers are named `scaler`, `encoder` (`SeriesEncoder`), `bridge` and
    `decoder` (`ForecastDecoder`). `attention=None` is the seq2seq model without
    attention (the decoder starts from the encoder's final states only).
    """
    for key, value in (("lookback", lookback), ("horizon", horizon)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"`{key}` must be a positive integer. Received: {value!r}")
    encoder = SeriesEncoder(
        1 + num_features, embedding_dim, units, num_layers=encoder_layers, cell=cell,
        bidirectional=bidirectional, dropout=dropout, name="encoder",
    )  # fmt: skip
    decoder_units = encoder.output_dim
    decoder = ForecastDecoder(
        num_features, embedding_dim, decoder_units, quantiles=quantiles, attention=attention,
        cell=cell, dropout=dropout, attend_before_cell=attend_before_cell, num_heads=num_heads,
        scheduled_sampling=scheduled_sampling, seed=seed, name="decoder",
    )  # fmt: skip
    bridge = Bridge("last", units=decoder_units, num_layers=1, cell=cell, name="bridge")
    inputs = {
        "past_values": keras.Input((lookback,), name="past_values"),
        "future_values": keras.Input((horizon,), name="future_values"),
    }
    if num_features:
        inputs["past_features"] = keras.Input((lookback, num_features), name="past_features")
        inputs["future_features"] = keras.Input((horizon, num_features), name="future_features")
    scaled, loc, scale = WindowScaler(name="scaler")(inputs["past_values"])
    memory, mask, states = encoder(_with_features(scaled, inputs.get("past_features")))
    previous = ops.concatenate(
        [scaled[:, -1:], (inputs["future_values"][:, :-1] - loc) / scale], axis=1
    )
    outputs = decoder(
        _with_features(previous, inputs.get("future_features")),
        memory,
        memory_mask=mask,
        encoder_state=bridge(states, memory, mask),
    )
    outputs = ops.cast(outputs, "float32") * scale[:, :, None] + loc[:, :, None]
    return keras.Model(inputs, outputs, name=name)


def _with_features(values, features):
    """`(B, T, 1 + C)`: the values `(B, T)` beside their features `(B, T, C)`, if any."""
    values = ops.cast(values, "float32")[:, :, None]
    if features is None:
        return values
    return ops.concatenate([values, ops.cast(features, "float32")], axis=-1)


def forecaster_parts(model):
    """`(scaler, encoder, bridge, decoder)` of a `build_forecaster` model, or a ValueError."""
    try:
        parts = tuple(model.get_layer(name) for name in ("scaler", "encoder", "bridge", "decoder"))
    except ValueError:
        parts = ()
    if len(parts) != 4 or not isinstance(parts[3], ForecastDecoder):
        raise ValueError(f"Expected a model built by build_forecaster. Received: {model!r}")
    return parts


def forecast(model, past_values, past_features=None, future_features=None):
    """Forecasts `horizon` steps after each window, the decoder fed its own forecasts.

    Args:
        model: a `build_forecaster` model.
        past_values: float `(batch_size, lookback)`.
        past_features, future_features: the features, for a model with some.

    Returns:
        `(quantiles, attention)`: float32 `(batch_size, horizon, len(quantiles))`
        in the series' units, sorted along the last axis (quantiles never cross),
        and each step's attention over the past, float32 `(batch_size, horizon,
        lookback)` (zeros without attention).
    """
    scaler, encoder, bridge, decoder = forecaster_parts(model)
    horizon = model.input["future_values"].shape[1]
    if (past_features is None) != (decoder.num_features == 0):
        raise ValueError(
            f"The model reads {decoder.num_features} feature(s) per step: pass "
            "past_features and future_features" + (" (both)." if decoder.num_features else
                                                   " only to a model built with num_features.")
        )  # fmt: skip
    scaled, loc, scale = scaler(past_values)
    memory, mask, states = encoder(_with_features(scaled, past_features))
    state = decoder.initial_state(memory, mask, bridge(states, memory, mask))
    first = ops.pad(scaled[:, -1:], [[0, 0], [0, horizon - 1]])  # later values: its own
    outputs, attention = decoder.forecast_sequence(_with_features(first, future_features), state)
    outputs = ops.sort(ops.cast(outputs, "float32"), axis=-1)
    return outputs * scale[:, :, None] + loc[:, :, None], attention


def interval_scales(quantiles, actuals, coverage=0.8):
    """Per-step factors that make the outer interval cover `coverage` of `actuals`.

    Split conformal calibration on held-out windows (validation, never test):
    each actual's distance from the point forecast is measured in the interval's
    own half-width on its side; the factor of step `h` is the conformal quantile
    of those distances, so `calibrate_intervals(q, factors)` covers `coverage`
    of new windows (above 1: the model's intervals were too narrow, as a
    decoder trained by teacher forcing makes them).

    Args:
        quantiles: `forecast`'s `(N, horizon, Q)` on the held-out windows, Q >= 3.
        actuals: `(N, horizon)`.
        coverage: in (0, 1); 0.8 for the interval of the quantiles 0.1 and 0.9.

    Returns:
        float32 `(horizon,)`.
    """
    quantiles, actuals = np.asarray(quantiles, float), np.asarray(actuals, float)
    if quantiles.ndim != 3 or quantiles.shape[-1] < 3 or quantiles.shape[:2] != actuals.shape:
        raise ValueError(
            "Expected quantiles (N, horizon, Q >= 3) and actuals (N, horizon). Received "
            f"shapes {quantiles.shape} and {actuals.shape}."
        )
    point = quantiles[..., quantiles.shape[-1] // 2]
    below = np.maximum(point - quantiles[..., 0], 1e-9)
    above = np.maximum(quantiles[..., -1] - point, 1e-9)
    distance = np.where(actuals < point, (point - actuals) / below, (actuals - point) / above)
    count = len(actuals)
    if not 0 < coverage < 1:
        raise ValueError(f"`coverage` must be in (0, 1). Received: {coverage!r}")
    level = min(1.0, np.ceil((count + 1) * coverage) / count)
    return np.quantile(distance, level, axis=0).astype("float32")


def calibrate_intervals(quantiles, scales):
    """`quantiles (N, horizon, Q)` spread about their middle one by `scales (horizon,)`."""
    point = quantiles[..., quantiles.shape[-1] // 2 : quantiles.shape[-1] // 2 + 1]
    return point + (quantiles - point) * ops.cast(scales, "float32")[:, None]
