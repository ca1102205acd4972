import numpy as np
import pytest
import tensorflow as tf

from keras_seq.decoding import DecodeResult, greedy_search, sample
from tests.decoding.scripted import markov_step_fn, random_table, start, zero_time

NEG = -30.0


def table_from_choices(choices, vocab_size=6, tie=None):
    """Log-prob table that makes `choices[t]` the best token at step t, whatever came before."""
    table = np.full((len(choices), vocab_size, vocab_size), NEG)
    for t, token in enumerate(choices):
        table[t, :, token] = np.log(0.6)
        table[t, :, (token + 1) % vocab_size] = np.log(0.6 if tie == t else 0.4)
    return table


def test_stops_at_end_and_pads_after_it():
    table = table_from_choices([4, 5, 2, 4, 4])
    result = greedy_search(markov_step_fn(table), start(2), zero_time(2), max_length=5, end_id=2)
    assert isinstance(result, DecodeResult)
    assert result.ids.shape == (2, 1, 5) and result.lengths.shape == (2, 1)
    np.testing.assert_array_equal(result.ids[0, 0], [4, 5, 2, 0, 0])
    np.testing.assert_array_equal(result.lengths, [[3], [3]])
    np.testing.assert_allclose(result.scores, [[3 * np.log(0.6)]] * 2, rtol=1e-5)


def test_max_length_completes_a_hypothesis():
    table = table_from_choices([4, 5, 4])
    result = greedy_search(markov_step_fn(table), start(1), zero_time(1), max_length=3, end_id=2)
    np.testing.assert_array_equal(result.ids[0, 0], [4, 5, 4])
    assert int(result.lengths[0, 0]) == 3


def test_ties_go_to_the_lowest_id():
    table = table_from_choices([4, 3, 2], tie=1)  # step 1: tokens 3 and 4 tie
    result = greedy_search(markov_step_fn(table), start(1), zero_time(1), max_length=3, end_id=2)
    np.testing.assert_array_equal(result.ids[0, 0], [4, 3, 2])


def test_loop_stops_once_every_row_has_ended():
    table = table_from_choices([4, 2, 4, 4, 4, 4])
    calls = tf.Variable(0)
    step = markov_step_fn(table)

    def counted(tokens, state):
        calls.assign_add(1)
        return step(tokens, state)

    tf.function(lambda: greedy_search(counted, start(3), zero_time(3), 6, end_id=2))()
    assert int(calls.numpy()) == 2


def test_rows_end_independently():
    table = random_table(6, 5, seed=0)
    step = markov_step_fn(table)
    both = greedy_search(step, np.array([1, 3], "int32"), zero_time(2), 6, end_id=2)
    for row, first in enumerate([1, 3]):
        alone = greedy_search(step, np.array([first], "int32"), zero_time(1), 6, end_id=2)
        np.testing.assert_array_equal(both.ids[row], alone.ids[0])
        np.testing.assert_allclose(both.scores[row], alone.scores[0], rtol=1e-6)


def test_traceable_in_tf_function_with_unknown_batch():
    table = random_table(4, 5, seed=1)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
    def decode(start_ids):
        return greedy_search(
            markov_step_fn(table),
            start_ids,
            {"t": tf.zeros_like(start_ids)},
            max_length=4,
            end_id=2,
        )

    eager = greedy_search(markov_step_fn(table), start(3), zero_time(3), 4, end_id=2)
    np.testing.assert_array_equal(decode(tf.ones([3], tf.int32)).ids, eager.ids)


def test_sample_with_top_k_one_is_greedy():
    table = random_table(5, 6, seed=2)
    greedy = greedy_search(markov_step_fn(table), start(4), zero_time(4), 5, end_id=2)
    drawn = sample(markov_step_fn(table), start(4), zero_time(4), 5, end_id=2, top_k=1, seed=0)
    np.testing.assert_array_equal(drawn.ids, greedy.ids)


def test_sample_follows_the_distribution():
    probs = np.array([0.0, 0.0, 0.1, 0.2, 0.7])
    table = np.log(np.maximum(np.tile(probs, (1, 5, 1)), 1e-12))
    drawn = sample(markov_step_fn(table), start(4000), zero_time(4000), 1, end_id=2, seed=0)
    counts = np.bincount(np.asarray(drawn.ids[:, 0, 0]), minlength=5) / 4000
    np.testing.assert_allclose(counts, probs, atol=0.03)
    assert counts[0] == counts[1] == 0
    top2 = sample(markov_step_fn(table), start(2000), zero_time(2000), 1, end_id=2, seed=0, top_k=2)
    assert set(np.asarray(top2.ids[:, 0, 0]).tolist()) == {3, 4}


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"max_length": 0}, "max_length=0"),
        ({"end_id": -1}, "end_id=-1"),
        ({"max_length": 2.0}, "max_length=2.0"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, message):
    args = {"max_length": 3, "end_id": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        greedy_search(markov_step_fn(random_table(3, 4, 0)), start(1), zero_time(1), **args)


def test_bad_sampling_arguments():
    step = markov_step_fn(random_table(3, 4, 0))
    with pytest.raises(ValueError, match="temperature=0"):
        sample(step, start(1), zero_time(1), 3, end_id=2, temperature=0)
    with pytest.raises(ValueError, match="top_k=-1"):
        sample(step, start(1), zero_time(1), 3, end_id=2, top_k=-1)
