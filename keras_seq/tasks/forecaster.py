"""The forecasting task: a `build_forecaster` backbone, its season and its calibration."""

import collections

import numpy as np
import tensorflow as tf

from keras_seq.checks import check_positive_int
from keras_seq.data.series import make_windows, origins, seasonal_features
from keras_seq.evaluation import forecast_scores
from keras_seq.export import export_forecaster
from keras_seq.models.forecaster import calibrate_intervals, forecast, forecaster_parts
from keras_seq.tasks.preset import ForecastRunFolder

# What `Forecaster.forecast` returns. For a series: `quantiles` `(horizon, Q)`, `point`
# `(horizon,)`, `attention` `(horizon, lookback)`; for windows, each with a batch axis first.
Forecast = collections.namedtuple("Forecast", ["quantiles", "point", "attention"])


class Forecaster:
    """A multi-step forecaster you hold from training to forecasts out to export.

    The keras-hub `Task` of forecasting: a `backbone` (the `build_forecaster`
    model) with the season its calendar features were computed with and the
    interval calibration measured on validation windows. `forecast` predicts the
    next `horizon` values of a series (or of `ks.data.make_windows` windows),
    `score` measures MASE, sMAPE and interval coverage on a series' held-out tail,
    `export` writes the SavedModel and TFLite models, and `save_to_preset` /
    `Forecaster.from_preset` write and load a run folder (`keras_seq.tasks.preset`).

    Seasonal features are the sine and cosine of each step's place in the season,
    counted from the first value of the series the model was trained on: give
    `forecast` and `score` that series (extended by new values), or pass `start`,
    the place of your first value in it.

    Args:
        backbone: a `ks.models.build_forecaster` model.
        season: the season length its features were computed with (1: none).
        interval_scales: optional `(horizon,)` factors of
            `ks.models.interval_scales`, applied to the quantiles.

    Example:
    ```python
    forecaster = ks.Forecaster.from_preset("runs/co2")
    quantiles, point, attention = forecaster.forecast(values)   # the next horizon
    forecaster.score(values)          # {"mase": ..., "smape": ..., "coverage": ...}
    ```
    """

    def __init__(self, backbone, season=1, interval_scales=None):
        decoder = forecaster_parts(backbone)[3]  # raises for a model build_forecaster did not make
        check_positive_int("season", season)
        features = seasonal_features(1, season).shape[1]
        if decoder.num_features != features:
            raise ValueError(
                f"The backbone reads {decoder.num_features} feature(s) per step, but a season "
                f"of {season} gives {features} seasonal feature(s): pass the season the model "
                "was trained with."
            )
        self.backbone = backbone
        self.season = season
        self.lookback = backbone.input["past_values"].shape[1]
        self.horizon = backbone.input["future_values"].shape[1]
        self.quantiles = tuple(decoder.quantiles)
        self.point_index = decoder.point_index
        self.interval_scales = None
        if interval_scales is not None:
            self.interval_scales = np.asarray(interval_scales, "float32")
            if self.interval_scales.shape != (self.horizon,):
                raise ValueError(
                    f"`interval_scales` must hold one factor per horizon step ({self.horizon}). "
                    f"Received shape {self.interval_scales.shape}"
                )
        self.preset_dir = None  # set by from_preset / save_to_preset
        self._forecast_fn = None

    def __repr__(self):
        return (
            f"Forecaster({self.backbone.name}, lookback {self.lookback}, horizon "
            f"{self.horizon}, season {self.season}, quantiles {self.quantiles})"
        )

    # ------------------------------------------------------------------ inputs
    def _values(self, series):
        values = np.asarray(series, dtype="float64")
        if values.ndim != 1 or not np.issubdtype(values.dtype, np.number):
            raise ValueError(
                f"`series` must be a 1-D sequence of numbers. Received shape {values.shape}"
            )
        if not np.all(np.isfinite(values)):
            bad = int(np.flatnonzero(~np.isfinite(values))[0])
            raise ValueError(f"`series` holds a missing or infinite value at {bad}: {values[bad]}.")
        return values

    def windows(self, series, at, start=0):
        """The model inputs of the origins `at` of `series` (`ks.data.make_windows`)."""
        values = self._values(series)
        features = seasonal_features(start + len(values) + self.horizon, self.season)[start:]
        padded = np.concatenate([values, np.zeros(self.horizon)])  # futures unknown: unread
        return make_windows(padded, features, at, self.lookback, self.horizon)[0]

    # ---------------------------------------------------------------- forecasts
    def forecast(self, series, start=0):
        """The next `horizon` values after a series, or the forecasts of windows.

        Args:
            series: a 1-D sequence of at least `lookback` numbers (the model reads
                its last `lookback`), or a dict of windows (`ks.data.make_windows`'
                inputs: `past_values` `(N, lookback)`, and the features).
            start: for a series, the place of its first value in the series the
                model was trained on (the phase of the seasonal features).

        Returns:
            `Forecast(quantiles, point, attention)`, float32 arrays in the series'
            units, with the calibrated intervals: for a series, `(horizon, Q)`,
            `(horizon,)`, `(horizon, lookback)`; for windows, each with `N` first.
        """
        if isinstance(series, dict):
            return self._forecast_windows(series)
        values = self._values(series)
        if len(values) < self.lookback:
            raise ValueError(
                f"The model reads the last {self.lookback} values; the series has {len(values)}."
            )
        result = self._forecast_windows(self.windows(values, [len(values)], start))
        return Forecast(*(np.asarray(part)[0] for part in result))

    def _forecast_windows(self, windows):
        keys = ("past_values", "past_features", "future_features")
        inputs = {k: tf.constant(np.asarray(windows[k], "float32")) for k in keys if k in windows}
        if "past_values" not in inputs:
            raise ValueError(
                "Windows are a dict with `past_values` (ks.data.make_windows' inputs). "
                f"Received keys {sorted(windows)}"
            )
        if self._forecast_fn is None:  # traced once per input structure
            self._forecast_fn = tf.function(lambda kwargs: forecast(self.backbone, **kwargs))
        quantiles, attention = self._forecast_fn(inputs)
        if self.interval_scales is not None:
            quantiles = calibrate_intervals(quantiles, self.interval_scales)
        quantiles = np.asarray(quantiles)
        return Forecast(quantiles, quantiles[..., self.point_index], np.asarray(attention))

    def score(self, series, test_size=None, start=0):
        """MASE, sMAPE and interval coverage of forecasts over a series' held-out tail.

        A forecast is made from every origin of the last `test_size` values (each
        reading only the values before it) and scored against what followed; the
        MASE's scale is the seasonal naive error on the values before the tail.

        Args:
            series: a 1-D sequence of numbers.
            test_size: values of the tail (default 15 %, at least the horizon).
            start: see `forecast`.

        Returns:
            `ks.evaluation.forecast_scores`' dict: `mase`, `smape`, their values per
            step, and `coverage` (percent of values inside the outer quantiles).
        """
        values = self._values(series)
        test_size = test_size or max(self.horizon, round(0.15 * len(values)))
        tail_start = len(values) - test_size
        at = origins(tail_start, len(values), self.horizon, self.lookback)
        if not len(at) or tail_start < 2:
            raise ValueError(
                f"The series ({len(values)} values) is too short to score: its last {test_size} "
                f"values need a full horizon ({self.horizon}) after an origin with "
                f"{self.lookback} values before it."
            )
        quantiles = self._forecast_windows(self.windows(values, at, start)).quantiles
        actuals = np.stack([values[o : o + self.horizon] for o in at])
        intervals = (quantiles[..., 0], quantiles[..., -1]) if len(self.quantiles) > 1 else None
        point = quantiles[..., self.point_index]
        return forecast_scores(point, actuals, values[:tail_start], self.season, intervals)

    # -------------------------------------------------------------------- export
    def export(self, directory, tflite=True, quantizations=None):
        """Writes `directory/saved_model/` (windows in, forecasts out) and
        `directory/tflite/forecaster*.tflite` (builtins only, one window).

        Returns:
            dict: `saved_model` (path) and `tflite` (file name -> path).
        """
        options = {} if quantizations is None else {"quantizations": tuple(quantizations)}
        return export_forecaster(
            self.backbone, directory, tflite, interval_scales=self.interval_scales, **options
        )

    # ------------------------------------------------------------------- presets
    def save_to_preset(self, directory):
        """Writes the forecaster as a preset (run folder): `model.keras` and, in
        `config.json`, `lookback`, `horizon`, `season`, `quantiles` and
        `interval_scales` (other keys kept). Each file is written atomically."""
        run = ForecastRunFolder(directory)
        with run.writing(run.MODEL) as temporary:
            self.backbone.save(temporary)
        scales = None if self.interval_scales is None else self.interval_scales.tolist()
        run.update_config(
            lookback=self.lookback,
            horizon=self.horizon,
            season=self.season,
            quantiles=list(self.quantiles),
            interval_scales=scales,
        )
        self.preset_dir = run.path
        return run.path

    @classmethod
    def from_preset(cls, directory, compile=True):
        """Loads a forecaster from a `recipes/forecast.py` run folder (or one of its
        `variants/NAME/` folders) or a `save_to_preset` folder, wherever it was moved.

        Raises:
            keras_seq.tasks.NotARunFolder: naming what is missing or damaged.
        """
        run = ForecastRunFolder(directory)
        run.check_trained()
        config = run.read_config()
        forecaster = cls(
            run.load_model(compile=compile), config["season"], config.get("interval_scales")
        )
        forecaster.preset_dir = run.path
        return forecaster
