"""Shared pieces of the benchmarks: configurations, machine ceilings, timing, memory, JSON."""

import json
import statistics
import sys
import time

from keras_seq.profiling import PeakRSS, machine, median_ms, rss_bytes  # noqa: F401  (theirs)

# The standard configuration of the issues' targets: vocabularies 8000/8000, embedding 256,
# bidirectional LSTM 2x256 encoder, LSTM 512 decoder, attention 512.
STANDARD_CONFIG = {
    "source_vocab_size": 8000,
    "target_vocab_size": 8000,
    "embedding_dim": 256,
    "units": 256,
    "encoder_layers": 2,
    "decoder_layers": 1,
    "decoder_units": 512,
    "attention_units": 512,
    "cell": "lstm",
}
STANDARD_BATCH = {"batch_size": 64, "lengths": (8, 24)}
# What the `small` preset trains on a caption corpus (Multi30k: a joint vocabulary of
# 10,000): one bidirectional LSTM layer of 256, decoder 512, Luong general attention, the
# output tied to the 256-wide target embedding.
TIED_CONFIG = {
    **STANDARD_CONFIG,
    "source_vocab_size": 10_000,
    "target_vocab_size": 10_000,
    "encoder_layers": 1,
}
TIED_OPTIONS = {"attention": "luong_general", "tie_embeddings": True}

# `--quick`: the same shapes of work, small enough for a test to run every part in minutes.
QUICK_CONFIG = {
    **STANDARD_CONFIG,
    "source_vocab_size": 300,
    "target_vocab_size": 300,
    "embedding_dim": 16,
    "units": 16,
    "decoder_units": 32,
    "attention_units": 32,
}
QUICK_BATCH = {"batch_size": 8, "lengths": (4, 8)}
QUICK_TIED_CONFIG = {**QUICK_CONFIG, "encoder_layers": 1}


def standard_model(attention, config=None, **options):
    """An untrained `build_seq2seq` model of `config` (default: the standard configuration)."""
    import keras_seq as ks

    return ks.models.build_seq2seq(attention=attention, **(config or STANDARD_CONFIG), **options)


def matmul_gflops(size=2048, repeats=5, dtype="float32"):
    """Median `tf.matmul` rate of this machine, the ceiling figures are read against."""
    import tensorflow as tf

    a = tf.cast(tf.random.normal((size, size)), dtype)
    b = tf.cast(tf.random.normal((size, size)), dtype)
    tf.matmul(a, b).numpy()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        tf.matmul(a, b).numpy()
        rates.append(2 * size**3 / (time.perf_counter() - start) / 1e9)
    return statistics.median(rates)


def memory_bandwidth_gbs(megabytes=256, repeats=5):
    """Median copy rate of a large array in GB/s, bytes read plus bytes written."""
    import numpy as np

    source = np.ones(megabytes * 2**20 // 8)
    target = np.empty_like(source)
    np.copyto(target, source)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(target, source)
        rates.append(2 * source.nbytes / (time.perf_counter() - start) / 1e9)
    return statistics.median(rates)


def ceilings(quick=False):
    """The machine's ceilings, measured in this process: matmul rates and memory bandwidth."""
    size, repeats = (512, 3) if quick else (2048, 5)
    return {
        "matmul_size": size,
        "matmul_gflops_float32": matmul_gflops(size, repeats),
        "matmul_gflops_bfloat16": matmul_gflops(size, repeats, "bfloat16"),
        "memory_bandwidth_gbs": memory_bandwidth_gbs(64 if quick else 256, repeats),
    }


def progress(message):
    """One line of progress on stderr (stdout carries the JSON)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def write_json(result, path=None):
    """Writes `result` to `path`, or prints it when there is no path."""
    text = json.dumps(result, indent=2)
    if not path:
        print(text)
        return
    with open(path, "w") as f:
        f.write(text + "\n")
