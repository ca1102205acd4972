import json

import keras
import numpy as np
import pytest

from keras_seq import decoding
from keras_seq.decoding import BeamSearch, GreedySearch, Sampling
from tests.decoding.scripted import markov_step_fn, random_table, start, zero_time

STRATEGY_OBJECTS = [
    GreedySearch(),
    BeamSearch(beam_size=3, length_penalty=0.6),
    Sampling(temperature=0.7, top_k=5, seed=11),
]


@pytest.mark.parametrize("strategy", STRATEGY_OBJECTS, ids=repr)
def test_config_round_trips_through_json(strategy):
    assert type(strategy).from_config(strategy.get_config()) == strategy
    text = json.dumps(decoding.serialize(strategy))
    assert decoding.get(json.loads(text)) == strategy
    revived = keras.saving.deserialize_keras_object(json.loads(text))
    assert revived == strategy


def test_get_resolves_names_configs_and_objects():
    beam = BeamSearch(5)
    assert decoding.get(beam) is beam
    assert decoding.get("greedy") == GreedySearch()
    assert decoding.get("beam") == BeamSearch(beam_size=4, length_penalty=0.0)
    assert decoding.get("sample") == Sampling()
    assert decoding.get({"class_name": "beam", "config": {"beam_size": 2}}) == BeamSearch(2)
    assert decoding.get({"class_name": "BeamSearch", "config": {"beam_size": 2}}) == BeamSearch(2)


@pytest.mark.parametrize("identifier", ["nucleus", 3, None, {"class_name": "Adam"}])
def test_get_rejects_what_it_cannot_resolve(identifier):
    with pytest.raises(ValueError, match="Could not interpret the decoding strategy"):
        decoding.get(identifier)


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: BeamSearch(0), "beam_size=0"),
        (lambda: BeamSearch(2.5), "beam_size=2.5"),
        (lambda: BeamSearch(2, length_penalty=-1), "length_penalty=-1"),
        (lambda: BeamSearch(2, length_penalty="0.6"), "length_penalty='0.6'"),
        (lambda: Sampling(temperature=0), "temperature=0"),
        (lambda: Sampling(top_k=-2), "top_k=-2"),
        (lambda: Sampling(seed="x"), "seed='x'"),
    ],
)
def test_bad_settings_fail_when_the_object_is_made(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_objects_run_their_engines():
    table = random_table(5, 6, seed=8)
    step = markov_step_fn(table)
    args = (step, start(3), zero_time(3), 5, 2)
    np.testing.assert_array_equal(GreedySearch()(*args).ids, decoding.greedy_search(*args).ids)
    beam = BeamSearch(3, 0.6)(*args)
    free = decoding.beam_search(*args, beam_size=3, length_penalty=0.6)
    np.testing.assert_array_equal(beam.ids, free.ids)
    np.testing.assert_allclose(beam.scores, free.scores)
    assert beam.ids.shape == (3, BeamSearch(3).num_hypotheses, 5)
    assert GreedySearch().num_hypotheses == Sampling().num_hypotheses == 1


def test_beam_of_one_equals_greedy_and_top_k_one_sampling_equals_greedy():
    table = random_table(6, 7, seed=9)
    args = (markov_step_fn(table), start(4), zero_time(4), 6, 2)
    greedy = GreedySearch()(*args)
    np.testing.assert_array_equal(BeamSearch(1)(*args).ids, greedy.ids)
    np.testing.assert_array_equal(Sampling(top_k=1, seed=0)(*args).ids, greedy.ids)


def test_seeded_sampling_repeats():
    table = random_table(6, 7, seed=10)
    args = (markov_step_fn(table), start(64), zero_time(64), 6, 2)
    first = Sampling(temperature=2.0, seed=5)(*args)
    again = Sampling(temperature=2.0, seed=5)(*args)
    np.testing.assert_array_equal(first.ids, again.ids)
    assert len({tuple(row) for row in np.asarray(first.ids[:, 0])}) > 1  # it does draw


def test_sampling_runs_inside_a_tf_function():
    import tensorflow as tf

    table = random_table(6, 7, seed=12, temperature=0.3)

    def decode_with(strategy):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
        def decode(start_ids):
            return strategy(markov_step_fn(table), start_ids, {"t": tf.zeros_like(start_ids)}, 6, 2)

        return decode

    seeded = decode_with(Sampling(temperature=3.0, seed=4))
    first, again = seeded(tf.ones([32], tf.int32)), seeded(tf.ones([32], tf.int32))
    np.testing.assert_array_equal(first.ids, again.ids)
    unseeded = decode_with(Sampling(temperature=3.0))
    draws = [np.asarray(unseeded(tf.ones([32], tf.int32)).ids) for _ in range(2)]
    assert not np.array_equal(*draws)  # a fresh key at every call


def test_sampling_temperature_divides_the_logits():
    # Step 0 after the start token: ids 3 and 4 at log-probs log 0.2 and log 0.8. At
    # temperature 2 the draw follows softmax(logits / 2): 1/3 and 2/3 (multiplying by 2
    # would give 1/17 and 16/17); at 0.5, 1/17 and 16/17.
    table = np.full((1, 5, 5), -1e9, "float32")
    table[0, 1, 3], table[0, 1, 4] = np.log(0.2), np.log(0.8)
    args = (markov_step_fn(table), start(4000), zero_time(4000), 1, 2)
    for temperature, expected in ((2.0, 2 / 3), (0.5, 16 / 17), (1.0, 0.8)):
        ids = np.asarray(Sampling(temperature=temperature, seed=3)(*args).ids)[:, 0, 0]
        assert set(ids) <= {3, 4}
        assert np.mean(ids == 4) == pytest.approx(expected, abs=0.03), temperature
