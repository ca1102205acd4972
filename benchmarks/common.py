"""Shared pieces of the benchmark scripts: machine ceiling, timing, JSON output."""

import json
import os
import platform
import statistics
import sys
import time

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


def standard_model(attention, **options):
    """An untrained `build_seq2seq` model of the standard configuration."""
    import keras_seq as ks

    return ks.models.build_seq2seq(attention=attention, **STANDARD_CONFIG, **options)


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


def median_ms(fn, repeats):
    """Median milliseconds of `repeats` calls of `fn`, after one warm-up call."""
    fn()  # warm up (tracing, allocation)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def machine():
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }


def write_json(result, path=None):
    text = json.dumps(result, indent=2)
    if path:
        with open(path, "w") as f:
            f.write(text + "\n")
    print(text)
