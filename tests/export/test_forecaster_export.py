"""A forecaster exports as the translator does: a SavedModel and builtins-only TFLite, exact."""

import keras
import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

import keras_seq as ks
from keras_seq.data import make_windows, seasonal_features

LOOKBACK, HORIZON = 16, 6


def test_saved_model_and_tflite_forecast_as_keras(tmp_path):
    t = np.arange(200)
    values = (20 + 0.1 * t + 2 * np.sin(2 * np.pi * t / 6)).astype("float32")
    features = seasonal_features(len(values), 6)
    inputs, targets = make_windows(values, features, range(LOOKBACK, 190), LOOKBACK, HORIZON)
    model = ks.models.build_forecaster(LOOKBACK, HORIZON, 2, 8, 8, attention="bahdanau")
    model.compile(keras.optimizers.Adam(1e-2), ks.losses.QuantileLoss())
    ks.training.build_optimizer(model)
    model.fit(inputs, targets, epochs=1, verbose=0)
    scales = np.linspace(1.0, 2.0, HORIZON).astype("float32")  # calibrated intervals
    written = ks.export.export_forecaster(
        model, tmp_path, quantizations=("float32", "int8"), interval_scales=scales
    )
    assert sorted(written["tflite"]) == ["forecaster.tflite", "forecaster_int8.tflite"]

    windows = [inputs[k][:4] for k in ("past_values", "past_features", "future_features")]
    quantiles, attention = (np.asarray(x) for x in ks.models.forecast(model, *windows))
    quantiles = np.asarray(ks.models.calibrate_intervals(quantiles, scales))
    served = tf.saved_model.load(written["saved_model"]).signatures["serving_default"]
    names = ("past_values", "past_features", "future_features")
    out = served(**{name: tf.constant(w) for name, w in zip(names, windows, strict=True)})
    np.testing.assert_allclose(out["quantiles"], quantiles, atol=1e-5)
    np.testing.assert_allclose(out["forecast"], quantiles[..., 1], atol=1e-5)
    for name, tolerance in (("forecaster.tflite", 1e-4), ("forecaster_int8.tflite", None)):
        content = open(written["tflite"][name], "rb").read()
        assert "WHILE" in ks.export.check_builtins_only(content)  # the rollout, in the graph
        runner = Interpreter(model_content=content).get_signature_runner()
        for row in range(4):
            result = runner(**{n: w[row : row + 1] for n, w in zip(names, windows, strict=True)})
            if tolerance:
                np.testing.assert_allclose(result["quantiles"][0], quantiles[row], atol=tolerance)
                np.testing.assert_allclose(result["attention"][0], attention[row], atol=1e-5)
            else:  # int8 weights: close to the float model, in the series' units
                assert np.abs(result["quantiles"][0] - quantiles[row]).max() < 0.5
