"""Training throughput of `build_seq2seq` in target tokens per second.

Standard configuration (issue 2): vocabularies 8000/8000, embedding 256,
bidirectional LSTM 2x256 encoder, LSTM 512 decoder, attention 512, batch 64,
source and target lengths uniform in 8..24. Bahdanau-style (a `while_loop` over
`step`) and Luong-style (fused RNN) teacher forcing are timed the same way:
`model.train_on_batch` on the same pre-generated batches after a warm-up,
median over repeats.

Usage: python benchmarks/train_throughput.py [--steps 20] [--repeats 3] [--output out.json]
"""

import argparse
import statistics
import time

import numpy as np
from common import STANDARD_CONFIG, machine, matmul_gflops, standard_model, write_json


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


def measure(attention, args, data):
    import keras

    import keras_seq as ks

    model = standard_model(attention)
    model.compile(
        keras.optimizers.Adam(1e-3), ks.losses.SequenceCrossentropy(), jit_compile=args.jit_compile
    )
    model.train_on_batch(*data[0])  # trace and warm up
    tokens = sum(int((labels > 0).sum()) for _, labels in data)
    rates = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for inputs, labels in data:
            model.train_on_batch(inputs, labels)
        rates.append(tokens / (time.perf_counter() - start))
    return {
        "target_tokens_per_second": statistics.median(rates),
        "runs": rates,
        "steps_per_run": len(data),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jit-compile", action="store_true")
    parser.add_argument(
        "--precision", default="float32", choices=["float32", "mixed_bfloat16", "mixed_float16"]
    )
    parser.add_argument("--output")
    args = parser.parse_args()
    import keras

    keras.config.set_dtype_policy(args.precision)
    data = batches(args.steps, 64, STANDARD_CONFIG["source_vocab_size"])
    result = {
        "benchmark": "train_throughput",
        "config": {
            **STANDARD_CONFIG,
            "batch_size": 64,
            "lengths": [8, 24],
            "jit_compile": args.jit_compile,
            "precision": args.precision,
        },
        "machine": machine(),
        "matmul_gflops_float32": matmul_gflops(),
        "results": {name: measure(name, args, data) for name in ("bahdanau", "luong_general")},
    }
    write_json(result, args.output)


if __name__ == "__main__":
    main()
