"""Forecast a time series with attention seq2seq models, against classical baselines.

Compares, on the held-out tail of the series (a forecast from every origin of it):
the seasonal naive forecast, exponential smoothing (statsmodels ETS), a seq2seq
model without attention, one with attention trained by teacher forcing, and the
same trained with a scheduled-sampling schedule (it learns to read its own
forecasts). Writes the MASE and sMAPE per horizon step, the interval coverage,
training time, plots, a report page, and exports the attention model.

    python recipes/forecast.py                              # Mauna Loa CO2, monthly
    python recipes/forecast.py --dataset elnino             # or sunspots
    python recipes/forecast.py --dataset csv:sales.csv --value-column sales
    python recipes/forecast.py --quick                      # a smoke run of about a minute

The same command on an existing run folder resumes it (finished variants are kept).
"""

import html
import os
import sys
import time

# TensorFlow's C++ info and warning logs drown the run's own output; errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import keras_seq as ks  # noqa: E402
from keras_seq import cli, files  # noqa: E402
from keras_seq.tasks import ForecastRunFolder, RunFolder  # noqa: E402

DEFAULTS = {
    "dataset": "co2", "value_column": None, "time_column": None, "season": None,
    "horizon": None, "lookback": None, "test_size": None, "embedding_dim": 16, "units": 32,
    "cell": "lstm", "attention": "luong_general", "dropout": 0.0, "epochs": 80,
    "batch_size": 32, "learning_rate": 3e-3, "patience": 10, "seed": 0, "distribution": "auto",
    "sampling_schedule": "linear:duration=30,ceiling=0.5,per=epoch",
}  # fmt: skip
QUICK = {"epochs": 3, "units": 8, "embedding_dim": 8, "patience": 3}
MODEL_SETTINGS = (
    "dataset", "value_column", "time_column", "season", "horizon", "lookback", "test_size",
    "embedding_dim", "units", "cell", "attention", "dropout", "seed",
)  # fmt: skip
QUANTILES = (0.1, 0.5, 0.9)  # the 80 % interval and the median
# name -> (attention, scheduled sampling); None: a classical baseline.
VARIANTS = {
    "seasonal_naive": None,
    "ets": None,
    "seq2seq": (False, False),
    "attention": (True, False),
    "attention_sampling": (True, True),
}
EXPORTED = "attention_sampling"


# fmt: off
def build_parser():
    integer, number = cli.integer, cli.number
    parser = cli.parser(__doc__, DEFAULTS)
    data = parser.add_argument_group("data")
    add = data.add_argument
    add("--dataset", help=f"{' | '.join(ks.data.SERIES)} | csv:PATH (default: co2, Mauna Loa "
        "CO2, monthly)")
    add("--value-column", help="the CSV's value column (default: value/y/target, or the only "
        "numeric one)")
    add("--time-column", help="the CSV's timestamp column (default: date/time/timestamp/...)")
    add("--season", type=integer(1), help="season length (default: from the data: its "
        "timestamp step, or the built-in series')")
    add("--horizon", type=integer(1), help="steps forecast (default: the season, at least 4)")
    add("--lookback", type=integer(2), help="past steps read (default: 2 horizons or seasons, "
        "the longer)")
    add("--test-size", type=integer(1), help="values of the held-out tail (default: 15 %% of "
        "the series, at least the horizon; validation as long, training the rest)")
    model = parser.add_argument_group("model")
    add = model.add_argument
    add("--variants", nargs="+", choices=list(VARIANTS), metavar="NAME",
        help=f"only these (default: all of {', '.join(VARIANTS)})")
    add("--embedding-dim", type=integer(1), help="width of each step's projection")
    add("--units", type=integer(1), help="units of each encoder direction")
    add("--cell", choices=ks.layers.CELLS, help="recurrent cell")
    add("--attention", choices=ks.layers.ATTENTIONS, metavar="NAME", help="of the attention "
        f"variants: {', '.join(ks.layers.ATTENTIONS)}")
    add("--dropout", type=number(0, 1), help="dropout rate")
    training = parser.add_argument_group("training")
    add = training.add_argument
    add("--epochs", type=integer(1), help="most epochs")
    add("--batch-size", type=integer(1), help="windows per batch")
    add("--learning-rate", type=number(0, low_inclusive=False), help="Adam's")
    add("--patience", type=integer(1), help="epochs without a better validation MASE before "
        "training stops")
    add("--seed", type=integer(0), help="of the weights and the data order")
    add("--sampling-schedule", metavar="NAME[:KEY=VALUE,...]", help="of the "
        "attention_sampling variant")
    cli.add_strategy_flag(add)
    export = parser.add_argument_group("export")
    export.add_argument("--no-export", action="store_true", help="skip the SavedModel and "
                        "TFLite export (the run folder is still a preset)")
    cli.add_quantizations_flag(export.add_argument)
    cli.add_run_flags(parser.add_argument_group("run"), quick="a smoke run of about a minute")
    return parser
# fmt: on


def parse_args(argv):
    parser = build_parser()
    args = parser.parse_args(argv)
    config = {**DEFAULTS, **(QUICK if args.quick else {})}
    config.update({k: getattr(args, k) for k in DEFAULTS if getattr(args, k) is not None})
    config.update(quick=args.quick, variants=args.variants or list(VARIANTS))
    config["export"] = not args.no_export and EXPORTED in config["variants"]
    config["quantizations"] = args.quantizations
    try:
        ks.schedules.parse(config["sampling_schedule"], duration=config["epochs"])
    except ValueError as error:
        parser.error(f"argument --sampling-schedule: {error}")
    cli.check_output_dir(parser, args.output_dir)
    return config, args.output_dir


def prepare(config, output_dir):
    """`(series, split, run)`: the series loaded and checked, the lengths it chooses."""
    series = ks.data.load_series(
        config["dataset"], config["value_column"], config["time_column"], config["season"]
    )
    config["season"] = series.season
    config["horizon"] = config["horizon"] or max(series.season, 4)
    config["lookback"] = config["lookback"] or 2 * max(config["horizon"], series.season)
    split = ks.data.split_series(
        len(series), config["horizon"], config["lookback"], config["test_size"]
    )
    config["test_size"] = split.length - split.test_start
    run = ForecastRunFolder(cli.run_dir(output_dir, "forecast"))
    return series, split, cli.start_run(run, config, MODEL_SETTINGS, DEFAULTS)


def seasonal_naive(values, at, horizon, season):
    return np.stack([[values[o - season + h % season] for h in range(horizon)] for o in at])


def ets(values, at, horizon, season):
    """Additive-trend (damped) exponential smoothing, seasonal when the season allows,
    refitted on everything before each origin."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    forecasts = []
    for o in at:
        seasonal = "add" if season > 1 and o >= 2 * season else None
        model = ExponentialSmoothing(
            values[:o], trend="add", damped_trend=True, seasonal=seasonal,
            seasonal_periods=season if seasonal else None, initialization_method="estimated",
        )  # fmt: skip
        forecasts.append(model.fit().forecast(horizon))
    return np.stack(forecasts)


def train_variant(name, config, data, folder, distribution):
    """Trains one seq2seq variant in `folder` (resumable) under `distribution`; returns
    `(model, summary)`."""
    import keras

    attention, sampling = VARIANTS[name]
    keras.utils.set_random_seed(config["seed"])
    with distribution.scope():
        model = ks.models.build_forecaster(
            config["lookback"], config["horizon"], data["features"].shape[1],
            config["embedding_dim"], config["units"],
            attention=config["attention"] if attention else None, cell=config["cell"],
            dropout=config["dropout"], quantiles=QUANTILES, seed=config["seed"],
        )  # fmt: skip
        optimizer = keras.optimizers.Adam(config["learning_rate"], clipnorm=1.0)
        model.compile(optimizer, ks.losses.QuantileLoss(QUANTILES))
        ks.training.build_optimizer(model)
    (train, train_y), (valid, valid_y) = data["train"], data["valid"]
    schedule = ks.schedules.parse(config["sampling_schedule"], duration=config["epochs"])
    callbacks = ks.callbacks.standard_callbacks(
        folder, patience=config["patience"], tensorboard=False, monitor="val_mase",
        sampling_schedule=schedule if sampling else None,
        validation_scores=ks.callbacks.ValidationForecast(
            valid, valid_y, data["history"], config["season"]
        ),
    )  # fmt: skip
    timer = ks.callbacks.TrainingTimer()
    history = ks.training.fit(
        model, train, train_y, batch_size=config["batch_size"], epochs=config["epochs"],
        validation_data=(valid, valid_y), callbacks=[*callbacks, timer],
        verbose=2 if config["quick"] else 0,
    )  # fmt: skip
    logs = history.history
    best = int(np.argmin(logs["val_mase"])) if logs.get("val_mase") else None
    return model, {
        "train_seconds": timer.seconds,
        "epochs_run": len(logs.get("loss", [])),
        "val_mase": None if best is None else float(logs["val_mase"][best]),
    }


def run_variant(name, config, data, run, distribution):
    """The variant's test forecasts and scores; a finished variant's are read back. A
    worker other than the chief trains the variant and returns None."""
    folder = os.path.join(run.path, "variants", name)
    done = os.path.join(folder, "result.json")
    if not ks.cluster.is_chief(distribution):
        if VARIANTS[name] is not None:
            train_variant(name, config, data, folder, distribution)
        return None
    if os.path.exists(done):
        print(f"{name}: done earlier")
        return files.read_json(done)
    print(f"{name}: ...", flush=True)
    values, at = data["values"], data["test_origins"]
    horizon, season = config["horizon"], config["season"]
    start, result = time.perf_counter(), {"variant": name}
    if VARIANTS[name] is None:
        point = (seasonal_naive if name == "seasonal_naive" else ets)(values, at, horizon, season)
        result["fit_seconds"] = time.perf_counter() - start
        intervals = None
    else:
        model, summary = train_variant(name, config, data, folder, distribution)
        result.update(summary)
        (valid, valid_y), (test, test_y) = data["valid"], data["test"]
        raw = ks.Forecaster(model, season)
        scales = ks.models.interval_scales(raw.forecast(valid).quantiles, valid_y)
        uncalibrated = raw.forecast(test).quantiles
        inside = (test_y >= uncalibrated[..., 0]) & (test_y <= uncalibrated[..., -1])
        result["coverage_uncalibrated"] = float(100 * inside.mean())
        result["interval_scales"] = scales.tolist()  # the preset and the export apply them
        forecaster = ks.Forecaster(model, season, interval_scales=scales)
        quantiles, point, _ = forecaster.forecast(test)
        intervals = (quantiles[..., 0], quantiles[..., -1])
        result["lower"], result["upper"] = (bound.tolist() for bound in intervals)
        forecaster.save_to_preset(folder)  # model.keras, and the settings in config.json
    actuals = data["test"][1]
    result.update(ks.evaluation.forecast_scores(point, actuals, data["history"], season, intervals))
    result["forecast"] = point.tolist()
    files.write_json(done, result)
    print(f"{name}: MASE {result['mase']:.3f}, sMAPE {result['smape']:.2f} %")
    return result


def write_report(config, run, series, data, results):
    """comparison.md, metrics.json, forecasts.png, mase_per_step.png, report/index.html."""
    horizon = config["horizon"]
    steps = sorted({1, (horizon + 1) // 2, horizon})
    head = (
        "| variant | MASE | sMAPE % | 80 % interval coverage % (calibrated) | train s | "
        + " | ".join(f"MASE h={h}" for h in steps)
    )
    rows = [head + " |", "|" + "---|" * (5 + len(steps))]
    for r in results:
        coverage = "–"
        if "coverage" in r:
            coverage = f"{r['coverage']:.0f} ({r['coverage_uncalibrated']:.0f} raw)"
        seconds = r.get("train_seconds", r.get("fit_seconds", 0))
        per_step = " | ".join(f"{r['mase_per_step'][h - 1]:.3f}" for h in steps)
        rows.append(
            f"| {r['variant']} | {r['mase']:.3f} | {r['smape']:.2f} | {coverage} | "
            f"{seconds:.1f} | {per_step} |"
        )
    table = "\n".join(rows) + "\n"
    with run.writing("comparison.md") as path, open(path, "w", encoding="utf-8") as f:
        f.write(table)
    slim = [
        {k: v for k, v in r.items() if k not in ("forecast", "lower", "upper")} for r in results
    ]
    run.write_json(RunFolder.METRICS, {"series": series.name, "length": len(series),
                                       "settings": config, "results": slim})  # fmt: skip
    at, values = data["test_origins"], data["values"]
    lines = {}
    for r in results:  # non-overlapping forecasts over the test tail, with intervals if any
        bounds = (r["lower"], r["upper"]) if "lower" in r else ()
        lines[r["variant"]] = [
            (int(at[i]), r["forecast"][i], *(bound[i] for bound in bounds))
            for i in range(0, len(at), horizon)
        ]
    tail = range(int(at[0]) - config["lookback"], len(values))
    ks.plots.plot_forecasts(
        list(tail), values[tail.start :].tolist(), lines, run["forecasts.png"],
        title=f"{series.name}: forecasts from every {horizon}th test origin",
    )  # fmt: skip
    ks.plots.plot_lines(
        {r["variant"]: r["mase_per_step"] for r in results}, run["mase_per_step.png"],
        xlabel="horizon step", ylabel="MASE", title=f"{series.name}: error by horizon step",
    )  # fmt: skip
    images = "".join(
        f"<img src='{ks.report.data_uri(open(run[n], 'rb').read())}' style='max-width:100%'>"
        for n in ("forecasts.png", "mase_per_step.png")
    )
    page = (
        f"<!doctype html><meta charset='utf-8'><title>{html.escape(series.name)} forecasts</title>"
        f"<h1>{html.escape(series.name)}: {len(series)} values, season {config['season']}, "
        f"horizon {horizon}</h1><pre>{html.escape(table)}</pre>{images}"
    )
    os.makedirs(os.path.dirname(run[RunFolder.REPORT]), exist_ok=True)
    with run.writing(RunFolder.REPORT) as path, open(path, "w", encoding="utf-8") as f:
        f.write(page)
    return table


def main(argv=None):
    config, output_dir = parse_args(sys.argv[1:] if argv is None else argv)
    # First: a multi-worker strategy starts its collectives before any other TensorFlow op.
    distribution = ks.training.distribution_strategy(config["distribution"])
    output_dir = cli.worker_output_dir(output_dir, distribution)
    try:
        series, split, run = prepare(config, output_dir)
    except (ValueError, OSError, ImportError) as error:
        return cli.fail(error)
    print(
        f"{series.name}: {len(series)} values, season {config['season']}; forecasting "
        f"{config['horizon']} steps from {config['lookback']}; train {split.valid_start}, "
        f"validation {split.test_start - split.valid_start}, test {config['test_size']}."
    )
    values = series.values.astype("float32")
    features = ks.data.seasonal_features(len(values), config["season"])
    lookback, horizon = config["lookback"], config["horizon"]

    def windows(start, stop):
        at = np.arange(max(start, lookback), stop - horizon + 1)
        return at, ks.data.make_windows(values, features, at, lookback, horizon)

    test_origins, test = windows(split.test_start, split.length)
    data = {
        "values": series.values, "features": features, "test": test, "test_origins": test_origins,
        "history": series.values[: split.valid_start], "train": windows(0, split.valid_start)[1],
        "valid": windows(split.valid_start, split.test_start)[1],
    }  # fmt: skip
    results = [run_variant(name, config, data, run, distribution) for name in config["variants"]]
    with ks.cluster.leaving_together(distribution):  # no worker exits before the chief
        if not ks.cluster.is_chief(distribution):
            cli.end_worker(run, distribution)
            return 0
        print(write_report(config, run, series, data, results))
        if EXPORTED in config["variants"]:  # the run folder is the preset of that variant
            forecaster = ks.Forecaster.from_preset(os.path.join(run.path, "variants", EXPORTED))
            forecaster.save_to_preset(run.path)
            print(
                f"Preset ({EXPORTED}): {run.path} (ks.Forecaster.from_preset, keras-seq forecast)"
            )
            if config["export"]:
                written = forecaster.export(run.path, quantizations=config["quantizations"])
                print(f"Exported {EXPORTED}: {written['saved_model']}, {run[RunFolder.TFLITE]}")
        print(f"Run folder: {run.path} (comparison.md, metrics.json, forecasts.png, report/)")
        return 0


if __name__ == "__main__":
    sys.exit(main())
