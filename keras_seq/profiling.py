"""Measuring a model's cost on this machine: peak memory, median latency, the machine.

The benchmark harness (`benchmarks/`) and `recipes/compare.py` measure with these.
"""

import os
import platform
import statistics
import sys
import threading
import time

import keras
import tensorflow as tf

__all__ = ["PeakRSS", "machine", "median_ms", "rss_bytes"]


def rss_bytes():
    """This process's resident set size now."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Context manager sampling the process's resident set every `interval` seconds.

    `peak_bytes` is the largest sample: the whole process (Python, TensorFlow's
    runtime, and whatever earlier work still holds), not the work alone.
    """

    def __init__(self, interval=0.005):
        self.interval = interval
        self.peak_bytes = 0
        self._done = threading.Event()

    def _sample(self):
        while not self._done.is_set():
            self.peak_bytes = max(self.peak_bytes, rss_bytes())
            self._done.wait(self.interval)

    def __enter__(self):
        self.peak_bytes = rss_bytes()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, rss_bytes())


def median_ms(fn, repeats):
    """Median milliseconds of `repeats` calls of `fn`, after one warm-up call."""
    fn()  # warm up (tracing, allocation)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


# The instruction sets that change the CPU timings most (oneDNN's and XNNPACK's kernels).
CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile")


def machine():
    """What a timing was measured on: versions, the CPU's model and its vector extensions."""
    return {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        **cpu_model(),
    }


def cpu_model(cpuinfo="/proc/cpuinfo"):
    """`{"cpu_model", "cpu_flags"}` read from Linux's `cpuinfo`; empty elsewhere."""
    try:
        with open(cpuinfo) as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
    except OSError:
        return {}
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = set(fields.get("flags", "").split())
    return {
        "cpu_model": fields.get("model name", "unknown"),
        "cpu_flags": [flag for flag in CPU_FLAGS if flag in flags],
    }
