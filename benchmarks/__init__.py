"""Speed and memory benchmarks of keras_seq; `python -m benchmarks` runs them all."""
