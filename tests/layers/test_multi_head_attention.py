import keras
import numpy as np
import pytest
from keras import ops

from keras_seq.layers import MultiHeadAttention
from keras_seq.testing import run_layer_checks

RNG = np.random.default_rng(0)
QUERY = RNG.normal(size=(2, 6)).astype("float32")
MEMORY = RNG.normal(size=(2, 4, 8)).astype("float32")
MASK = np.array([[True, True, True, False], [True, False, False, False]])


def numpy_heads(layer, query, memory, mask):
    """Each head by hand from the layer's kernels: `(context (B, D), weights (B, H, S))`."""
    w_query, w_memory, w_output = (
        ops.convert_to_numpy(d.kernel)
        for d in (layer.query_dense, layer.memory_dense, layer.output_dense)
    )
    heads, size = layer.num_heads, layer.head_dim
    q = (query @ w_query).reshape(len(query), heads, size)
    kv = memory @ w_memory
    k = kv[..., : heads * size].reshape(*memory.shape[:2], heads, size)
    v = kv[..., heads * size :].reshape(*memory.shape[:2], heads, size)
    scores = np.einsum("bhk,bshk->bhs", q, k) / np.sqrt(size)
    scores = np.where(mask[:, None, :], scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    read = np.einsum("bhs,bshk->bhk", weights, v).reshape(len(query), heads * size)
    return read @ w_output, weights


@pytest.mark.parametrize("num_heads,key_dim", [(1, None), (2, None), (3, 5)])
def test_layer_checks(num_heads, key_dim):
    run_layer_checks(
        MultiHeadAttention,
        {"num_heads": num_heads, "key_dim": key_dim},
        {"query": QUERY, "memory": MEMORY, "memory_mask": MASK},
        float32_outputs=(1,),
    )


@pytest.mark.parametrize("num_heads,key_dim", [(2, None), (4, 3)])
def test_values_against_a_hand_computation(num_heads, key_dim):
    layer = MultiHeadAttention(num_heads, key_dim=key_dim)
    context, weights = layer(QUERY, MEMORY, MASK)
    expected_context, expected_heads = numpy_heads(layer, QUERY, MEMORY, MASK)
    _, head_weights = layer.attend_heads(QUERY, layer.prepare_memory(MEMORY), MASK)
    np.testing.assert_allclose(head_weights, expected_heads, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(weights, expected_heads.mean(axis=1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(context, expected_context, rtol=1e-5, atol=1e-5)
    assert layer.head_dim == (key_dim or 8 // num_heads)


def test_heads_attend_differently():
    """Heads are separate subspaces: with different kernels they weigh positions differently."""
    layer = MultiHeadAttention(2)
    layer(QUERY, MEMORY)
    _, head_weights = layer.attend_heads(QUERY, layer.prepare_memory(MEMORY) * 0, None)
    np.testing.assert_allclose(head_weights, 0.25)  # all-zero keys: uniform in every head
    _, head_weights = layer.attend_heads(QUERY, layer.prepare_memory(MEMORY), None)
    assert np.abs(head_weights[:, 0] - head_weights[:, 1]).max() > 1e-3


def test_masking_and_fully_masked_rows():
    layer = MultiHeadAttention(2)
    mask = MASK.copy()
    mask[1] = False
    context, weights = layer(QUERY, MEMORY, mask)
    _, head_weights = layer.attend_heads(QUERY, layer.prepare_memory(MEMORY), mask)
    weights, head_weights = ops.convert_to_numpy(weights), ops.convert_to_numpy(head_weights)
    assert np.all(weights[~mask] == 0.0) and np.all(head_weights[0][:, ~mask[0]] == 0.0)
    np.testing.assert_allclose(head_weights[0].sum(-1), 1.0, rtol=1e-6)
    assert np.all(weights[1] == 0) and np.all(ops.convert_to_numpy(context)[1] == 0)


def test_masking_is_exact_under_mixed_precision():
    keras.config.set_dtype_policy("mixed_bfloat16")
    layer = MultiHeadAttention(2)
    context, weights = layer(QUERY, MEMORY, MASK)
    assert weights.dtype == "float32" and context.dtype == "bfloat16"
    assert np.all(ops.convert_to_numpy(weights)[~MASK] == 0.0)
    np.testing.assert_allclose(ops.convert_to_numpy(weights).sum(-1), 1.0, rtol=1e-6)


def test_sequence_query_equals_one_step_queries():
    layer = MultiHeadAttention(2)
    queries = RNG.normal(size=(2, 3, 6)).astype("float32")
    context, weights = layer(queries, MEMORY, MASK)
    keys = layer.prepare_memory(MEMORY)
    _, head_weights = layer.attend_heads(queries, keys, MASK)
    assert tuple(head_weights.shape) == (2, 3, 2, 4)
    for t in range(3):
        step_context, step_weights = layer(queries[:, t], MEMORY, MASK)
        np.testing.assert_allclose(context[:, t], step_context, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(weights[:, t], step_weights, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,value", [("num_heads", 0), ("key_dim", -2), ("num_heads", 2.0)])
def test_bad_sizes_name_the_value(name, value):
    with pytest.raises(ValueError, match=f"{name}={value!r}"):
        MultiHeadAttention(**{name: value})
