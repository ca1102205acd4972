import math

import numpy as np
import pytest
from keras import ops

from keras_seq.layers import LuongAttention
from keras_seq.testing import run_layer_checks

RNG = np.random.default_rng(0)
QUERY = RNG.normal(size=(2, 5)).astype("float32")
MEMORY = RNG.normal(size=(2, 4, 5)).astype("float32")
MASK = np.array([[True, True, True, False], [True, False, False, False]])


@pytest.mark.parametrize("score", ["dot", "general", "concat", "scaled_dot"])
def test_layer_checks(score):
    run_layer_checks(
        LuongAttention,
        {"score": score},
        {"query": QUERY, "memory": MEMORY, "memory_mask": MASK},
        float32_outputs=(1,),
    )


def test_dot_and_scaled_dot_by_hand():
    query = np.array([[1.0, 2.0]], "float32")
    memory = np.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]], "float32")
    for score, scale in (("dot", 1.0), ("scaled_dot", math.sqrt(2.0))):
        _, weights = LuongAttention(score)(query, memory)
        scores = np.array([1.0, 2.0, 3.0]) / scale
        np.testing.assert_allclose(weights[0], np.exp(scores) / np.exp(scores).sum(), rtol=1e-6)


def test_general_by_hand():
    layer = LuongAttention("general")
    query = np.array([[1.0, 2.0]], "float32")
    memory = np.array([[[1.0, 0.0], [0.0, 1.0]]], "float32")
    layer(query, memory)
    layer.memory_dense.set_weights([np.array([[0.0, 1.0], [1.0, 0.0]], "float32")])  # swap
    _, weights = layer(query, memory)
    scores = np.array([2.0, 1.0])
    np.testing.assert_allclose(weights[0], np.exp(scores) / np.exp(scores).sum(), rtol=1e-6)


@pytest.mark.parametrize("score", ["dot", "general", "concat", "scaled_dot"])
def test_masking_and_fully_masked_rows(score):
    layer = LuongAttention(score)
    mask = MASK.copy()
    mask[1] = False
    context, weights = layer(QUERY, MEMORY, mask)
    weights = ops.convert_to_numpy(weights)
    assert np.all(weights[~mask] == 0.0)
    np.testing.assert_allclose(weights[0].sum(), 1.0, rtol=1e-6)
    assert np.all(weights[1] == 0) and np.all(ops.convert_to_numpy(context)[1] == 0)


@pytest.mark.parametrize("score", ["dot", "scaled_dot"])
def test_dot_scores_need_equal_widths(score):
    with pytest.raises(ValueError, match="query_dim=3, memory_dim=5"):
        LuongAttention(score)(np.ones((2, 3), "float32"), MEMORY)


def test_general_and_concat_accept_different_widths():
    for score in ("general", "concat"):
        context, _ = LuongAttention(score)(np.ones((2, 3), "float32"), MEMORY)
        assert context.shape == (2, 5)


def test_unknown_score_names_the_value():
    with pytest.raises(ValueError, match="score='dott'"):
        LuongAttention("dott")


def test_sequence_query_equals_one_step_queries():
    layer = LuongAttention("concat")
    queries = RNG.normal(size=(2, 3, 5)).astype("float32")
    context, weights = layer(queries, MEMORY, MASK)
    for t in range(3):
        step_context, step_weights = layer(queries[:, t], MEMORY, MASK)
        np.testing.assert_allclose(context[:, t], step_context, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(weights[:, t], step_weights, rtol=1e-5, atol=1e-6)


def test_concat_by_hand():
    layer = LuongAttention("concat", units=2)
    query = np.array([[1.0, -1.0]], "float32")
    memory = np.array([[[1.0, 0.0, 2.0], [0.0, 1.0, -1.0], [1.0, 1.0, 0.0]]], "float32")
    layer(query, memory)
    w_memory = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, -0.5]], "float32")
    b_memory = np.array([0.1, -0.2], "float32")
    w_query = np.array([[0.3, 0.0], [0.0, 0.7]], "float32")
    v = np.array([[2.0], [-1.0]], "float32")
    layer.memory_dense.set_weights([w_memory, b_memory])
    layer.query_dense.set_weights([w_query])
    layer.score_dense.set_weights([v])
    context, weights = layer(query, memory)
    # score_s = v^T tanh(W_q q + W_m m_s + b)
    scores = (np.tanh(query @ w_query + memory[0] @ w_memory + b_memory) @ v)[:, 0]
    expected = np.exp(scores) / np.exp(scores).sum()
    np.testing.assert_allclose(weights[0], expected, rtol=1e-5)
    np.testing.assert_allclose(context[0], expected @ memory[0], rtol=1e-5)
