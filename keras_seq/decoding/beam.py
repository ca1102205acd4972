"""Beam search over a `step_fn`, written with exportable ops only."""

import keras
from keras import ops

from keras_seq.decoding.result import DecodeResult, check_decode_args, length_penalty_factor
from keras_seq.utils import write_at

NEG_INF = float("-inf")


def _gather_beams(values, indices):
    """`values (B, N, ...)` gathered along axis 1 by int `indices (B, M)` -> `(B, M, ...)`."""
    extra = values.shape[2:]
    index = indices
    for size in extra:
        index = ops.repeat(ops.expand_dims(index, -1), size, axis=-1)
    return ops.take_along_axis(values, index, axis=1)


def beam_search(
    step_fn, start_ids, state, max_length, end_id, beam_size, length_penalty=0.0, pad_id=0
):
    """Beam search inside the graph, with the GNMT length penalty.

    Each step extends the live hypotheses, keeps the `2 * beam_size` best
    extensions, moves those that emitted `end_id` to a set of finished
    hypotheses (frozen from then on, ranked by length-penalised score) and keeps
    the `beam_size` best others alive. The loop stops at `max_length` or as soon
    as no live hypothesis can still beat the worst kept finished one in every
    batch row. Live hypotheses that reach `max_length` tokens count as complete.

    The state is tiled to `batch_size * beam_size` rows and reordered after each
    step by gathering along axis 0, so any batch-major nest works (encoder memory
    included). Only exportable ops are used: `top_k`, gathers, a preallocated id
    buffer updated with `slice_update`, and a `while_loop`.

    Args:
        step_fn: `step_fn(token_ids (N,), state) -> (logits (N, V), state)`.
        start_ids: int `(batch_size,)`.
        state: any nest of batch-major tensors.
        max_length: int, the most tokens in a hypothesis.
        end_id: int.
        beam_size: int, hypotheses kept (and returned) per row.
        length_penalty: float alpha of `((5 + length) / 6) ** alpha`; 0 = none.
        pad_id: int written after a hypothesis' end.

    Returns:
        `DecodeResult` with `beam_size` hypotheses per row, best first. Rows with
        fewer than `beam_size` possible hypotheses (tiny vocabularies) fill the
        rest with score `-inf`.

    Raises:
        ValueError: if `max_length` or `beam_size` is not a positive int.
    """
    check_decode_args(max_length, end_id, pad_id, beam_size)
    if not isinstance(length_penalty, (int, float)):
        raise ValueError(
            f"`length_penalty` must be a float. Received: length_penalty={length_penalty!r}"
        )
    k = beam_size
    start_ids = ops.cast(start_ids, "int32")
    batch_size = ops.shape(start_ids)[0]

    def lp(length):
        return length_penalty_factor(length, length_penalty)

    state = keras.tree.map_structure(lambda x: ops.repeat(x, k, axis=0), state)
    tokens = ops.repeat(start_ids, k, axis=0)
    first_beam = ops.expand_dims(ops.equal(ops.arange(k), 0), 0)
    alive_log_probs = ops.where(ops.repeat(first_beam, batch_size, axis=0), 0.0, NEG_INF)
    alive_log_probs = ops.cast(alive_log_probs, "float32")
    empty_ids = ops.full((batch_size, k, max_length), pad_id, dtype="int32")
    finished_scores = ops.full((batch_size, k), NEG_INF, dtype="float32")
    finished_lengths = ops.zeros((batch_size, k), "int32")
    row_offsets = ops.expand_dims(ops.arange(batch_size, dtype="int32") * k, 1)

    def body(
        t,
        tokens,
        alive_ids,
        alive_log_probs,
        finished_ids,
        finished_scores,
        finished_lengths,
        state,
    ):
        logits, state = step_fn(tokens, state)
        vocab_size = logits.shape[-1]
        log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
        log_probs = ops.reshape(log_probs, (batch_size, k, vocab_size))
        candidates = ops.reshape(
            ops.expand_dims(alive_log_probs, -1) + log_probs, (batch_size, k * vocab_size)
        )
        num_candidates = min(2 * k, k * vocab_size)
        top_log_probs, top_indices = ops.top_k(candidates, num_candidates)
        top_indices = ops.cast(top_indices, "int32")
        source_beams = ops.floor_divide(top_indices, vocab_size)
        new_tokens = ops.mod(top_indices, vocab_size)
        candidate_ids = _gather_beams(alive_ids, source_beams)
        candidate_ids = write_at(candidate_ids, new_tokens[:, :, None], t, axis=2)
        ended = ops.equal(new_tokens, end_id)

        # Finished set: the kept finished hypotheses first (ties keep them), then new ones.
        length = t + 1
        ended_scores = ops.where(ended, top_log_probs / lp(length), NEG_INF)
        finished_scores, keep = ops.top_k(
            ops.concatenate([finished_scores, ended_scores], axis=1), k
        )
        finished_ids = _gather_beams(ops.concatenate([finished_ids, candidate_ids], axis=1), keep)
        all_lengths = ops.concatenate(
            [finished_lengths, ops.full((batch_size, num_candidates), length, "int32")], axis=1
        )
        finished_lengths = ops.take_along_axis(all_lengths, keep, axis=1)

        # Alive set: the best extensions that did not end.
        alive_log_probs, keep = ops.top_k(ops.where(ended, NEG_INF, top_log_probs), k)
        alive_ids = _gather_beams(candidate_ids, keep)
        tokens = ops.reshape(ops.take_along_axis(new_tokens, keep, axis=1), (-1,))
        parents = ops.reshape(row_offsets + ops.take_along_axis(source_beams, keep, axis=1), (-1,))
        state = keras.tree.map_structure(lambda x: ops.take(x, parents, axis=0), state)
        return (
            t + 1,
            tokens,
            alive_ids,
            alive_log_probs,
            finished_ids,
            finished_scores,
            finished_lengths,
            state,
        )

    def cond(
        t,
        tokens,
        alive_ids,
        alive_log_probs,
        finished_ids,
        finished_scores,
        finished_lengths,
        state,
    ):
        # Log-probs only fall as a hypothesis grows, so the best a live one can reach is
        # its current log-prob over the largest penalty of any length still possible.
        best_penalty = ops.maximum(lp(t + 1), lp(max_length))
        best_alive = alive_log_probs[:, 0] / best_penalty
        decided = ops.all(finished_scores[:, -1] >= best_alive)
        return ops.logical_and(t < max_length, ops.logical_not(decided))

    (t, _, alive_ids, alive_log_probs, finished_ids, finished_scores, finished_lengths, _) = (
        ops.while_loop(
            cond,
            body,
            (
                ops.convert_to_tensor(0, "int32"),
                tokens,
                empty_ids,
                alive_log_probs,
                empty_ids,
                finished_scores,
                finished_lengths,
                state,
            ),
            maximum_iterations=max_length,
        )
    )
    # Live hypotheses are complete only if they reached max_length.
    alive_scores = ops.where(t >= max_length, alive_log_probs / lp(max_length), NEG_INF)
    scores, keep = ops.top_k(ops.concatenate([finished_scores, alive_scores], axis=1), k)
    ids = _gather_beams(ops.concatenate([finished_ids, alive_ids], axis=1), keep)
    lengths = ops.take_along_axis(
        ops.concatenate([finished_lengths, ops.full((batch_size, k), max_length, "int32")], 1),
        keep,
        axis=1,
    )
    return DecodeResult(ids, lengths, scores)
