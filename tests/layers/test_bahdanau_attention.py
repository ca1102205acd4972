import keras
import numpy as np
import pytest
from keras import ops

from keras_seq.layers import BahdanauAttention
from keras_seq.testing import run_layer_checks

RNG = np.random.default_rng(0)
QUERY = RNG.normal(size=(2, 3)).astype("float32")
MEMORY = RNG.normal(size=(2, 4, 5)).astype("float32")
MASK = np.array([[True, True, True, False], [True, False, False, False]])


def test_layer_checks():
    run_layer_checks(
        BahdanauAttention,
        {"units": 6},
        {"query": QUERY, "memory": MEMORY, "memory_mask": MASK},
        float32_outputs=(1,),
    )


def test_hand_computed_scores():
    layer = BahdanauAttention(2)
    query = np.array([[1.0, 0.0]], "float32")
    memory = np.array([[[1.0, 0.0], [0.0, 1.0]]], "float32")
    layer(query, memory)
    layer.query_dense.set_weights([np.eye(2, dtype="float32")])
    layer.memory_dense.set_weights([np.eye(2, dtype="float32"), np.zeros(2, "float32")])
    layer.score_dense.set_weights([np.ones((2, 1), "float32")])
    context, weights = layer(query, memory)
    # score_s = sum(tanh(q + m_s)): s0 = tanh(2) + tanh(0), s1 = tanh(1) + tanh(1).
    scores = np.array([np.tanh(2.0), 2 * np.tanh(1.0)])
    expected = np.exp(scores) / np.exp(scores).sum()
    np.testing.assert_allclose(weights[0], expected, rtol=1e-6)
    np.testing.assert_allclose(context[0], expected @ memory[0], rtol=1e-6)


def test_masked_weights_are_exactly_zero_and_rows_sum_to_one():
    _, weights = BahdanauAttention(4)(QUERY, MEMORY, MASK)
    weights = ops.convert_to_numpy(weights)
    assert np.all(weights[~MASK] == 0.0)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("policy", ["float32", "mixed_float16", "mixed_bfloat16"])
def test_fully_masked_row_gives_zero_weights_and_context(policy):
    layer = BahdanauAttention(4, dtype=policy)
    mask = np.array([[False] * 4, [True] * 4])
    context, weights = layer(QUERY * 1e3, MEMORY, mask)
    assert weights.dtype == "float32"
    assert np.all(ops.convert_to_numpy(weights)[0] == 0)
    assert np.all(ops.convert_to_numpy(ops.cast(context, "float32"))[0] == 0)
    assert np.all(np.isfinite(ops.convert_to_numpy(ops.cast(context, "float32"))))


def test_padding_invariance():
    layer = BahdanauAttention(4)
    context, weights = layer(QUERY[:1], MEMORY[:1, :3])
    padded_context, padded_weights = layer(QUERY[:1], MEMORY[:1], MASK[:1])
    np.testing.assert_allclose(padded_context, context, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(padded_weights[:, :3], weights, rtol=1e-6, atol=1e-7)


def test_memory_projection_is_computed_once_and_reused():
    layer = BahdanauAttention(4)
    context, weights = layer(QUERY, MEMORY, MASK)
    keys = layer.prepare_memory(MEMORY)
    again = layer.attend(QUERY, keys, MEMORY, MASK)
    np.testing.assert_allclose(again[0], context, rtol=1e-6)
    np.testing.assert_allclose(again[1], weights, rtol=1e-6)


def test_sequence_query_equals_one_step_queries():
    layer = BahdanauAttention(4)
    queries = RNG.normal(size=(2, 3, 3)).astype("float32")
    context, weights = layer(queries, MEMORY, MASK)
    assert context.shape == (2, 3, 5) and weights.shape == (2, 3, 4)
    for t in range(3):
        step_context, step_weights = layer(queries[:, t], MEMORY, MASK)
        np.testing.assert_allclose(context[:, t], step_context, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(weights[:, t], step_weights, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("units", [0, -3, 2.5, "8"])
def test_bad_units_name_the_value(units):
    with pytest.raises(ValueError, match=f"units={units!r}"):
        BahdanauAttention(units)


def test_differs_from_keras_additive_attention():
    """Keras' AdditiveAttention has no projections; ours learns W_q, W_m and v."""
    layer = BahdanauAttention(4)
    layer(QUERY, MEMORY)
    assert {w.path.split("/")[-2] for w in layer.trainable_weights} == {
        "query_dense",
        "memory_dense",
        "score_dense",
    }
    assert isinstance(layer, keras.layers.Layer)
