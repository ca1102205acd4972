import itertools

import keras
import numpy as np
import pytest
from keras import ops

from keras_seq.layers import Bidirectional
from keras_seq.testing import run_layer_checks

RNNS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simple": keras.layers.SimpleRNN}


def make(
    rnn="lstm",
    merge_mode="concat",
    state_merge="concat",
    return_state=True,
    return_sequences=True,
    units=3,
):
    return Bidirectional(
        RNNS[rnn](units, return_sequences=return_sequences, return_state=return_state),
        merge_mode=merge_mode,
        state_merge=state_merge,
    )


def as_list(x):
    return [ops.convert_to_numpy(t) for t in (x if isinstance(x, list) else [x])]


def test_layer_checks():
    data = np.random.default_rng(0).normal(size=(2, 4, 5)).astype("float32")
    run_layer_checks(
        Bidirectional,
        lambda: {"layer": keras.layers.LSTM(3, return_sequences=True, return_state=True)},
        {"sequences": data, "mask": np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)},
    )


@pytest.mark.parametrize(
    "rnn,merge_mode,state_merge,return_state,return_sequences",
    list(
        itertools.product(
            RNNS,
            ["concat", "sum", "ave", "mul", None],
            ["concat", "sum", "ave", None],
            [True, False],
            [True, False],
        )
    ),
)
def test_right_padding_gives_the_unpadded_result(
    rnn, merge_mode, state_merge, return_state, return_sequences
):
    layer = make(rnn, merge_mode, state_merge, return_state, return_sequences)
    rng = np.random.default_rng(1)
    real = rng.normal(size=(1, 3, 4)).astype("float32")
    padded = np.concatenate([real, rng.normal(size=(1, 2, 4)).astype("float32")], axis=1)
    mask = np.array([[True] * 3 + [False] * 2])
    expected = as_list(layer(real))
    got = as_list(layer(padded, mask=mask))
    assert len(expected) == len(got)
    for e, g in zip(expected, got, strict=True):
        if return_sequences and e.ndim == 3:
            g = g[:, :3]
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def test_backward_direction_starts_at_the_last_real_token():
    layer = make("simple", merge_mode=None, return_state=False)
    sequence = np.random.default_rng(2).normal(size=(1, 3, 2)).astype("float32")
    padded = np.concatenate([sequence, np.full((1, 2, 2), 9.0, "float32")], axis=1)
    forward, backward = layer(padded, mask=np.array([[1, 1, 1, 0, 0]], bool))
    # Running the backward RNN alone over the reversed real tokens gives the same.
    alone = layer.backward_layer(sequence)
    np.testing.assert_allclose(backward[:, :3], ops.flip(alone, 1), rtol=1e-5, atol=1e-6)


def test_states_are_merged_per_component():
    layer = make("lstm", state_merge="concat")
    out, h, c = layer(np.ones((2, 4, 5), "float32"))
    assert out.shape == (2, 4, 6) and h.shape == (2, 6) and c.shape == (2, 6)
    layer = make("lstm", state_merge=None)
    out, *states = layer(np.ones((2, 4, 5), "float32"))
    assert len(states) == 4 and all(s.shape == (2, 3) for s in states)
    layer = make("gru", merge_mode="sum", state_merge="ave")
    out, h = layer(np.ones((2, 4, 5), "float32"))
    assert out.shape == (2, 4, 3) and h.shape == (2, 3)


@pytest.mark.parametrize("state_merge", ["concat", "sum", "ave"])
@pytest.mark.parametrize("rnn", ["lstm", "gru", "simple"])
def test_merged_states_by_hand(rnn, state_merge):
    """Each merged state component is the two directions' own final states, merged."""
    layer = make(rnn, state_merge=state_merge)
    data = np.random.default_rng(7).normal(size=(2, 4, 5)).astype("float32")
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool)
    _, *merged = layer(data, mask=mask)
    _, *forward = layer.forward_layer(data, mask=mask)
    _, *backward = layer.backward_layer(data, mask=mask)
    merge = {
        "concat": lambda f, b: np.concatenate([f, b], axis=-1),
        "sum": lambda f, b: f + b,
        "ave": lambda f, b: (f + b) / 2,
    }[state_merge]
    assert len(merged) == (2 if rnn == "lstm" else 1)
    for got, f, b in zip(merged, forward, backward, strict=True):
        np.testing.assert_allclose(got, merge(np.asarray(f), np.asarray(b)), rtol=1e-6)
    # And the backward final state is that of the real tokens alone, read backwards.
    _, *alone = layer.backward_layer(data[1:, :2])
    np.testing.assert_allclose(backward[0][1], alone[0][0], rtol=1e-5, atol=1e-6)


def test_matches_keras_bidirectional_without_mask():
    ours = make("gru", return_state=False)
    data = np.random.default_rng(3).normal(size=(2, 4, 5)).astype("float32")
    ours(data)
    theirs = keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True))
    theirs(data)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours(data), theirs(data), rtol=1e-5, atol=1e-6)


def test_mask_propagates_through_a_model():
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 4, mask_zero=True)(inputs)
    output, h, c = make("lstm")(x)
    model = keras.Model(inputs, [output, h, c])
    ids = np.array([[4, 5, 6, 0, 0]])
    expected = model(ids[:, :3])
    got = model(ids)
    np.testing.assert_allclose(got[0][:, :3], expected[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs,message",
    [({"merge_mode": "max"}, "merge_mode='max'"), ({"state_merge": "mul"}, "state_merge='mul'")],
)
def test_bad_arguments_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Bidirectional(keras.layers.LSTM(2), **kwargs)


def test_rejects_non_rnn_layers():
    with pytest.raises(ValueError, match="Dense"):
        Bidirectional(keras.layers.Dense(2))


def test_custom_backward_layer_and_initial_state():
    forward = keras.layers.GRU(3, return_sequences=True, return_state=True)
    backward = keras.layers.GRU(3, return_sequences=True, return_state=True, go_backwards=True)
    layer = Bidirectional(forward, backward_layer=backward, state_merge=None)
    data = np.random.default_rng(4).normal(size=(2, 4, 5)).astype("float32")
    initial = [np.ones((2, 3), "float32"), -np.ones((2, 3), "float32")]
    output, h_forward, h_backward = layer(data, initial_state=initial)
    np.testing.assert_allclose(h_forward, forward(data, initial_state=initial[:1])[1], rtol=1e-6)
    np.testing.assert_allclose(h_backward, backward(data, initial_state=initial[1:])[1], rtol=1e-6)
    revived = Bidirectional.from_config(layer.get_config())
    assert revived.backward_layer.go_backwards and revived.state_merge is None
