"""Scaling curves: training tokens/s against batch size and sequence length, TFLite greedy
latency against output length and vocabulary size; JSON and one PNG.

Training: Luong fused teacher forcing and the built-in reference, float32, on the
standard configuration; batch sizes 16-256 (lengths uniform in 8..24), and lengths
8-64 at batch 64 (every source and target that long). Decoding: the standard
Bahdanau translator's greedy TFLite model (float32, one thread, one 16-token
sentence) with 10-100 output steps, and with target vocabularies 2000-32000 at 30.

Usage: python -m benchmarks.scaling [--output out.json] [--plot curves.png]
"""

import argparse
import functools

from benchmarks.common import (
    QUICK_BATCH,
    QUICK_CONFIG,
    STANDARD_BATCH,
    STANDARD_CONFIG,
    machine,
    median_ms,
    progress,
    write_json,
)
from benchmarks.train_throughput import REFERENCE, batches, measure

CURVE_VARIANTS = (REFERENCE, "luong_fused_teacher_forcing")
STANDARD_POINTS = {
    "batch_sizes": (16, 32, 64, 128, 256),
    "lengths": (8, 16, 32, 64),
    "output_lengths": (10, 30, 60, 100),
    "vocab_sizes": (2000, 8000, 32000),
}
QUICK_POINTS = {  # a smoke run: one training point per curve (each is a model built and traced)
    "batch_sizes": (8,),
    "lengths": (8,),
    "output_lengths": (4, 8),
    "vocab_sizes": (100, 300),
}


def training_curve(config, batch, points, key, steps, repeats, variants=CURVE_VARIANTS):
    """`{variant: [tokens/s per point]}`, varying `batch`'s size or its lengths."""
    curve = {variant: [] for variant in variants}
    for point in points:
        batch_size, lengths = batch["batch_size"], (point, point)
        if key == "batch_size":
            batch_size, lengths = point, batch["lengths"]
        data = batches(steps, batch_size, config["source_vocab_size"], lengths)
        for variant in variants:
            progress(f"scaling: training {variant}, {key} {point}")
            result = measure(variant, "float32", False, repeats, data, config)
            curve[variant].append(result["target_tokens_per_second"])
    return curve


def greedy_latency_ms(config, steps, source_tokens, repeats):
    """Median latency of the greedy TFLite model (float32, one thread) for one sentence."""
    from ai_edge_litert.interpreter import Interpreter

    from benchmarks.decoding import sentences, standard_translator
    from keras_seq.decoding import GreedySearch
    from keras_seq.export.tflite import convert

    translator = standard_translator(config, steps, source_tokens)
    content = convert(translator, GreedySearch())
    runner = Interpreter(model_content=content, num_threads=1).get_signature_runner()
    one = sentences(translator, 1, source_tokens)
    return median_ms(lambda: runner(source_ids=one), repeats)


def run(quick=False):
    """The scaling part of the harness."""
    config, batch, points = (QUICK_CONFIG, QUICK_BATCH, QUICK_POINTS)
    if not quick:
        config, batch, points = (STANDARD_CONFIG, STANDARD_BATCH, STANDARD_POINTS)
    steps, repeats = (1, 1) if quick else (4, 2)
    source_tokens = 4 if quick else 16
    variants = CURVE_VARIANTS[1:] if quick else CURVE_VARIANTS  # a smoke run: ours alone
    curves = {
        key: training_curve(config, batch, points[f"{key}s"], key, steps, repeats, variants)
        for key in ("batch_size", "length")
    }

    @functools.cache  # the two decoding curves meet at the standard vocabulary
    def latency_ms(vocab, steps_out):
        progress(f"scaling: TFLite greedy, target vocabulary {vocab}, {steps_out} output steps")
        sized = {**config, "target_vocab_size": vocab}
        return greedy_latency_ms(sized, steps_out, source_tokens, 3 if quick else 10)

    vocab_steps = 8 if quick else 30
    curves["output_length"] = [
        latency_ms(config["target_vocab_size"], steps_out) for steps_out in points["output_lengths"]
    ]
    curves["vocab_size"] = [latency_ms(vocab, vocab_steps) for vocab in points["vocab_sizes"]]
    return {
        "points": points,
        "training": "target tokens/s, float32, XLA off",
        "decoding": "TFLite greedy float32 ms, 1 thread, one sentence",
        "curves": curves,
    }


def plot(part, path):
    """One PNG with the four curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points, curves = part["points"], part["curves"]
    figure, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    for ax, key, points_key, label in (
        (axes[0, 0], "batch_size", "batch_sizes", "batch size"),
        (axes[0, 1], "length", "lengths", "source and target length"),
    ):
        for variant, rates in curves[key].items():
            ax.plot(points[points_key], rates, marker="o", label=variant.replace("_", " "))
        ax.set(xlabel=label, ylabel="target tokens / s (float32)", xscale="log", ylim=(0, None))
        ax.set_xticks(points[points_key], [str(p) for p in points[points_key]])
        ax.minorticks_off()  # log axes otherwise label their minor ticks too
        ax.legend(fontsize=8)
    for ax, key, points_key, label in (
        (axes[1, 0], "output_length", "output_lengths", "output steps"),
        (axes[1, 1], "vocab_size", "vocab_sizes", "target vocabulary"),
    ):
        ax.plot(points[points_key], curves[key], marker="o", color="C2")
        ax.set(xlabel=label, ylabel="TFLite greedy ms (1 thread)", ylim=(0, None))
    axes[1, 1].set_xscale("log")
    axes[1, 1].set_xticks(points["vocab_sizes"], [str(p) for p in points["vocab_sizes"]])
    axes[1, 1].minorticks_off()
    figure.suptitle("keras_seq scaling (python -m benchmarks --only scaling)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output")
    parser.add_argument("--plot", default="scaling.png")
    args = parser.parse_args()
    part = run(args.quick)
    part["plot"] = plot(part, args.plot)
    write_json({"benchmark": "scaling", "machine": machine(), **part}, args.output)


if __name__ == "__main__":
    main()
