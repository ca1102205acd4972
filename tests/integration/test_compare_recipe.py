"""recipes/compare.py: a small comparison run writes its table, JSON and plot, and resumes."""

import json

import pytest

from tests.integration.recipe_runner import load_recipe

ARGS = ["--quick", "--num-pairs", "1000", "--epochs", "1", "--units", "16", "--layers", "1"]


@pytest.mark.slow
def test_a_small_comparison_measures_each_variant_and_resumes(tmp_path, capsys):
    # In this process: each variant is trained in a child process of its own.
    compare = load_recipe("compare")
    run = tmp_path / "compare"
    args = [*ARGS, "--variants", "rnn_uni_luong", "transformer", "--output-dir", str(run)]
    assert compare.main(args) == 0
    report = json.loads((run / "comparison.json").read_text())
    results = report["results"]
    assert [r["variant"] for r in results] == ["rnn_uni_luong", "transformer"]
    for result in results:
        assert result["parameters"] > 1000 and result["target_tokens_per_second"] > 0
        assert result["peak_rss_bytes"] > 100e6  # a process with TensorFlow in it
        assert 0 <= result["test_bleu_greedy"] <= 100 and len(result["train_loss_curve"]) == 1
        assert result["tflite_bytes_int8"] < result["tflite_bytes_float32"]
        assert result["latency_ms_float32"] > 0 and result["latency_ms_int8"] > 0
    assert report["settings"]["epochs"] == 1 and report["machine"]["cpu_count"] >= 1
    table = (run / "comparison.md").read_text()
    assert table.count("\n| ") == 3 and "| transformer |" in table
    assert (run / "comparison.png").read_bytes()[:4] == b"\x89PNG"
    assert (run / "variants" / "transformer" / "model.keras").is_file()  # each one a preset

    capsys.readouterr()
    assert compare.main(args) == 0 and capsys.readouterr().out.count("done earlier") == 2
    assert compare.main([*args, "--epochs", "2"]) == 2
    assert "'epochs': (1, 2)" in capsys.readouterr().err


def test_bad_flags_are_argparse_errors(capsys):
    compare = load_recipe("compare")
    for argv, message in (
        (["--variants", "lstm_tri"], "argument --variants: invalid choice: 'lstm_tri'"),
        (["--epochs", "0"], "argument --epochs"),
        (["--dataset", "nowhere:x"], "argument --dataset"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            compare.main(argv)
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err
