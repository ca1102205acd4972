"""Time series for forecasting: loading and checking, seasonal features, windows, splits.

Built-in series come with statsmodels (installed, no download):

- `co2`: Mauna Loa CO2 (ppm), weekly 1958-2001, as monthly means (season 12);
  the 5 months without any weekly reading are interpolated linearly.
- `elnino`: El Niño sea surface temperature (°C), monthly 1950-2010 (season 12).
- `sunspots`: yearly sunspot numbers 1700-2008 (season 11, the solar cycle).

A user's own series: `csv:PATH`, a CSV file with a header, a value column and
optionally a timestamp column (ISO dates). Gaps, values that are not numbers,
timestamps out of order or unevenly spaced stop with `FILE:LINE` and what to do.
"""

import csv
import dataclasses
import math

import numpy as np

SERIES = ("co2", "elnino", "sunspots")
# The season of a regular timestamp step (days): hourly, daily, weekly, monthly, quarterly, yearly.
STEPS = ((1 / 24, 24), (1, 7), (7, 52), ((28, 31), 12), ((89, 92), 4), ((365, 366), 1))


@dataclasses.dataclass
class Series:
    """A regularly spaced series: `values` float64 `(n,)`, `timestamps` datetime64 or None."""

    name: str
    values: np.ndarray
    season: int
    timestamps: np.ndarray = None

    def __len__(self):
        return len(self.values)


def load_series(spec, value_column=None, time_column=None, season=None):
    """A `Series` from a built-in name (`SERIES`) or `csv:PATH`.

    Args:
        spec: `"co2"`, `"elnino"`, `"sunspots"` or `"csv:PATH"`.
        value_column, time_column: the CSV's columns (default: a column named
            value/y/target, else the only numeric one; a column named
            date/time/timestamp/ds).
        season: the season length; default the built-in's, or from the CSV's
            timestamp step (monthly 12, weekly 52, daily 7, ...), else 1.

    Raises:
        ValueError: naming the bad spec, file line or value.
    """
    if spec in SERIES:
        series = _builtin(spec)
    elif isinstance(spec, str) and spec.startswith("csv:"):
        series = read_csv_series(spec[4:], value_column, time_column)
    else:
        raise ValueError(f"Unknown series {spec!r}: expected one of {list(SERIES)} or csv:PATH.")
    if season is not None:
        if not isinstance(season, int) or season < 1:
            raise ValueError(f"`season` must be a positive integer. Received: {season!r}")
        series.season = season
    return series


def _builtin(name):
    try:
        from statsmodels import datasets
    except ImportError as error:  # pragma: no cover - statsmodels is a recipes dependency
        raise ImportError(
            f"The built-in series {name!r} comes with statsmodels: pip install statsmodels"
        ) from error
    if name == "co2":
        frame = datasets.co2.load_pandas().data
        monthly = frame["co2"].resample("MS").mean().interpolate()
        return Series(name, monthly.to_numpy(float), 12, monthly.index.to_numpy())
    if name == "elnino":
        frame = datasets.elnino.load_pandas().data
        values = frame.drop(columns="YEAR").to_numpy(float).reshape(-1)
        months = np.arange(f"{int(frame['YEAR'].iloc[0])}-01", len(values), dtype="datetime64[M]")
        return Series(name, values, 12, months.astype("datetime64[D]"))
    frame = datasets.sunspots.load_pandas().data
    years = frame["YEAR"].astype(int).astype(str).to_numpy().astype("datetime64[Y]")
    return Series(name, frame["SUNACTIVITY"].to_numpy(float), 11, years.astype("datetime64[D]"))


def _pick(header, asked, names, what, path):
    if asked is not None:
        if asked not in header:
            raise ValueError(f"{path}: no {what} column {asked!r}; the columns are {header}.")
        return header.index(asked)
    for i, column in enumerate(header):
        if column.strip().lower() in names:
            return i
    return None


def read_csv_series(path, value_column=None, time_column=None):
    """A `Series` of a CSV file's value column (and timestamps, if it has a column of them)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    if len(rows) < 2:
        raise ValueError(f"{path}: expected a header line and values, found {len(rows)} line(s).")
    header = [column.strip() for column in rows[0]]
    times = {"date", "time", "timestamp", "ds", "day", "week", "month", "year"}
    time_index = _pick(header, time_column, times, "time", path)
    value_index = _pick(header, value_column, {"value", "y", "target"}, "value", path)
    if value_index is None:
        others = [i for i in range(len(header)) if i != time_index]
        if len(others) != 1:
            raise ValueError(
                f"{path}: which column holds the values? Columns {header}; name one with "
                "--value-column."
            )
        value_index = others[0]
    values, stamps = [], []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        cell = row[value_index].strip() if value_index < len(row) else ""
        if cell.lower() in ("", "na", "nan", "null", "none"):
            raise ValueError(
                f"{path}:{line}: no value in column {header[value_index]!r} (a gap). Forecasting "
                "needs a regular series: fill the gap (e.g. interpolate) or cut the series there."
            )
        try:
            value = float(cell)
        except ValueError:
            raise ValueError(
                f"{path}:{line}: {cell!r} in column {header[value_index]!r} is not a number."
            ) from None
        if not math.isfinite(value):
            raise ValueError(f"{path}:{line}: {cell!r} is not a finite number.")
        values.append(value)
        if time_index is not None:
            try:
                stamps.append(np.datetime64(row[time_index].strip(), "s"))
            except (ValueError, IndexError):
                raise ValueError(
                    f"{path}:{line}: {row[time_index] if time_index < len(row) else ''!r} in "
                    f"column {header[time_index]!r} is not an ISO date or time."
                ) from None
    timestamps = np.array(stamps) if stamps else None
    season = 1 if timestamps is None else _season_of(timestamps, path)
    name = path.rsplit("/", 1)[-1]
    return Series(name, np.asarray(values, float), season, timestamps)


def _season_of(timestamps, path):
    """The season length of regularly spaced `timestamps`, or a ValueError naming the gap."""
    if len(timestamps) < 2:
        return 1
    days = np.diff(timestamps).astype("timedelta64[s]").astype(float) / 86400
    if (days <= 0).any():
        i = int(np.argmax(days <= 0))
        raise ValueError(f"{path}:{i + 3}: timestamps must increase; this one does not.")
    for step, season in STEPS:
        low, high = step if isinstance(step, tuple) else (step, step)
        if low - 1e-9 <= days[0] <= high + 1e-9:
            outside = (days < low - 1e-9) | (days > high + 1e-9)
            if outside.any():
                i = int(np.argmax(outside))
                raise ValueError(
                    f"{path}:{i + 3}: {days[i]:g} days after the previous line, where the "
                    f"series steps {days[0]:g} days: a gap or a duplicate. Fill it or cut the "
                    "series there."
                )
            return season
    if np.allclose(days, days[0]):
        return 1
    raise ValueError(
        f"{path}: the timestamps are not evenly spaced (steps of {days[:3]} days ...)."
    )


def seasonal_features(length, season):
    """`(length, 2)` float32: the sine and cosine of each step's place in the season
    (none, `(length, 0)`, for a season of 1). Known ahead, so the decoder reads them too."""
    if season <= 1:
        return np.zeros((length, 0), "float32")
    phase = 2 * np.pi * (np.arange(length) % season) / season
    return np.stack([np.sin(phase), np.cos(phase)], axis=-1).astype("float32")


@dataclasses.dataclass
class Split:
    """Chronological split points: train `[:valid_start]`, validation
    `[valid_start:test_start]`, test `[test_start:]`."""

    valid_start: int
    test_start: int
    length: int


def split_series(length, horizon, lookback, test_size=None, valid_size=None):
    """The chronological `Split` of a series of `length` values.

    The test tail defaults to 15 % of the series (at least `horizon`), the
    validation part to the same before it; the training part must hold at
    least a few windows of `lookback + horizon` values.
    """
    test_size = test_size or max(horizon, round(0.15 * length))
    valid_size = valid_size or test_size
    if horizon > test_size:
        raise ValueError(
            f"The horizon ({horizon}) is longer than the test tail ({test_size} values): "
            "forecasts could not be checked. Lower --horizon or raise --test-size."
        )
    train = length - test_size - valid_size
    needed = lookback + horizon + 8  # a few training windows
    if train < needed:
        raise ValueError(
            f"The series is too short: {length} values leave {train} for training, which "
            f"needs at least lookback + horizon + 8 = {needed} (test {test_size}, validation "
            f"{valid_size}). Use a longer series or a shorter --lookback / --horizon."
        )
    return Split(train, length - test_size, length)


def origins(start, stop, horizon, lookback):
    """Forecast origins `o` (first forecast step) with `o - lookback >= 0`, `o >= start`
    and the whole horizon before `stop`."""
    return np.arange(max(start, lookback), stop - horizon + 1)


def make_windows(values, features, at, lookback, horizon):
    """The model inputs (a dict) and targets `(N, horizon)` of the origins `at`."""
    values = np.asarray(values, "float32")
    past = np.stack([values[o - lookback : o] for o in at])
    future = np.stack([values[o : o + horizon] for o in at])
    inputs = {"past_values": past, "future_values": future}
    if features.shape[1]:
        inputs["past_features"] = np.stack([features[o - lookback : o] for o in at])
        inputs["future_features"] = np.stack([features[o : o + horizon] for o in at])
    return inputs, future
