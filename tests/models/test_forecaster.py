"""Forecasting: the decoder over real values, its rollout, the model, its loss and scores."""

import keras
import numpy as np
import pytest
from keras import ops

import keras_seq as ks
from keras_seq.data import make_windows, seasonal_features
from keras_seq.evaluation import forecast_scores
from keras_seq.layers import ForecastDecoder, SeriesEncoder
from keras_seq.losses import QuantileLoss

LOOKBACK, HORIZON, SEASON = 24, 12, 12


def seasonal_series(length=360, seed=0):
    t = np.arange(length)
    noise = np.random.default_rng(seed).normal(0, 0.2, length)
    return (50 + 0.03 * t + 3 * np.sin(2 * np.pi * t / SEASON) + noise).astype("float32")


def decoder_and_state(attention="luong_general", **options):
    decoder = ForecastDecoder(2, 8, 6, attention=attention, **options)
    memory = keras.random.normal((3, 5, 6), seed=1)
    inputs = keras.random.normal((3, 4, 3), seed=2)
    decoder(inputs, memory)  # builds
    return decoder, decoder.initial_state(memory), inputs


@pytest.mark.parametrize("attention", ["luong_general", "bahdanau", "multihead", None])
def test_teacher_forcing_is_the_step_loop_on_the_true_values(attention):
    decoder, state, inputs = decoder_and_state(attention, num_heads=2)
    forced, weights = decoder.decode_sequence(inputs, state)
    for t in range(4):
        output, state = decoder.step(inputs[:, t], state)
        np.testing.assert_allclose(forced[:, t], output, atol=1e-5)
        np.testing.assert_allclose(weights[:, t], state["attention_weights"], atol=1e-6)
    if attention is None:
        assert float(ops.max(ops.abs(weights))) == 0.0  # no attention, no map


def test_the_rollout_feeds_back_its_point_forecast_and_full_sampling_is_the_rollout():
    decoder, state, inputs = decoder_and_state(quantiles=(0.1, 0.5, 0.9))
    rolled, _ = decoder.forecast_sequence(inputs, state)
    fed, step_state = np.array(inputs), state
    for t in range(4):
        if t:
            fed[:, t, 0] = np.asarray(rolled[:, t - 1, 1])  # the median of the step before
        output, step_state = decoder.step(ops.convert_to_tensor(fed[:, t]), step_state)
        np.testing.assert_allclose(rolled[:, t], output, atol=1e-5)
    decoder.sampling_probability.assign(1.0)  # in training: always its own value
    sampled, _ = decoder.decode_sequence(inputs, state, training=True)
    np.testing.assert_allclose(sampled, rolled, atol=1e-5)


def test_layers_refuse_bad_arguments_and_round_trip_their_config():
    with pytest.raises(
        ValueError, match=r"`quantiles` must be increasing .* Received: \(0.9, 0.1\)"
    ):
        ForecastDecoder(0, 4, 4, quantiles=(0.9, 0.1))
    with pytest.raises(ValueError, match="`num_features` must be an int >= 0"):
        ForecastDecoder(-1, 4, 4)
    decoder = ForecastDecoder(2, 4, 4, quantiles=(0.5,), attention=None, cell="gru")
    config = ForecastDecoder.from_config(decoder.get_config()).get_config()
    assert (config["attention"], config["quantiles"], config["cell"]) == (None, [0.5], "gru")
    with pytest.raises(ValueError, match=r"\(batch_size, horizon, 3\)"):
        decoder.decode_sequence(ops.ones((2, 4, 5)), None)
    encoder = SeriesEncoder(3, 4, 5, bidirectional=False)
    assert SeriesEncoder.from_config(encoder.get_config()).num_features == 3
    with pytest.raises(ValueError, match=r"\(batch_size, length, 3\) features"):
        encoder(ops.ones((2, 6, 2)))
    with pytest.raises(ValueError, match="`horizon` must be a positive integer"):
        ks.models.build_forecaster(24, 0)


def test_quantile_loss_is_the_pinball_loss_and_skips_missing_truth():
    loss = QuantileLoss((0.1, 0.9))
    y_true = np.array([[1.0, np.nan]], "float32")
    y_pred = np.array([[[0.0, 3.0], [5.0, 5.0]]], "float32")
    # error 1 - 0 = 1 under q=0.1: 0.1; error 1 - 3 = -2 under q=0.9: 0.2; the NaN step: none.
    assert float(loss(y_true, y_pred)) == pytest.approx((0.1 + 0.2) / 2)
    assert QuantileLoss.from_config(loss.get_config()).quantiles == (0.1, 0.9)
    with pytest.raises(ValueError, match="one value per quantile"):
        loss(y_true, np.zeros((1, 2, 3), "float32"))


def test_scores_are_mase_and_smape_per_step():
    history = np.array([1.0, 2.0, 3.0, 5.0])  # naive errors 1, 1, 2: scale 4/3
    actuals = np.array([[6.0, 8.0], [7.0, 9.0]])
    forecasts = actuals + np.array([[0.0, 4.0], [0.0, 0.0]])
    scores = forecast_scores(forecasts, actuals, history, intervals=(actuals - 1, actuals + 1))
    assert scores["mase_per_step"] == pytest.approx([0.0, 2 / (4 / 3)])
    assert scores["mase"] == pytest.approx(1 / (4 / 3))
    assert scores["smape_per_step"][1] == pytest.approx(200 * 4 / 20 / 2)
    assert scores["coverage"] == 100.0
    with pytest.raises(ValueError, match=r"\(num_origins, horizon\)"):
        forecast_scores(forecasts[0], actuals, history)


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(3)
    series = seasonal_series()
    features = seasonal_features(len(series), SEASON)
    train, train_y = make_windows(
        series, features, range(LOOKBACK, 300 - HORIZON), LOOKBACK, HORIZON
    )
    test, test_y = make_windows(series, features, range(300, 360 - HORIZON + 1), LOOKBACK, HORIZON)
    model = ks.models.build_forecaster(LOOKBACK, HORIZON, 2, 16, 16, attention="bahdanau")
    model.compile(keras.optimizers.Adam(1e-2), QuantileLoss())
    ks.training.build_optimizer(model)
    model.fit(train, train_y, epochs=6, batch_size=32, verbose=0)
    return model, series, test, test_y


def test_a_trained_forecaster_beats_the_seasonal_naive_and_round_trips(trained, tmp_path):
    model, series, test, test_y = trained
    args = (test["past_values"], test["past_features"], test["future_features"])
    quantiles, attention = (np.asarray(x) for x in ks.models.forecast(model, *args))
    assert quantiles.shape == (len(test_y), HORIZON, 3)
    assert attention.shape == (len(test_y), HORIZON, LOOKBACK)
    np.testing.assert_allclose(attention.sum(-1), 1.0, atol=1e-4)
    assert (np.diff(quantiles, axis=-1) >= 0).all()  # sorted: intervals never cross
    naive = np.stack([test["past_values"][:, -SEASON:][:, h % SEASON] for h in range(HORIZON)], 1)
    model_scores = forecast_scores(quantiles[..., 1], test_y, series[:300], SEASON)
    naive_scores = forecast_scores(naive, test_y, series[:300], SEASON)
    assert model_scores["mase"] < naive_scores["mase"]
    path = tmp_path / "forecaster.keras"
    model.save(path)
    reloaded, _ = ks.models.forecast(keras.models.load_model(path), *args)
    np.testing.assert_allclose(reloaded, quantiles, atol=1e-5)
    with pytest.raises(ValueError, match="reads 2 feature"):
        ks.models.forecast(model, args[0])


def test_interval_calibration_reaches_the_asked_coverage_on_held_out_windows():
    rng = np.random.default_rng(0)
    point = rng.normal(size=(400, 3))
    actuals = point + rng.normal(scale=2.0, size=(400, 3))  # the truth spreads twice as wide
    quantiles = np.stack([point - 1.2816, point, point + 1.2816], -1)  # a unit 80 % interval
    calibration, check = slice(0, 200), slice(200, 400)
    scales = ks.models.interval_scales(quantiles[calibration], actuals[calibration])
    assert scales.shape == (3,) and (scales > 1.5).all()  # it was too narrow
    calibrated = np.asarray(ks.models.calibrate_intervals(quantiles[check], scales))
    np.testing.assert_allclose(calibrated[..., 1], point[check], atol=1e-5)  # the point stays
    inside = (actuals[check] >= calibrated[..., 0]) & (actuals[check] <= calibrated[..., 2])
    assert 0.72 < inside.mean() < 0.88
    with pytest.raises(ValueError, match="Q >= 3"):
        ks.models.interval_scales(quantiles[..., :2], actuals)
