"""recipes/forecast.py: the comparison on a user's CSV, its files, resume, export, bad input."""

import json
import os
import re

import numpy as np
import pytest

import keras_seq as ks
from tests.integration.recipe_runner import load_recipe


def monthly_csv(path, length=150, gap_at=None):
    t = np.arange(length)
    values = 100 + 0.5 * t + 8 * np.sin(2 * np.pi * t / 12)
    lines = ["date,sales"]
    for i, value in enumerate(values):
        lines.append(f"{2000 + i // 12}-{i % 12 + 1:02d}-01,{'' if i == gap_at else value}")
    path.write_text("\n".join(lines) + "\n")
    return f"csv:{path}"


@pytest.mark.slow
def test_a_quick_run_compares_the_variants_exports_the_model_and_resumes(tmp_path, capsys):
    recipe = load_recipe("forecast")
    run = tmp_path / "run"
    args = ["--quick", "--dataset", monthly_csv(tmp_path / "sales.csv"), "--epochs", "2"]
    args += ["--variants", "seasonal_naive", "seq2seq", "attention_sampling"]
    args += ["--quantizations", "float32", "--output-dir", str(run)]
    assert recipe.main(args) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["settings"]["season"] == 12 and metrics["settings"]["horizon"] == 12
    results = {r["variant"]: r for r in metrics["results"]}
    assert list(results) == ["seasonal_naive", "seq2seq", "attention_sampling"]
    for result in results.values():
        assert result["mase"] > 0 and 0 < result["smape"] < 200
        assert len(result["mase_per_step"]) == len(result["smape_per_step"]) == 12
    for name in ("seq2seq", "attention_sampling"):
        assert 0 <= results[name]["coverage"] <= 100 and results[name]["epochs_run"] == 2
        assert (run / "variants" / name / "model.keras").is_file()
    history = (run / "variants" / "attention_sampling" / "history.csv").read_text().splitlines()
    assert float(history[-1].split(",")[history[0].split(",").index("sampling_probability")]) > 0
    table = (run / "comparison.md").read_text()
    assert table.count("\n| ") == 3 and "| attention_sampling |" in table
    for name in ("forecasts.png", "mase_per_step.png"):
        assert (run / name).read_bytes()[:4] == b"\x89PNG"
    assert "attention_sampling" in (run / "report" / "index.html").read_text()
    assert (run / "saved_model" / "saved_model.pb").is_file()
    assert sorted(os.listdir(run / "tflite")) == ["forecaster.tflite"]  # --quantizations
    # The run folder and each trained variant's folder are Forecaster presets.
    values = np.loadtxt(tmp_path / "sales.csv", delimiter=",", skiprows=1, usecols=1)
    for folder in (run, run / "variants" / "seq2seq"):
        forecaster = ks.Forecaster.from_preset(folder)
        assert forecaster.season == 12 and forecaster.interval_scales.shape == (12,)
        assert forecaster.forecast(values).point.shape == (12,)

    capsys.readouterr()
    assert recipe.main(args) == 0 and capsys.readouterr().out.count("done earlier") == 3
    assert recipe.main([*args, "--units", "9"]) == 2
    assert "'units': (8, 9)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra, length, gap_at, message",
    [
        ([], 150, 40, r"sales.csv:42: no value in column 'sales' \(a gap\)"),
        (
            ["--horizon", "30", "--test-size", "20"],
            150,
            None,
            r"horizon \(30\) is longer than the test tail \(20",
        ),
        ([], 60, None, "The series is too short: 60 values"),
    ],
)
def test_bad_series_input_is_one_clear_error(tmp_path, capsys, extra, length, gap_at, message):
    recipe = load_recipe("forecast")
    dataset = monthly_csv(tmp_path / "sales.csv", length, gap_at)
    args = ["--dataset", dataset, *extra, "--output-dir", str(tmp_path / "run")]
    assert recipe.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert re.search(message, err), err
    assert not (tmp_path / "run").exists()  # nothing written


def test_baselines_forecast_from_each_origin():
    recipe = load_recipe("forecast")
    values = np.arange(100, dtype=float)
    np.testing.assert_allclose(recipe.seasonal_naive(values, [50], 3, 12), [[38, 39, 40]])
    smoothed = recipe.ets(values, [70, 80], 5, 1)  # a straight line: its trend continues
    assert smoothed.shape == (2, 5)
    np.testing.assert_allclose(smoothed, [np.arange(70, 75), np.arange(80, 85)], atol=0.5)
