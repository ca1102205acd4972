"""Training throughput of `build_seq2seq` in target tokens per second.

Standard configuration (issue 2): vocabularies 8000/8000, embedding 256,
bidirectional LSTM 2x256 encoder, LSTM 512 decoder, attention 512, batch 64,
source and target lengths uniform in 8..24. Every decoder feeding (Luong fused
teacher forcing, Bahdanau loop, loop and parallel scheduled sampling at
probability 0.25) in every precision, with and without XLA, is timed the same
way: `model.train_on_batch` on the same pre-generated batches after a warm-up,
median over repeats. The same model written with Keras built-ins only
(`benchmarks/reference.py`) is timed the same way in each precision, and every
keras_seq figure is given as a ratio against it (`ratio_to_reference`). The
float32 and bfloat16 matmul ceilings are measured in the same run.

Usage: python benchmarks/train_throughput.py [--steps 20] [--repeats 3] [--output out.json]
       [--variants ...] [--precisions float32 mixed_bfloat16] [--jit-compile off on]
"""

import argparse
import statistics
import sys
import time

import numpy as np
from common import STANDARD_CONFIG, machine, matmul_gflops, standard_model, write_json
from reference import compile_reference, reference_model


def batches(count, batch_size, vocab_size, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        source_length = rng.integers(8, 25, size=batch_size)
        target_length = rng.integers(8, 25, size=batch_size)
        source = np.zeros((batch_size, source_length.max()), "int32")
        target = np.zeros((batch_size, target_length.max() + 1), "int32")
        labels = np.zeros_like(target)
        for i in range(batch_size):
            source[i, : source_length[i]] = rng.integers(4, vocab_size, source_length[i])
            tokens = rng.integers(4, vocab_size, target_length[i])
            target[i, : target_length[i] + 1] = [1, *tokens]
            labels[i, : target_length[i] + 1] = [*tokens, 2]
        out.append(({"source_ids": source, "target_ids": target}, labels))
    return out


# The decoder feedings of the table: (build_seq2seq options, sampling probability).
REFERENCE = "keras_builtins_reference"
VARIANTS = {
    REFERENCE: (None, 0.0),
    "luong_fused_teacher_forcing": ({"attention": "luong_general"}, 0.0),
    "bahdanau_loop": ({"attention": "bahdanau"}, 0.0),
    "loop_scheduled_sampling": (
        {"attention": "luong_general", "scheduled_sampling": "loop"},
        0.25,
    ),
    "parallel_scheduled_sampling": (
        {"attention": "luong_general", "scheduled_sampling": "parallel"},
        0.25,
    ),
}


def measure(variant, precision, jit_compile, args, data):
    """Median target tokens per second of `model.train_on_batch` for one configuration."""
    import keras

    import keras_seq as ks

    keras.config.set_dtype_policy(precision)
    options, probability = VARIANTS[variant]
    if options is None:  # the built-in reference: padding weighted out by sample weights
        model = compile_reference(reference_model(**STANDARD_CONFIG), jit_compile=jit_compile)
        steps = [(x, y, (y > 0).astype("float32")) for x, y in data]
    else:
        model = standard_model(**options)
        ks.models.seq2seq_parts(model).decoder.sampling_probability.assign(probability)
        model.compile(
            keras.optimizers.Adam(1e-3), ks.losses.SequenceCrossentropy(), jit_compile=jit_compile
        )
        steps = [(x, y, None) for x, y in data]
    start = time.perf_counter()
    model.train_on_batch(*steps[0])  # trace, compile and warm up
    warm_up = time.perf_counter() - start
    tokens = sum(int((labels > 0).sum()) for _, labels in data)
    rates = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for inputs, labels, weights in steps:
            model.train_on_batch(inputs, labels, sample_weight=weights)
        rates.append(tokens / (time.perf_counter() - start))
    keras.config.set_dtype_policy("float32")
    return {
        "variant": variant,
        "precision": precision,
        "jit_compile": jit_compile,
        "sampling_probability": probability,
        "target_tokens_per_second": statistics.median(rates),
        "runs": rates,
        "steps_per_run": len(data),
        "first_step_seconds": warm_up,
    }


def add_ratios(results):
    """Each result's `ratio_to_reference`: its rate over the reference's, same settings."""
    reference = {
        (r["precision"], r["jit_compile"]): r["target_tokens_per_second"]
        for r in results
        if r["variant"] == REFERENCE
    }
    for r in results:
        rate = reference.get((r["precision"], r["jit_compile"]))
        if rate:
            r["ratio_to_reference"] = r["target_tokens_per_second"] / rate


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument(
        "--precisions",
        nargs="+",
        default=["float32", "mixed_bfloat16"],
        choices=["float32", "mixed_bfloat16", "mixed_float16"],
    )
    parser.add_argument("--jit-compile", nargs="+", default=["off", "on"], choices=["off", "on"])
    parser.add_argument("--output")
    args = parser.parse_args()

    data = batches(args.steps, 64, STANDARD_CONFIG["source_vocab_size"])
    results = []
    for precision in args.precisions:
        for jit in args.jit_compile:
            for variant in args.variants:
                print(f"{variant} {precision} jit={jit}", file=sys.stderr, flush=True)
                results.append(measure(variant, precision, jit == "on", args, data))
    add_ratios(results)
    write_json(
        {
            "benchmark": "train_throughput",
            "config": {**STANDARD_CONFIG, "batch_size": 64, "lengths": [8, 24]},
            "machine": machine(),
            "matmul_gflops_float32": matmul_gflops(),
            "matmul_gflops_bfloat16": matmul_gflops(dtype="bfloat16"),
            "results": results,
        },
        args.output,
    )


if __name__ == "__main__":
    main()
