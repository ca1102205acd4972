"""Markdown tables of a `python -m benchmarks` JSON: what the README's Performance section shows.

Usage: python -m benchmarks.report benchmark-results.json
"""

import argparse
import json

from benchmarks.flops import forward_flops

SETTINGS = (
    ("float32", False, "float32"),
    ("float32", True, "float32 + XLA"),
    ("mixed_bfloat16", False, "mixed_bfloat16"),
    ("mixed_bfloat16", True, "mixed_bfloat16 + XLA"),
)


def ceilings_line(result):
    c = result["ceilings"]
    return (
        f"Ceilings measured in the run: matmul {c['matmul_gflops_float32']:.0f} GFLOP/s float32, "
        f"{c['matmul_gflops_bfloat16']:.0f} bfloat16; memory bandwidth "
        f"{c['memory_bandwidth_gbs']:.1f} GB/s."
    )


def training_table(result):
    """Target tokens/s, ratio to the reference and fraction of the ceiling, per setting."""
    rows = result["training"]["results"]
    by_key = {(r["variant"], r["precision"], r["jit_compile"]): r for r in rows}
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    settings = [s for s in SETTINGS if any((v, s[0], s[1]) in by_key for v in variants)]
    lines = [
        "| target tokens/s (× reference, % of matmul ceiling) | "
        + " | ".join(s[2] for s in settings)
        + " |",
        "|---" * (len(settings) + 1) + "|",
    ]
    for variant in variants:
        cells = []
        for precision, jit, _ in settings:
            r = by_key.get((variant, precision, jit))
            cells.append(
                "–"
                if r is None
                else f"{r['target_tokens_per_second']:,.0f} ({r['ratio_to_reference']:.2f}×, "
                f"{100 * r['fraction_of_matmul_ceiling']:.0f} %)"
            )
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def decoding_table(result):
    """Latency of one sentence and measured batch-64 sentences/s of every decoder."""
    part = result["decoding"]["results"]
    lines = ["| decoder | one sentence, ms | batch of 64, sentences/s |", "|---|---|---|"]

    def add(name, timing):
        lines.append(
            f"| {name} | {timing['latency_ms']:.1f} | "
            f"{timing['batch64_sentences_per_second']:.0f} |"
        )

    for method, timing in part["keras"].items():
        add(f"Keras `generate`, {method}", timing)
    add("built-in reference greedy loop", part["reference"]["greedy"])
    for method in ("greedy", "beam"):
        add(f"SavedModel, {method}", part["saved_model"][method])
    same = part.get("reference_architecture")
    if same:  # results written before it was measured have none
        add("Keras `generate`, greedy, the reference's architecture", same["keras_greedy"])
        add("SavedModel, greedy, the reference's architecture", same["saved_model_greedy"])
    groups = (
        ("tflite", "TFLite"),
        ("tflite_shortlist", "TFLite + shortlist"),
        ("tflite_tied", "TFLite, tied output (the small preset's shape)"),
    )
    for group, label in groups:
        for name, entry in part.get(group, {}).items():
            for threads in sorted(k for k in entry if k.startswith("threads_")):
                count = threads.removeprefix("threads_")
                add(f"{label} `{name}`, {count} thread(s)", entry[threads])
    return "\n".join(lines)


def beam_ceiling(result):
    """Batch-64 beam search through the SavedModel against the float32 matmul ceiling.

    Returns `(measured, ceiling)` sentences/s: a sentence's model FLOPs are its encoder
    once, then `beam_size` hypotheses for each of the `max_steps` decoded steps
    (`benchmarks.flops`, the standard Bahdanau-style translator); the ceiling is the
    run's float32 matmul rate over them."""
    part = result["decoding"]
    config = part["config"]
    hypothesis_steps = config["beam_size"] * part["max_steps"]
    flops = forward_flops("bahdanau", config, [part["source_tokens"]], [hypothesis_steps])
    ceiling = result["ceilings"]["matmul_gflops_float32"] * 1e9 / flops
    return part["results"]["saved_model"]["beam"]["batch64_sentences_per_second"], ceiling


def beam_ceiling_line(result):
    measured, ceiling = beam_ceiling(result)
    return (
        f"SavedModel beam-{result['decoding']['config']['beam_size']}, batch of 64: "
        f"{measured:.1f} sentences/s, {100 * measured / ceiling:.0f} % of the {ceiling:.1f} "
        "the float32 matmul ceiling allows."
    )


def browser_table(result):
    """The translator page's time for one sentence against the Python LiteRT client's."""
    part = result["browser"]
    if "skipped" in part:
        return f"Browser: skipped ({part['skipped']})."
    lines = [
        "| page model | LiteRT.js, ms | Python LiteRT 1 thread, ms | browser / Python |",
        "|---|---|---|---|",
    ]
    pages = {k: v for k, v in part.items() if isinstance(v, dict) and "models" in v}
    for quantization, page in pages.items():
        for name, entry in page["models"].items():
            lines.append(
                f"| {name} {quantization} | {entry['browser_ms']:.1f} | "
                f"{entry['python_1_thread_ms']:.1f} | {entry['browser_over_python']:.2f}× |"
            )
    for name, entry in part.get("kernels", {}).items():
        lines.append(
            f"| kernel `{name}` | {entry['browser_ms']:.2f} | "
            f"{entry['python_xnnpack_ms']:.2f} | {entry['browser_over_python']:.2f}× |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", help="a JSON written by python -m benchmarks")
    args = parser.parse_args()
    with open(args.results) as f:
        result = json.load(f)
    print(ceilings_line(result), end="\n\n")
    if "training" in result:
        print(training_table(result), end="\n\n")
    if "decoding" in result:
        print(decoding_table(result), end="\n\n")
        print(beam_ceiling_line(result), end="\n\n")
    if "browser" in result:
        print(browser_table(result))


if __name__ == "__main__":
    main()
