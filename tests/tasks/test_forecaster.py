"""The forecasting task a user holds: forecasts of a series, scores, presets, export, CLI."""

import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_seq as ks
from keras_seq.data import make_windows, seasonal_features
from keras_seq.evaluation import forecast_scores
from keras_seq.tasks import Forecaster, NotARunFolder

# Its module fixtures are built once: the module runs on one test worker.
pytestmark = pytest.mark.xdist_group("test_tasks_forecaster")

LOOKBACK, HORIZON, SEASON = 24, 6, 12
SCALES = np.linspace(1.0, 2.0, HORIZON).astype("float32")


def seasonal_series(length=240, seed=0):
    t = np.arange(length)
    noise = np.random.default_rng(seed).normal(0, 0.2, length)
    return 50 + 0.03 * t + 3 * np.sin(2 * np.pi * t / SEASON) + noise


@pytest.fixture(scope="module")
def forecaster():
    keras.utils.set_random_seed(1)
    series = seasonal_series()
    features = seasonal_features(len(series), SEASON)
    train, train_y = make_windows(
        series, features, range(LOOKBACK, 200 - HORIZON), LOOKBACK, HORIZON
    )
    model = ks.models.build_forecaster(LOOKBACK, HORIZON, 2, 8, 8)
    model.compile(keras.optimizers.Adam(1e-2), ks.losses.QuantileLoss())
    ks.training.build_optimizer(model)
    model.fit(train, train_y, epochs=3, batch_size=32, verbose=0)
    return Forecaster(model, SEASON, interval_scales=SCALES)


def keras_forecast(forecaster, windows):
    """The library's rollout of `windows`, calibrated: what the task must give."""
    inputs = {k: v for k, v in windows.items() if k != "future_values"}
    quantiles, attention = ks.models.forecast(forecaster.backbone, **inputs)
    return np.asarray(ks.models.calibrate_intervals(quantiles, SCALES)), np.asarray(attention)


def test_forecast_of_a_series_is_the_rollout_after_its_last_value(forecaster):
    series = seasonal_series()[:150]
    quantiles, point, attention = forecaster.forecast(series)
    assert quantiles.shape == (HORIZON, 3) and point.shape == (HORIZON,)
    assert attention.shape == (HORIZON, LOOKBACK)
    features = seasonal_features(len(series) + HORIZON, SEASON)  # the phase goes on
    padded = np.concatenate([series, np.zeros(HORIZON)])
    windows, _ = make_windows(padded, features, [len(series)], LOOKBACK, HORIZON)
    expected, expected_attention = keras_forecast(forecaster, windows)
    np.testing.assert_allclose(quantiles, expected[0], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(point, expected[0, :, 1], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(attention, expected_attention[0], atol=1e-5)
    # A series given from its 12th value (one season later) has the same phase.
    shifted = forecaster.forecast(series[12:], start=12)
    np.testing.assert_allclose(shifted.quantiles, quantiles, rtol=1e-5, atol=1e-4)


def test_forecast_of_windows_and_the_score_of_a_held_out_tail(forecaster):
    series = seasonal_series()
    features = seasonal_features(len(series), SEASON)
    at = np.arange(200, len(series) - HORIZON + 1)
    windows, actuals = make_windows(series, features, at, LOOKBACK, HORIZON)
    result = forecaster.forecast(windows)
    expected, _ = keras_forecast(forecaster, windows)
    np.testing.assert_allclose(result.quantiles, expected, rtol=1e-5, atol=1e-4)
    scores = forecaster.score(series, test_size=len(series) - 200)
    by_hand = forecast_scores(
        expected[..., 1], actuals, series[:200], SEASON, (expected[..., 0], expected[..., 2])
    )
    assert scores.keys() == by_hand.keys() and "coverage" in scores
    for key in ("mase", "smape", "coverage"):
        assert scores[key] == pytest.approx(by_hand[key], rel=1e-4), key
    assert scores["mase"] < 1.5  # it has learned the season (the naive errs by 1.0)


def test_bad_series_and_settings_are_one_clear_error(forecaster):
    with pytest.raises(ValueError, match="reads the last 24 values; the series has 10"):
        forecaster.forecast(np.ones(10))
    with pytest.raises(ValueError, match=r"1-D sequence of numbers. Received shape \(2, 30\)"):
        forecaster.forecast(np.ones((2, 30)))
    with pytest.raises(ValueError, match="missing or infinite value at 3: nan"):
        forecaster.forecast([1.0, 2.0, 3.0, float("nan")] + [1.0] * 30)
    with pytest.raises(ValueError, match="Windows are a dict with `past_values`"):
        forecaster.forecast({"values": np.ones((1, LOOKBACK))})
    with pytest.raises(ValueError, match="too short to score"):
        forecaster.score(seasonal_series()[:26])
    with pytest.raises(ValueError, match="reads 2 feature.*a season of 1 gives 0"):
        Forecaster(forecaster.backbone, season=1)
    with pytest.raises(ValueError, match=r"one factor per horizon step \(6\)"):
        Forecaster(forecaster.backbone, SEASON, interval_scales=[1.0, 2.0])
    with pytest.raises(ValueError, match="Expected a model built by build_forecaster"):
        Forecaster(ks.models.build_seq2seq(10, 10, 4, 4))


def test_export_serves_the_tasks_forecasts(forecaster, tmp_path):
    written = forecaster.export(tmp_path / "deploy", quantizations=["float32"])
    assert sorted(written["tflite"]) == ["forecaster.tflite"]
    series = seasonal_series()
    windows = forecaster.windows(series, [200, 220])
    served = tf.saved_model.load(written["saved_model"]).signatures["serving_default"]
    out = served(**{k: tf.constant(windows[k]) for k in served.structured_input_signature[1]})
    np.testing.assert_allclose(
        out["quantiles"].numpy(), forecaster.forecast(windows).quantiles, rtol=1e-5, atol=1e-4
    )


@pytest.mark.slow
def test_a_preset_forecasts_from_a_moved_folder_in_a_process_outside_the_repo(forecaster, tmp_path):
    preset = tmp_path / "trained"
    forecaster.save_to_preset(preset)
    moved = tmp_path / "elsewhere" / "co2"
    shutil.move(preset, moved)
    loaded = Forecaster.from_preset(moved)
    assert (loaded.lookback, loaded.horizon, loaded.season) == (LOOKBACK, HORIZON, SEASON)
    np.testing.assert_allclose(loaded.interval_scales, SCALES)
    series = seasonal_series()[:150]
    expected = forecaster.forecast(series)
    csv = tmp_path / "series.csv"
    csv.write_text("value\n" + "".join(f"{v}\n" for v in series))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-m", "keras_seq", "forecast", str(moved), str(csv)],
        cwd=tmp_path / "elsewhere", capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "step\tforecast\tq0.1\tq0.9" and len(lines) == 1 + HORIZON
    printed = np.array([[float(x) for x in line.split("\t")] for line in lines[1:]])
    np.testing.assert_array_equal(printed[:, 0], np.arange(1, HORIZON + 1))
    np.testing.assert_allclose(printed[:, 1], expected.point, rtol=1e-4)
    np.testing.assert_allclose(printed[:, 2], expected.quantiles[:, 0], rtol=1e-4)
    np.testing.assert_allclose(printed[:, 3], expected.quantiles[:, 2], rtol=1e-4)


def test_from_preset_names_what_is_missing_and_another_tasks_run(tmp_path):
    (tmp_path / "config.json").write_text('{"lookback": 24}')
    with pytest.raises(NotARunFolder, match="model.keras, config.json:horizon"):
        Forecaster.from_preset(tmp_path)
    run = tmp_path / "tag"
    (run / "vocab").mkdir(parents=True)
    for name in ("config.json", "model.keras", "vocab/words.txt", "vocab/tags.txt"):
        (run / name).write_text("{}")
    with pytest.raises(NotARunFolder, match=r"is a Tagger run .*Tagger.from_preset"):
        Forecaster.from_preset(run)


def test_keras_seq_export_writes_a_forecasters_saved_model(forecaster, tmp_path, capsys):
    from keras_seq.__main__ import main

    preset = forecaster.save_to_preset(tmp_path / "preset")
    assert main(["export", preset, "--no-tflite"]) == 0
    assert f"SavedModel: {preset}/saved_model" in capsys.readouterr().out
    served = tf.saved_model.load(os.path.join(preset, "saved_model"))
    windows = forecaster.windows(seasonal_series(), [200])
    out = served.signatures["serving_default"](
        **{k: tf.constant(v) for k, v in windows.items() if k != "future_values"}
    )
    np.testing.assert_allclose(out["forecast"].numpy(), forecaster.forecast(windows).point,
                               rtol=1e-5, atol=1e-4)  # fmt: skip
    with pytest.raises(SystemExit):  # a translation-only option, refused with its reason
        main(["export", preset, "--shortlist"])
    assert "is a Forecaster run; --shortlist is for translation" in capsys.readouterr().err
