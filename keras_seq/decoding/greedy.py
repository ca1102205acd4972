"""Greedy and sampling decoding over a `step_fn`."""

import tensorflow as tf
from keras import ops

from keras_seq.decoding.result import (
    DecodeResult,
    check_decode_args,
    check_float,
    check_int,
    check_vocabulary,
)
from keras_seq.utils import draw_token, row_top_k, write_at


def _decode(step_fn, start_ids, state, max_length, end_id, pad_id, choose, vocabulary=None):
    """The one-hypothesis loop shared by greedy search and sampling.

    `choose(logits (B, V) float32, t) -> ids int32 (B,)` picks the column of step `t`
    (the same as from the log-probabilities, which differ by a constant per row: only
    the chosen token's log-probability is computed, not a `(B, V)` log-softmax);
    `vocabulary` (int `(V,)`, optional) maps columns to token ids.
    """
    check_decode_args(max_length, end_id, pad_id)
    vocabulary = check_vocabulary(vocabulary)
    start_ids = ops.cast(start_ids, "int32")
    batch_size = ops.shape(start_ids)[0]
    ids = ops.full((batch_size, max_length), pad_id, dtype="int32")
    lengths = ops.zeros((batch_size,), "int32")
    scores = ops.zeros((batch_size,), "float32")
    finished = ops.zeros((batch_size,), "bool")

    def body(t, tokens, ids, lengths, scores, finished, state):
        logits, state = step_fn(tokens, state)
        logits = ops.cast(logits, "float32")
        chosen = choose(logits, t)
        chosen_logit = ops.squeeze(ops.take_along_axis(logits, chosen[:, None], axis=-1), -1)
        chosen_log_prob = chosen_logit - ops.logsumexp(logits, axis=-1)
        if vocabulary is not None:
            chosen = ops.take(vocabulary, chosen, axis=0)
        tokens = ops.where(finished, pad_id, chosen)
        scores = scores + ops.where(finished, 0.0, chosen_log_prob)
        lengths = lengths + ops.cast(ops.logical_not(finished), "int32")
        ids = write_at(ids, tokens[:, None], t, axis=1)
        finished = ops.logical_or(finished, ops.equal(tokens, end_id))
        return t + 1, tokens, ids, lengths, scores, finished, state

    def cond(t, tokens, ids, lengths, scores, finished, state):
        return ops.logical_and(t < max_length, ops.logical_not(ops.all(finished)))

    _, _, ids, lengths, scores, _, _ = ops.while_loop(
        cond,
        body,
        (ops.convert_to_tensor(0, "int32"), start_ids, ids, lengths, scores, finished, state),
        maximum_iterations=max_length,
    )
    return DecodeResult(ids[:, None, :], lengths[:, None], scores[:, None])


def best_column(logits):
    """Each row's highest-scoring column of `logits (B, V)`, int32; ties to the lowest."""
    _, columns = row_top_k(ops.cast(logits, "float32"), 1)
    return ops.cast(columns[:, 0], "int32")


def greedy_search(step_fn, start_ids, state, max_length, end_id, pad_id=0, vocabulary=None):
    """Decodes by taking the most probable token at every step, inside the graph.

    Args:
        step_fn: `step_fn(token_ids (B,), state) -> (logits (B, V), state)`.
        start_ids: int `(batch_size,)`, the first input tokens.
        state: any nest of batch-major tensors.
        max_length: int, the most tokens to emit.
        end_id: int; a hypothesis is complete once it emits it.
        pad_id: int written after a hypothesis' end.
        vocabulary: optional int `(V,)`, sorted: the token id of each column of the
            logits, for a step restricted to some ids (`ks.decoding.LexicalShortlist`);
            by default column `j` is id `j`.

    Returns:
        `DecodeResult` with one hypothesis per row (`K = 1`); ties go to the
        lowest id.
    """

    return _decode(
        step_fn,
        start_ids,
        state,
        max_length,
        end_id,
        pad_id,
        lambda logits, t: best_column(logits),
        vocabulary,
    )


def sample(
    step_fn,
    start_ids,
    state,
    max_length,
    end_id,
    pad_id=0,
    temperature=1.0,
    top_k=0,
    seed=None,
    vocabulary=None,
):
    """Decodes by drawing each token from the (top-k, tempered) distribution.

    Draws use the Gumbel-max trick (`top_k` of log-probs plus Gumbel noise), so
    the loop contains no multinomial op. The noise of step `t` comes from a
    stateless generator keyed by `(seed, t)`: no random state is created, so the
    search runs inside any `tf.function` or exported graph; with `seed=None` a
    fresh key is drawn at every call. Scores are the log-probabilities of the
    drawn tokens under the model's untempered distribution.

    Args:
        step_fn, start_ids, state, max_length, end_id, pad_id, vocabulary: as
            `greedy_search`.
        temperature: positive float; below 1 sharpens, above 1 flattens.
        top_k: int; if positive, draw only among the `top_k` most probable tokens.
        seed: optional int >= 0; the same seed gives the same draws.

    Returns:
        `DecodeResult` with one hypothesis per row.
    """
    check_float("temperature", temperature, 0, strict=True)
    check_int("top_k", top_k, 0)
    if seed is not None:
        check_int("seed", seed, 0)
    key = (
        tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int32)
        if seed is None
        else tf.constant([seed, 0], tf.int32)
    )

    def choose(logits, t):
        scaled = logits / temperature
        if top_k:
            columns = scaled.shape[-1]  # unknown for a restricted vocabulary
            kth = ops.top_k(scaled, top_k if columns is None else min(top_k, columns))[0][:, -1:]
            scaled = ops.where(scaled < kth, float("-inf"), scaled)
        return draw_token(scaled, key + tf.stack([0, t]))

    return _decode(step_fn, start_ids, state, max_length, end_id, pad_id, choose, vocabulary)
