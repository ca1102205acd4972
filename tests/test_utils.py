import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter
from keras import ops

from keras_seq.export.tflite import check_builtins_only
from keras_seq.utils import TOP_K_BLOCK, TOP_K_MIN_BLOCKS, row_top_k, top_k_block


def rows_with_ties(rows, columns, seed=0):
    """Few distinct values (many ties), one row of `-inf` and one `-inf` block."""
    values = np.random.default_rng(seed).integers(-3, 4, (rows, columns)).astype("float32")
    values[0] = -np.inf
    values[1, :TOP_K_BLOCK] = -np.inf
    return values


@pytest.mark.parametrize("k", [1, 5])
@pytest.mark.parametrize("extra", [0, 1])  # blocks of 128 columns; then no divisor: padded
def test_row_top_k_is_top_k_with_its_ties_in_blocks(k, extra):
    columns = TOP_K_MIN_BLOCKS * k * TOP_K_BLOCK + extra  # the smallest width split in blocks
    for values in (
        rows_with_ties(4, columns),
        np.random.default_rng(1).normal(size=(3, columns)).astype("float32"),
    ):
        expected_values, expected_indices = ops.top_k(values, k)
        got_values, got_indices = row_top_k(tf.constant(values), k)
        np.testing.assert_array_equal(got_values, expected_values)
        np.testing.assert_array_equal(got_indices, expected_indices)


def test_blocks_divide_the_usual_vocabulary_sizes():
    assert [top_k_block(n) for n in (8000, 10_000, 32_000, 1024 * 5)] == [125, 125, 128, 128]
    assert top_k_block(10_007) == TOP_K_BLOCK  # a prime: padded


@pytest.mark.parametrize("columns", [10_000, 10_007])
def test_row_top_k_converts_to_builtin_tflite_ops_and_gives_the_same_there(columns):
    spec = tf.TensorSpec([5, columns], tf.float32)

    def top_five(x):
        values, indices = row_top_k(x, 5)
        return {"values": values, "indices": indices}

    function = tf.function(top_five, input_signature=[spec])
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [function.get_concrete_function()], tf.Module()
    )
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    content = converter.convert()
    assert "REDUCE_MAX" in check_builtins_only(content)  # the blocks' maxima
    values = rows_with_ties(5, columns, seed=2)
    out = Interpreter(model_content=content).get_signature_runner()(x=values)
    expected_values, expected_indices = ops.top_k(values, 5)
    np.testing.assert_array_equal(out["values"], expected_values)
    np.testing.assert_array_equal(out["indices"], expected_indices)
