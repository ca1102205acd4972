"""The benchmark harness (`python -m benchmarks`) and its analytic FLOPs.

The FLOPs are what every "fraction of the ceiling" is computed from, so they
are checked against the models themselves: for a one-token source and target,
the forward pass multiplies by every matmul weight once (2 FLOPs per weight),
plus the scores and the context over the one source position.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from benchmarks import report
from benchmarks.flops import forward_flops, training_flops
from benchmarks.reference import reference_model
from keras_seq.profiling import cpu_model
from tests.shared import missing

# The harness's tests share one run of it: one worker runs them all.
pytestmark = pytest.mark.xdist_group("benchmarks")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = dict(
    source_vocab_size=50,
    target_vocab_size=40,
    embedding_dim=8,
    units=8,
    encoder_layers=2,
    decoder_layers=1,
    decoder_units=16,
    attention_units=12,
    cell="lstm",
)


def matmul_weights(model):
    """Weights a token is multiplied by: kernels, and the additive attention's vector."""
    return sum(
        int(np.prod(w.shape))
        for w in model.weights
        if (len(w.shape) == 2 and "embedding" not in w.path and not w.path.endswith("bias"))
        or w.path.endswith("/scale")
    )  # (a GRU's bias is 2-D: one for the input's products, one for the state's)


@pytest.mark.parametrize("style", ["luong", "luong_tied", "bahdanau", "reference"])
def test_flops_of_one_token_pair_are_twice_the_matmul_weights(style):
    import keras_seq as ks

    if style == "reference":
        model = reference_model(**CONFIG)
    else:
        attention = "bahdanau" if style == "bahdanau" else "luong_general"
        tied = style == "luong_tied"
        model = ks.models.build_seq2seq(attention=attention, tie_embeddings=tied, **CONFIG)
    ones = np.ones((1, 1), "int32")
    model({"source_ids": ones, "target_ids": ones})
    memory = 2 * CONFIG["units"]
    luong = style.startswith("luong")
    scores = 2 * CONFIG["decoder_units"] if luong else 0  # a dot product: no weight
    expected = 2 * matmul_weights(model) + scores + 2 * memory
    if style == "luong_tied":  # the target embedding, multiplied by as the output's weights
        expected += 2 * CONFIG["embedding_dim"] * CONFIG["target_vocab_size"]
    assert forward_flops(style, CONFIG, [1], [1]) == expected


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_another_model_size_has_the_widths_build_seq2seq_gives_it(cell):
    import keras_seq as ks
    from benchmarks.train_throughput import sized

    standard_batch = {"batch_size": 8, "lengths": (4, 8)}
    config, batch = sized(
        CONFIG, standard_batch, units=6, embedding_dim=10, vocab_size=30, encoder_layers=1,
        batch_size=4, cell=cell,
    )  # fmt: skip
    assert config["cell"] == cell and CONFIG["cell"] == "lstm"
    assert batch == {"batch_size": 4, "lengths": (4, 8)} and standard_batch["batch_size"] == 8
    assert CONFIG["units"] == 8  # the standard is left as it was
    # Built with build_seq2seq's own decoder and attention widths, the model has the
    # weights the FLOPs of the sized configuration count.
    own_widths = {k: v for k, v in config.items() if k not in ("decoder_units", "attention_units")}
    model = ks.models.build_seq2seq(attention="luong_general", **own_widths)
    ones = np.ones((1, 1), "int32")
    model({"source_ids": ones, "target_ids": ones})
    scores_and_context = 2 * config["decoder_units"] + 2 * 2 * config["units"]
    assert (
        forward_flops("luong", config, [1], [1]) == 2 * matmul_weights(model) + scores_and_context
    )
    assert model.get_layer("decoder").output_dense.units == 30


def test_flops_grow_with_lengths_and_training_is_three_forward_passes():
    short = forward_flops("luong", CONFIG, [3, 4], [5, 6])
    longer = forward_flops("luong", CONFIG, [3, 8], [5, 6])
    assert longer > short
    assert training_flops("luong", CONFIG, [3, 4], [5, 6]) == 3 * short
    with pytest.raises(ValueError, match="style"):
        forward_flops("transformer", CONFIG, [1], [1])


def test_the_beam_ceiling_counts_the_encoder_once_and_every_hypothesis_step():
    config = {**CONFIG, "attention": "bahdanau", "beam_size": 4}
    rate = 10.0
    result = {
        "ceilings": {"matmul_gflops_float32": 2.0},
        "decoding": {
            "config": config,
            "source_tokens": 6,
            "max_steps": 3,
            "results": {"saved_model": {"beam": {"batch64_sentences_per_second": rate}}},
        },
    }
    measured, ceiling = report.beam_ceiling(result)
    # One encoder pass of 6 tokens, then 4 hypotheses x 3 steps each attending over 6.
    encoder = forward_flops("bahdanau", config, [6], [0])
    step = forward_flops("bahdanau", config, [6], [1]) - encoder
    assert measured == rate
    assert ceiling == pytest.approx(2e9 / (encoder + 12 * step))
    # Counting the encoder once per hypothesis would lower the ceiling.
    assert ceiling > 2e9 / (4 * forward_flops("bahdanau", config, [6], [3]))
    assert f"{100 * rate / ceiling:.0f} % of the {ceiling:.1f}" in report.beam_ceiling_line(result)


def test_the_machine_names_the_cpu_and_the_vector_extensions_that_move_timings(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    processor = "model name\t: AMD EPYC 9B14\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16\n\n"
    cpuinfo.write_text("processor\t: 0\n" + processor + "processor\t: 1\n" + processor)
    assert cpu_model(cpuinfo) == {
        "cpu_model": "AMD EPYC 9B14",
        "cpu_flags": ["avx2", "avx512f", "avx512_bf16"],
    }
    assert cpu_model(tmp_path / "missing") == {}  # not Linux: the fields are left out


@pytest.fixture(scope="module")
def quick_harness(tmp_path_factory):
    """`python -m benchmarks --quick`'s JSON: every part, in one child process (one
    TensorFlow start and one ceiling measurement for the three tests below)."""
    output = tmp_path_factory.mktemp("benchmarks") / "new folder" / "results.json"
    subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--output", str(output)],
        cwd=ROOT,
        check=True,
        timeout=900,
    )
    result = json.loads(output.read_text())
    assert result["quick"] is True
    assert set(result) >= {"machine", "ceilings", "training", "decoding", "scaling", "browser"}
    assert {"cpu_count", "cpu_model", "cpu_flags"} <= set(result["machine"])
    ceilings = result["ceilings"]
    assert ceilings["matmul_gflops_float32"] > 0 and ceilings["memory_bandwidth_gbs"] > 0
    return result, output


@pytest.mark.slow
def test_quick_harness_measures_training(quick_harness):
    result, _ = quick_harness
    training = result["training"]["results"]
    assert {r["variant"] for r in training} >= {"keras_builtins_reference", "bahdanau_loop"}
    assert {r["precision"] for r in training} == {"float32", "mixed_bfloat16"}
    for r in training:
        assert r["target_tokens_per_second"] > 0 and r["peak_rss_bytes"] > 100e6
        assert r["ratio_to_reference"] > 0 and 0 < r["fraction_of_matmul_ceiling"]
        assert r["model_flops_per_target_token"] > 0
    assert all(r["ratio_to_reference"] == 1 for r in training if r["variant"].startswith("keras"))
    # The README's tables come from this JSON.
    training_rows = report.training_table(result).splitlines()[2:]
    assert len(training_rows) == len({r["variant"] for r in training})
    assert "| keras_builtins_reference | " in report.training_table(result)
    assert "(1.00×" in report.training_table(result)


@pytest.mark.slow
def test_quick_harness_measures_decoding(quick_harness):
    result, _ = quick_harness
    decoding = result["decoding"]["results"]
    steps = result["decoding"]["max_steps"]
    assert decoding["keras"]["greedy"]["decoded_steps"] == steps
    assert decoding["reference"]["greedy"]["batch64_sentences_per_second"] > 0
    assert set(decoding["saved_model"]) == {"greedy", "beam", "size_bytes"}
    # The loops compared on one architecture; the standard decoder's steps cost more.
    same = decoding["reference_architecture"]
    assert same["step_flops"]["bahdanau"] > same["step_flops"]["reference"] > 0
    rate = decoding["reference"]["greedy"]["batch64_sentences_per_second"]
    assert decoding["saved_model_greedy_over_reference"] == pytest.approx(
        same["saved_model_greedy"]["batch64_sentences_per_second"] / rate
    )
    assert "SavedModel, greedy, the reference's architecture" in report.decoding_table(result)
    measured, ceiling = report.beam_ceiling(result)
    assert 0 < measured < ceiling
    # Greedy and beam in int8 (the full run adds float32 and float16); the shortlist too.
    assert sorted(decoding["tflite"]) == ["beam_int8.tflite", "greedy_int8.tflite"]
    assert sorted(decoding["tflite_shortlist"]) == ["beam_int8.tflite", "greedy_int8.tflite"]
    one_thread = {n: e["threads_1"]["latency_ms"] for n, e in decoding["tflite"].items()}
    assert decoding["beam_over_greedy_tflite"] == pytest.approx(
        one_thread["beam_int8.tflite"] / one_thread["greedy_int8.tflite"]
    )
    for entry in [*decoding["tflite"].values(), *decoding["tflite_shortlist"].values()]:
        assert entry["threads_1"]["decoded_steps"] == steps
        assert entry["threads_1"]["batch64_sentences_per_second"] > 0
    assert 0 < decoding["shortlist_candidates"] < result["decoding"]["config"]["target_vocab_size"]
    tied = decoding["tflite_tied"]
    assert sorted(tied) == ["beam_int8.tflite", "greedy_int8.tflite"]
    assert all(entry["threads_1"]["decoded_steps"] == steps for entry in tied.values())
    assert decoding["beam_over_greedy_tied"] == pytest.approx(
        tied["beam_int8.tflite"]["threads_1"]["latency_ms"]
        / tied["greedy_int8.tflite"]["threads_1"]["latency_ms"]
    )
    assert "TFLite + shortlist `greedy_int8.tflite`, 1 thread(s)" in report.decoding_table(result)


@pytest.mark.slow
def test_quick_harness_measures_scaling_and_plots_it(quick_harness):
    result, output = quick_harness
    curves = result["scaling"]["curves"]
    points = result["scaling"]["points"]
    assert len(curves["batch_size"]["luong_fused_teacher_forcing"]) == len(points["batch_sizes"])
    assert len(curves["vocab_size"]) == len(points["vocab_sizes"])
    with open(result["scaling"]["plot"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert result["scaling"]["plot"] == str(output.with_suffix(".png"))


@pytest.mark.slow
def test_quick_harness_times_the_browser_page_against_python_litert(quick_harness):
    result, _ = quick_harness
    part = result["browser"]
    if "skipped" in part:  # no Chromium or npm here
        missing(f"the harness's browser part was skipped: {part['skipped']}")
    assert part["config"]["tie_embeddings"] and part["sentence"]
    for quantization in ("float32", "int8"):
        page = part[quantization]
        assert page["quantization"] == quantization and page["page_load_ms"] > 0
        assert page["browser_all_cores_threads"] == os.cpu_count()
        assert set(page["models"]) == {"greedy", "beam"}
        for entry in page["models"].values():
            assert entry["same_translation"], entry  # the page and the client agree
            assert entry["browser_over_python"] == pytest.approx(
                entry["browser_ms"] / entry["python_1_thread_ms"]
            )
    kernels = part["kernels"]
    assert set(kernels) == {
        f"{kernel}{rows}_{quantization}"
        for kernel in ("fc", "loop")
        for rows in (1, 5)
        for quantization in ("float32", "int8")
    }
    for entry in kernels.values():
        assert entry["browser_ms"] > 0 and entry["python_builtin_ms"] > 0
        assert entry["browser_over_python"] == pytest.approx(
            entry["browser_ms"] / entry["python_xnnpack_ms"]
        )
    table = report.browser_table(result)
    assert "| greedy int8 |" in table and "× |" in table
