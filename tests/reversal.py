"""A tiny task for training tests: reverse a sequence of ids (no padding)."""

import numpy as np


def reversal_batch(n, length, vocab_size=10, seed=0):
    """`(inputs, labels)` of `n` reversal pairs, every sequence `length` ids long."""
    rng = np.random.default_rng(seed)
    source = rng.integers(4, vocab_size, size=(n, length)).astype("int32")
    target = np.concatenate([np.ones((n, 1), "int32"), source[:, ::-1]], axis=1)
    labels = np.concatenate([source[:, ::-1], np.full((n, 1), 2, "int32")], axis=1)
    return {"source_ids": source, "target_ids": target}, labels
