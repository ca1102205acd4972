"""Beam search over a `step_fn`, written with exportable ops only."""

import keras
from keras import ops

from keras_seq.decoding.result import (
    DecodeResult,
    check_decode_args,
    check_float,
    check_vocabulary,
    length_penalty_factor,
)
from keras_seq.utils import row_top_k, write_at

NEG_INF = float("-inf")


def tile_state(state, multiple):
    """Every tensor of a batch-major `state` nest with each row repeated `multiple` times.

    Row `b` of the input becomes rows `b * multiple ... b * multiple + multiple - 1`:
    the layout beam search uses for `batch_size * beam_size` hypotheses.
    """
    return keras.tree.map_structure(lambda x: ops.repeat(x, multiple, axis=0), state)


def _gather_beams(values, indices):
    """`values (B, K, ...)` gathered along axis 1 by int `indices (B, K)`."""
    index = indices
    for size in values.shape[2:]:
        index = ops.repeat(ops.expand_dims(index, -1), size, axis=-1)
    return ops.take_along_axis(values, index, axis=1)


def beam_search(
    step_fn,
    start_ids,
    state,
    max_length,
    end_id,
    beam_size,
    length_penalty=0.0,
    pad_id=0,
    vocabulary=None,
):
    """Beam search inside the graph, with the GNMT length penalty.

    Each row keeps `beam_size` hypotheses. A step extends every live hypothesis
    by every token; a finished one (it emitted `end_id`) is frozen: its only
    continuation is `pad_id` at log-prob 0, so it keeps its score and length.
    The `beam_size` best of all continuations, ranked by
    `log_prob / ((5 + length) / 6) ** length_penalty` on each hypothesis' own
    length, form the next beam. The loop stops at `max_length` or once every
    hypothesis of every row has finished (no live one is left that could still
    win a place). With `beam_size=1` this is exactly greedy search.

    The state is tiled to `batch_size * beam_size` rows and reordered after each
    step by a gather along axis 0, so any batch-major nest works; what `step_fn`
    returns unchanged (the same tensor it was given: encoder memory) is not
    reordered, since every hypothesis of a row holds the same. A step's
    vocabulary-wide work is one `top_k` of each hypothesis' logits and their
    log-sum-exp; the ranking runs on the `beam_size ** 2` candidates of a row.
    Only exportable ops are used: `top_k`, gathers, a preallocated id buffer
    written with `slice_update`, and a `while_loop`.

    Args:
        step_fn: `step_fn(token_ids (N,), state) -> (logits (N, V), state)`.
        start_ids: int `(batch_size,)`.
        state: any nest of batch-major tensors.
        max_length: int, the most tokens in a hypothesis.
        end_id: int.
        beam_size: int, hypotheses kept (and returned) per row.
        length_penalty: float alpha of `((5 + length) / 6) ** alpha`; 0 = none.
        pad_id: int written after a hypothesis' end.
        vocabulary: optional int `(V,)`, sorted: the token id of each column of the
            logits (a step restricted to some ids); by default column `j` is id `j`.
            A step's top-k needs at least `beam_size` columns.

    Returns:
        `DecodeResult` with `beam_size` hypotheses per row, best first. Rows with
        fewer than `beam_size` possible hypotheses (tiny vocabularies) fill the
        rest with score `-inf`.

    Raises:
        ValueError: if `max_length` or `beam_size` is not a positive int.
    """
    check_decode_args(max_length, end_id, pad_id, beam_size)
    check_float("length_penalty", length_penalty)
    vocabulary = check_vocabulary(vocabulary)
    k = beam_size
    start_ids = ops.cast(start_ids, "int32")
    batch_size = ops.shape(start_ids)[0]

    state = tile_state(state, k)
    tokens = ops.repeat(start_ids, k, axis=0)
    # Only the first beam is live at the start, so the k beams do not repeat each other.
    first_beam = ops.equal(ops.arange(k), 0)[None, :]
    log_probs = ops.cast(
        ops.where(ops.repeat(first_beam, batch_size, axis=0), 0.0, NEG_INF), "float32"
    )
    ids = ops.full((batch_size, k, max_length), pad_id, dtype="int32")
    finished = ops.zeros((batch_size, k), "bool")
    lengths = ops.zeros((batch_size, k), "int32")
    row_offsets = ops.arange(batch_size, dtype="int32")[:, None] * k

    def body(t, tokens, ids, log_probs, finished, lengths, state):
        logits, new_state = step_fn(tokens, state)
        logits = ops.cast(logits, "float32")
        columns = logits.shape[-1]  # unknown for a restricted vocabulary
        # The next beam is among each hypothesis' own `k` best tokens (the ranking within
        # a hypothesis is its logits' order), so the vocabulary-wide work is one top-k
        # and one log-sum-exp per row; the rest runs on `k * k` candidates per row.
        width = k if columns is None else min(k, columns)
        top_logits, top_tokens = row_top_k(logits, width)
        top_tokens = ops.cast(top_tokens, "int32")
        if vocabulary is not None:
            top_tokens = ops.take(vocabulary, top_tokens, axis=0)
        peak = ops.max(logits, axis=-1, keepdims=True)
        normaliser = ops.log(ops.sum(ops.exp(logits - peak), axis=-1, keepdims=True))
        step_log_probs = ops.reshape((top_logits - peak) - normaliser, (batch_size, k, width))
        step_tokens = ops.reshape(top_tokens, (batch_size, k, width))
        # A finished hypothesis' only continuation: `pad_id` at log-prob 0.
        first = ops.equal(ops.arange(width), 0)
        step_log_probs = ops.where(
            finished[:, :, None], ops.where(first, 0.0, NEG_INF), step_log_probs
        )
        step_tokens = ops.where(finished[:, :, None], pad_id, step_tokens)
        candidate_log_probs = ops.reshape(
            log_probs[:, :, None] + step_log_probs, (batch_size, k * width)
        )
        new_lengths = lengths + ops.cast(ops.logical_not(finished), "int32")
        penalty = ops.repeat(length_penalty_factor(new_lengths, length_penalty), width, axis=1)
        _, chosen = ops.top_k(candidate_log_probs / penalty, k)
        chosen = ops.cast(chosen, "int32")
        parents = ops.floor_divide(chosen, width)
        new_tokens = ops.take_along_axis(
            ops.reshape(step_tokens, (batch_size, k * width)), chosen, axis=1
        )
        log_probs = ops.take_along_axis(candidate_log_probs, chosen, axis=1)
        lengths = ops.take_along_axis(new_lengths, parents, axis=1)
        finished = ops.logical_or(
            ops.take_along_axis(finished, parents, axis=1), ops.equal(new_tokens, end_id)
        )
        ids = write_at(_gather_beams(ids, parents), new_tokens[:, :, None], t, axis=2)
        rows = ops.reshape(row_offsets + parents, (-1,))
        # What the step passed through unchanged (the encoder's memory) is still the same
        # in every hypothesis of a row, as `tile_state` made it: no reorder needed.
        state = keras.tree.map_structure(
            lambda old, x: x if x is old else ops.take(x, rows, axis=0), state, new_state
        )
        return t + 1, ops.reshape(new_tokens, (-1,)), ids, log_probs, finished, lengths, state

    def cond(t, tokens, ids, log_probs, finished, lengths, state):
        dead = ops.equal(log_probs, NEG_INF)
        return ops.logical_and(
            t < max_length, ops.logical_not(ops.all(ops.logical_or(finished, dead)))
        )

    _, _, ids, log_probs, _, lengths, _ = ops.while_loop(
        cond,
        body,
        (ops.convert_to_tensor(0, "int32"), tokens, ids, log_probs, finished, lengths, state),
        maximum_iterations=max_length,
    )
    scores = log_probs / length_penalty_factor(lengths, length_penalty)
    return DecodeResult(ids, lengths, scores)
