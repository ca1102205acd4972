"""Export of forecasters: a SavedModel (window in, forecast out) and builtins-only TFLite."""

import os

import tensorflow as tf

from keras_seq.export.saved_model import save_atomically
from keras_seq.export.tflite import QUANTIZATIONS, convert_concrete, frozen_function
from keras_seq.export.tflite import write_atomically as write_bytes
from keras_seq.models.forecaster import calibrate_intervals, forecast, forecaster_parts
from keras_seq.models.seq2seq import as_float32


class ForecasterModule(tf.Module):
    """A trained `build_forecaster` model as one exportable TensorFlow module.

    `forecast(past_values, [past_features, future_features])` returns
    `quantiles` `(B, horizon, Q)`, `forecast` (the point forecast, the
    quantile nearest 0.5) `(B, horizon)` and `attention` `(B, horizon,
    lookback)`, in float32, the decoder rolled out in the graph (one `WHILE`).

    Args:
        model: a `build_forecaster` model (any precision: it runs in float32).
        interval_scales: optional `(horizon,)` factors of `interval_scales`
            (calibrated on validation windows), applied to the quantiles.
    """

    def __init__(self, model, interval_scales=None):
        super().__init__()
        self.interval_scales = None
        if interval_scales is not None:
            self.interval_scales = tf.constant(interval_scales, tf.float32)
        self.model = as_float32(model)
        decoder = forecaster_parts(self.model)[3]
        self.lookback = self.model.input["past_values"].shape[1]
        self.horizon = self.model.input["future_values"].shape[1]
        self.num_features = decoder.num_features
        self.point_index = decoder.point_index
        self.quantiles = decoder.quantiles

    def input_signature(self, batch_size=None):
        specs = [tf.TensorSpec([batch_size, self.lookback], tf.float32, name="past_values")]
        if self.num_features:
            specs += [
                tf.TensorSpec(
                    [batch_size, length, self.num_features], tf.float32, name=f"{when}_features"
                )
                for when, length in (("past", self.lookback), ("future", self.horizon))
            ]
        return specs

    def forecast(self, past_values, past_features=None, future_features=None):
        quantiles, attention = forecast(self.model, past_values, past_features, future_features)
        if self.interval_scales is not None:
            quantiles = calibrate_intervals(quantiles, self.interval_scales)
        return {
            "quantiles": quantiles,
            "forecast": quantiles[:, :, self.point_index],
            "attention": attention,
        }


def export_forecaster(
    model, directory, tflite=True, quantizations=QUANTIZATIONS, interval_scales=None
):
    """Writes `directory/saved_model/` (signature `serving_default`: any batch of
    windows) and `directory/tflite/forecaster[_float16|_int8].tflite` (one window).

    `interval_scales`: see `ForecasterModule`.

    Returns:
        dict: `saved_model` (path) and `tflite` (file name -> path).
    """
    module = ForecasterModule(model, interval_scales)
    serving = tf.function(module.forecast, input_signature=module.input_signature())
    path = save_atomically(
        module,
        os.path.join(directory, "saved_model"),
        {"serving_default": serving.get_concrete_function()},
        lambda assets: [],
    )
    written = {"saved_model": path, "tflite": {}}
    if tflite:
        os.makedirs(os.path.join(directory, "tflite"), exist_ok=True)
        for quantization in quantizations:
            name = "forecaster" + ("" if quantization == "float32" else f"_{quantization}")
            target = os.path.join(directory, "tflite", f"{name}.tflite")
            written["tflite"][f"{name}.tflite"] = write_bytes(
                target, convert_forecaster(module, quantization)
            )
    return written


def convert_forecaster(module, quantization="float32"):
    """The forecaster as a builtins-only TFLite flatbuffer for one window (batch 1)."""
    if not isinstance(module, ForecasterModule):
        module = ForecasterModule(module)
    concrete = frozen_function(module.forecast, module.input_signature(batch_size=1))
    return convert_concrete(concrete, quantization)
