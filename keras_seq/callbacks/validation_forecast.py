"""`val_mase`: the MASE of free-running forecasts of validation windows, every epoch."""

import keras
import numpy as np
import tensorflow as tf

from keras_seq import evaluation
from keras_seq.models.forecaster import forecast


class ValidationForecast(keras.callbacks.Callback):
    """MASE of the model's own forecasts of validation windows, as `val_mase`.

    Keras' `val_loss` of a forecaster is teacher-forced: the decoder reads the
    true previous values, which a forecast never has. This rolls the decoder
    out on its own forecasts (`ks.models.forecast`, one traced graph) at the end
    of each epoch and adds `val_mase` (point forecast, see
    `evaluation.forecast_scores`) to the logs, for `EarlyStopping` and
    `ModelCheckpoint(monitor="val_mase", mode="min")`: put it before them.

    Args:
        inputs: the validation windows (`ks.data.make_windows`' dict).
        targets: their true futures `(N, horizon)`.
        history: the training values (the MASE's scale).
        season: the seasonal naive lag of the MASE's scale.
    """

    def __init__(self, inputs, targets, history, season=1):
        super().__init__()
        if not len(targets):
            raise ValueError(
                "No validation windows: the validation part is shorter than the horizon."
            )
        self.inputs = {k: tf.constant(v) for k, v in inputs.items() if k != "future_values"}
        self.targets = np.asarray(targets)
        self.history = np.asarray(history)
        self.season = season
        self._forecast = None

    def on_epoch_end(self, epoch, logs=None):
        if self._forecast is None:  # traced once
            self._forecast = tf.function(lambda inputs: forecast(self.model, **inputs)[0])
        quantiles = np.asarray(self._forecast(self.inputs))
        point = quantiles[..., self.model.get_layer("decoder").point_index]
        scores = evaluation.forecast_scores(point, self.targets, self.history, self.season)
        if logs is not None:
            logs["val_mase"] = scores["mase"]
