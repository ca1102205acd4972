import itertools

import numpy as np
import pytest
import tensorflow as tf

from keras_seq.decoding import beam_search, greedy_search
from tests.decoding.scripted import brute_force, markov_step_fn, random_table, start, zero_time


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0, 2.0])
@pytest.mark.parametrize("vocab_size,max_length,beam_size", [(3, 3, 15), (4, 3, 40), (3, 4, 31)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_brute_force_when_the_beam_is_exhaustive(
    alpha, vocab_size, max_length, beam_size, seed
):
    # With a beam as large as the number of candidates of the last step (the finished
    # hypotheses plus every live prefix times V), no candidate is ever pruned.
    finished = sum((vocab_size - 1) ** (n - 1) for n in range(1, max_length))
    assert beam_size >= finished + (vocab_size - 1) ** (max_length - 1) * vocab_size
    table = random_table(max_length, vocab_size, seed)
    result = beam_search(
        markov_step_fn(table),
        start(1),
        zero_time(1),
        max_length,
        end_id=2,
        beam_size=beam_size,
        length_penalty=alpha,
    )
    expected = brute_force(table, 1, 2, max_length, alpha)[:beam_size]
    np.testing.assert_allclose(result.scores[0], [s for s, _ in expected], rtol=1e-5)
    for k, (_, ids) in enumerate(expected):
        length = int(result.lengths[0, k])
        assert length == len(ids)
        assert tuple(np.asarray(result.ids[0, k, :length]).tolist()) == ids
        assert np.all(np.asarray(result.ids[0, k, length:]) == 0)


@pytest.mark.parametrize("seed", range(8))
def test_beam_size_one_is_greedy(seed):
    table = random_table(6, 7, seed, temperature=0.5)
    step = markov_step_fn(table)
    beam = beam_search(step, start(3), zero_time(3), 6, end_id=2, beam_size=1)
    greedy = greedy_search(step, start(3), zero_time(3), 6, end_id=2)
    np.testing.assert_array_equal(beam.ids, greedy.ids)
    np.testing.assert_array_equal(beam.lengths, greedy.lengths)
    np.testing.assert_allclose(beam.scores, greedy.scores, rtol=1e-5)


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_small_beam_finds_the_best_hypothesis_greedy_misses(alpha):
    # Greedy takes 3 (p=.6) then faces a flat distribution; 4 (p=.4) leads to a sure end.
    table = np.full((3, 5, 5), np.log(1e-6))
    table[0, 1, 3], table[0, 1, 4] = np.log(0.6), np.log(0.4)
    table[1, 3, :] = np.log(0.2)
    table[1, 4, 2] = np.log(1 - 4e-6)
    table[2, :, 2] = np.log(1 - 4e-6)
    greedy = greedy_search(markov_step_fn(table), start(1), zero_time(1), 3, end_id=2)
    beam = beam_search(
        markov_step_fn(table),
        start(1),
        zero_time(1),
        3,
        end_id=2,
        beam_size=2,
        length_penalty=alpha,
    )
    best = brute_force(table, 1, 2, 3, alpha)[0]
    assert tuple(np.asarray(beam.ids[0, 0, :2]).tolist()) == best[1] == (4, 2)
    assert tuple(np.asarray(greedy.ids[0, 0, :2]).tolist()) != (4, 2)
    np.testing.assert_allclose(beam.scores[0, 0], best[0], rtol=1e-5)


def test_hypotheses_sorted_best_first_per_row():
    table = random_table(5, 6, 3)
    result = beam_search(
        markov_step_fn(table),
        np.array([1, 3, 4], "int32"),
        zero_time(3),
        5,
        end_id=2,
        beam_size=4,
        length_penalty=0.6,
    )
    scores = np.asarray(result.scores)
    assert np.all(np.diff(scores, axis=1) <= 0)
    assert result.ids.shape == (3, 4, 5) and result.lengths.shape == (3, 4)


def test_rows_are_independent():
    table = random_table(5, 6, 4)
    step = markov_step_fn(table)
    both = beam_search(step, np.array([1, 3], "int32"), zero_time(2), 5, end_id=2, beam_size=3)
    for row, first in enumerate([1, 3]):
        alone = beam_search(
            step, np.array([first], "int32"), zero_time(1), 5, end_id=2, beam_size=3
        )
        np.testing.assert_array_equal(both.ids[row], alone.ids[0])


def test_finished_hypotheses_stay_frozen_and_the_search_stops_early():
    # End is overwhelmingly likely at every step.
    table = np.full((8, 5, 5), np.log(0.01 / 4))
    table[:, :, 2] = np.log(0.99)
    calls = tf.Variable(0)
    step = markov_step_fn(table)

    def counted(tokens, state):
        calls.assign_add(1)
        return step(tokens, state)

    result = beam_search(counted, start(1), zero_time(1), 8, end_id=2, beam_size=2)
    # The first hypothesis ended at step 0 and stayed frozen while the second finished.
    np.testing.assert_array_equal(result.ids[0, 0], [2, 0, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(result.ids[0, 1], [0, 2, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(result.lengths[0], [1, 2])
    np.testing.assert_allclose(result.scores[0], [np.log(0.99), np.log(0.0025 * 0.99)], rtol=1e-5)
    assert int(calls.numpy()) == 2


def test_state_nest_is_tiled_and_reordered():
    """Memory riding in the state nest always belongs to the hypothesis' own batch row."""
    table = random_table(4, 5, 5)
    step = markov_step_fn(table)
    beam_size = 3

    def with_memory(tokens, state):
        logits, inner = step(tokens, state["inner"])
        own_row = tf.cast(tf.range(tf.shape(tokens)[0]) // beam_size, tf.float32)
        tf.debugging.assert_equal(state["memory"][:, 0, 0], own_row)
        return logits, {"inner": inner, "memory": state["memory"]}

    rows = tf.constant([0.0, 1.0, 2.0])
    state = {"inner": zero_time(3), "memory": tf.tile(rows[:, None, None], [1, 4, 2])}
    result = beam_search(with_memory, start(3), state, 4, end_id=2, beam_size=beam_size)
    assert result.ids.shape == (3, beam_size, 4)


def test_a_state_the_step_changes_is_reordered_with_its_hypothesis():
    # A second-order model: the logits depend on the previous two tokens, one of them
    # carried in the state, so a state left with another hypothesis scores wrongly. The
    # beam is exhaustive: it must find every hypothesis' exact score.
    vocab_size, max_length, beam_size = 4, 3, 40
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(max_length, vocab_size, vocab_size, vocab_size))
    table = logits - np.log(np.exp(logits).sum(-1, keepdims=True))

    def step(tokens, state):
        index = tf.stack([state["t"], state["before"], tf.cast(tokens, tf.int32)], axis=1)
        logits = tf.gather_nd(tf.constant(table, tf.float32), index)
        return logits, {"t": state["t"] + 1, "before": tf.cast(tokens, tf.int32)}

    state = {"t": tf.zeros([1], tf.int32), "before": tf.zeros([1], tf.int32)}
    result = beam_search(step, start(1), state, max_length, end_id=2, beam_size=beam_size)
    expected = {}
    for length in range(1, max_length + 1):
        for ids in itertools.product(range(vocab_size), repeat=length):
            if 2 in ids[:-1] or (length < max_length and ids[-1] != 2):
                continue
            history = (0, 1, *ids)
            expected[ids] = sum(table[t, history[t], history[t + 1], ids[t]] for t in range(length))
    found = {
        tuple(np.asarray(result.ids[0, k, : result.lengths[0, k]]).tolist()): float(score)
        for k, score in enumerate(np.asarray(result.scores[0]))
        if np.isfinite(score)
    }
    assert found.keys() == expected.keys()
    np.testing.assert_allclose([found[ids] for ids in expected], list(expected.values()), rtol=1e-5)


def test_a_memory_passed_through_decodes_as_a_reordered_copy_of_it_does():
    # The step returns the memory as it came: beam search leaves it as tiled (the same in
    # every hypothesis of a row) instead of reordering it, with the same result.
    table = random_table(6, 7, 8, temperature=0.5)
    markov = markov_step_fn(table)
    bias = tf.constant(3 * np.random.default_rng(8).normal(size=(3, 1, 7)), tf.float32)

    def step(copy):
        def step_fn(tokens, state):
            logits, inner = markov(tokens, state["inner"])
            memory = state["memory"] * 1.0 if copy else state["memory"]
            return logits + memory[:, 0], {"inner": inner, "memory": memory}

        return step_fn

    results = [
        beam_search(step(copy), start(3), {"inner": zero_time(3), "memory": bias}, 6, 2, 3, 0.6)
        for copy in (False, True)
    ]
    np.testing.assert_array_equal(results[0].ids, results[1].ids)
    np.testing.assert_array_equal(results[0].scores, results[1].scores)
    assert len({tuple(np.asarray(results[0].ids[b, 0]).tolist()) for b in range(3)}) > 1


def test_traceable_in_tf_function():
    table = random_table(4, 5, 6)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
    def decode(start_ids):
        return beam_search(
            markov_step_fn(table),
            start_ids,
            {"t": tf.zeros_like(start_ids)},
            max_length=4,
            end_id=2,
            beam_size=3,
            length_penalty=1.0,
        )

    eager = beam_search(
        markov_step_fn(table), start(2), zero_time(2), 4, end_id=2, beam_size=3, length_penalty=1.0
    )
    graph = decode(tf.ones([2], tf.int32))
    np.testing.assert_array_equal(graph.ids, eager.ids)
    np.testing.assert_allclose(graph.scores, eager.scores, rtol=1e-6)


def test_bad_beam_size_names_the_value():
    with pytest.raises(ValueError, match="beam_size=0"):
        beam_search(markov_step_fn(random_table(3, 4, 0)), start(1), zero_time(1), 3, 2, 0)


@pytest.mark.parametrize("decode", ["beam", "greedy"])
def test_a_vocabulary_searched_in_blocks_decodes_as_one_top_k_does(decode, monkeypatch):
    # 10,000 columns: each step's top-k runs in blocks (`ks.utils.row_top_k`).
    from keras import ops

    from keras_seq.decoding import beam as beam_module
    from keras_seq.decoding import greedy as greedy_module

    vocab, steps = 10_000, 6
    table = tf.constant(np.random.default_rng(3).normal(size=(steps, vocab)), tf.float32)

    def step_fn(token_ids, state):  # the logits depend on the time and the last token
        shift = tf.one_hot((tf.cast(token_ids, tf.int32) * 7919) % vocab, vocab) * 3.0
        return tf.gather(table, state["t"]) + shift, {"t": state["t"] + 1}

    def search():
        if decode == "greedy":
            return greedy_search(step_fn, start(3), zero_time(3), steps, end_id=2)
        return beam_search(step_fn, start(3), zero_time(3), steps, 2, 5, length_penalty=0.6)

    blocked = search()
    monkeypatch.setattr(beam_module, "row_top_k", ops.top_k)
    monkeypatch.setattr(greedy_module, "row_top_k", ops.top_k)
    plain = search()
    np.testing.assert_array_equal(blocked.ids, plain.ids)
    np.testing.assert_allclose(blocked.scores, plain.scores, rtol=1e-6)
