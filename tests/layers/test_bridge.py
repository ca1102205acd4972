import numpy as np
import pytest

from keras_seq.layers import Bridge
from keras_seq.testing import run_layer_checks

RNG = np.random.default_rng(0)
MEMORY = RNG.normal(size=(2, 3, 4)).astype("float32")
MASK = np.array([[True, True, False], [True, True, True]])
STATES = [[RNG.normal(size=(2, 4)).astype("float32") for _ in range(2)] for _ in range(2)]


def test_layer_checks():
    run_layer_checks(
        Bridge,
        {"kind": "dense", "units": 5, "num_layers": 2},
        {"encoder_states": STATES, "memory": MEMORY, "memory_mask": MASK},
    )


def test_last_copies_the_encoder_layer_states():
    out = Bridge("last", units=4, num_layers=2)(STATES, MEMORY, MASK)
    for decoder_layer, encoder_layer in zip(out, STATES, strict=True):
        for x, y in zip(decoder_layer, encoder_layer, strict=True):
            np.testing.assert_array_equal(x, y)


def test_last_with_more_decoder_layers_starts_them_at_zero():
    out = Bridge("last", units=4, num_layers=3, cell="gru")(STATES[:1], MEMORY, MASK)
    np.testing.assert_array_equal(out[0][0], STATES[0][0])
    assert len(out[0]) == 1 and np.all(np.asarray(out[2][0]) == 0)


def test_mean_averages_real_positions_only():
    out = Bridge("mean", units=4, num_layers=1)(STATES, MEMORY, MASK)
    np.testing.assert_allclose(out[0][0][0], MEMORY[0, :2].mean(0), rtol=1e-6)
    np.testing.assert_allclose(out[0][0][1], MEMORY[1].mean(0), rtol=1e-6)
    assert np.all(np.asarray(out[0][1]) == 0)


def test_zero_and_dense_shapes():
    zero = Bridge("zero", units=7, num_layers=2)(STATES, MEMORY, MASK)
    assert all(np.all(np.asarray(s) == 0) and s.shape == (2, 7) for layer in zero for s in layer)
    dense = Bridge("dense", units=7, num_layers=2, cell="gru")(STATES, MEMORY, MASK)
    assert [len(layer) for layer in dense] == [1, 1] and dense[0][0].shape == (2, 7)


def test_width_mismatch_suggests_dense():
    with pytest.raises(ValueError, match="kind='dense'"):
        Bridge("last", units=5)(STATES, MEMORY, MASK)


def test_unknown_kind_names_the_value():
    with pytest.raises(ValueError, match="kind='copy'"):
        Bridge("copy", units=4)


def test_dense_is_tanh_of_a_projection_of_all_encoder_states():
    bridge = Bridge("dense", units=3, num_layers=2, cell="lstm")
    out = bridge(STATES, MEMORY, MASK)
    flat = np.concatenate([s for layer in STATES for s in layer], axis=-1)  # (2, 16)
    for i, layer in enumerate(bridge.projections):
        for j, dense in enumerate(layer):
            kernel, bias = (np.asarray(w) for w in dense.get_weights())
            np.testing.assert_allclose(out[i][j], np.tanh(flat @ kernel + bias), rtol=1e-5)
