"""Scripted step functions: deterministic decoding tests without a model."""

import itertools

import numpy as np
import tensorflow as tf
from keras import ops


def markov_step_fn(log_probs_table):
    """A `step_fn` whose next-token log-probs depend on (time, previous token).

    `log_probs_table[t, previous, :]` are the log-probs of step `t`. The state is
    `{"t": int32 (batch,)}`.
    """
    table = tf.constant(log_probs_table, tf.float32)

    def step_fn(token_ids, state):
        t = state["t"]
        logits = tf.gather_nd(table, tf.stack([t, tf.cast(token_ids, tf.int32)], axis=1))
        return logits, {"t": t + 1}

    return step_fn


def random_table(max_length, vocab_size, seed, temperature=1.0):
    logits = np.random.default_rng(seed).normal(size=(max_length, vocab_size, vocab_size))
    logits = logits / temperature
    return logits - np.log(np.exp(logits).sum(-1, keepdims=True))


def brute_force(table, start_id, end_id, max_length, alpha):
    """Every complete hypothesis, best first: (score, ids tuple)."""
    vocab_size = table.shape[-1]
    results = []
    for length in range(1, max_length + 1):
        for ids in itertools.product(range(vocab_size), repeat=length):
            if end_id in ids[:-1]:
                continue
            if length < max_length and ids[-1] != end_id:
                continue
            previous, total = start_id, 0.0
            for t, token in enumerate(ids):
                total += table[t, previous, token]
                previous = token
            penalty = ((5 + length) / 6) ** alpha
            results.append((total / penalty, ids))
    return sorted(results, key=lambda r: -r[0])


def start(batch_size, start_id=1):
    return ops.full((batch_size,), start_id, dtype="int32")


def zero_time(batch_size):
    return {"t": ops.zeros((batch_size,), "int32")}
