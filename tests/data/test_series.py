"""Time series: the built-in ones, a user's CSV, its bad input, splits and windows."""

import numpy as np
import pytest

from keras_seq.data import load_series, make_windows, seasonal_features, split_series


@pytest.mark.parametrize(
    "name, length, season, first",
    [("co2", 526, 12, 316.1), ("elnino", 732, 12, 23.11), ("sunspots", 309, 11, 5.0)],
)
def test_built_in_series_are_regular_and_complete(name, length, season, first):
    series = load_series(name)
    assert (len(series), series.season) == (length, season)
    assert np.isfinite(series.values).all() and series.values[0] == pytest.approx(first)
    assert len(series.timestamps) == length


def write(tmp_path, text, name="series.csv"):
    path = tmp_path / name
    path.write_text(text)
    return f"csv:{path}"


def monthly(values):
    return "month,passengers\n" + "".join(
        f"{1990 + i // 12}-{i % 12 + 1:02d}-01,{v}\n" for i, v in enumerate(values)
    )


def test_a_csv_with_a_date_column_gives_its_values_and_monthly_season(tmp_path):
    series = load_series(write(tmp_path, monthly(range(30))))
    assert series.season == 12 and series.values.tolist() == list(map(float, range(30)))
    assert str(series.timestamps[13])[:10] == "1991-02-01"
    no_dates = load_series(write(tmp_path, "y\n1\n2.5\n\n4\n"), season=4)  # blank line skipped
    assert (no_dates.values.tolist(), no_dates.season) == ([1.0, 2.5, 4.0], 4)
    two = write(tmp_path, "day,a,b\n2020-01-01,1,2\n2020-01-02,3,4\n")
    assert load_series(two, value_column="b").values.tolist() == [2.0, 4.0]
    assert load_series(two, value_column="b").season == 7  # daily


@pytest.mark.parametrize(
    "text, message",
    [
        ("month,v\n2020-01-01,1\n2020-02-01,\n", r"series.csv:3: no value in column 'v' \(a gap\)"),
        ("month,v\n2020-01-01,1\n2020-02-01,n/a?\n", r"series.csv:3: 'n/a\?' .* not a number"),
        (monthly([1, 2, 3]).replace("1990-03-01", "1990-05-01"), r"series.csv:4: 89 days after"),
        ("month,v\n2020-02-01,1\n2020-01-01,2\n", "series.csv:3: timestamps must increase"),
        ("month,v\nspring,1\n", r"series.csv:2: 'spring' .* not an ISO date"),
        ("a,b\n1,2\n", r"which column holds the values\? Columns \['a', 'b'\]"),
        ("v\n", "expected a header line and values"),
    ],
)
def test_bad_csv_input_names_the_line_and_what_to_do(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        load_series(write(tmp_path, text))


def test_unknown_series_and_columns_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"Unknown series 'airline'.*csv:PATH"):
        load_series("airline")
    with pytest.raises(ValueError, match="no value column 'x'"):
        load_series(write(tmp_path, monthly([1, 2])), value_column="x")


def test_split_refuses_a_horizon_longer_than_the_test_tail_and_a_short_series():
    split = split_series(200, horizon=12, lookback=24)
    assert (split.valid_start, split.test_start, split.length) == (140, 170, 200)
    with pytest.raises(ValueError, match=r"horizon \(12\) is longer than the test tail \(6"):
        split_series(200, horizon=12, lookback=24, test_size=6)
    with pytest.raises(ValueError, match="too short: 60 values leave 36 for training"):
        split_series(60, horizon=12, lookback=24)


def test_windows_pair_each_origin_with_its_past_and_future():
    values = np.arange(50, dtype="float32")
    features = seasonal_features(50, 4)
    assert features.shape == (50, 2) and seasonal_features(5, 1).shape == (5, 0)
    np.testing.assert_allclose(features[4], features[0], atol=1e-6)  # one season later
    inputs, targets = make_windows(values, features, [10, 20], lookback=6, horizon=3)
    assert inputs["past_values"].tolist() == [list(range(4, 10)), list(range(14, 20))]
    assert targets.tolist() == [[10, 11, 12], [20, 21, 22]]
    np.testing.assert_array_equal(inputs["future_features"][1], features[20:23])
    np.testing.assert_array_equal(inputs["future_values"], targets)
    plain, _ = make_windows(values, seasonal_features(50, 1), [10], 6, 3)
    assert set(plain) == {"past_values", "future_values"}
