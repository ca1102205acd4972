import json

import keras
import numpy as np
import pytest
from keras import ops

from keras_seq.losses import SequenceCrossentropy

LOGITS = np.log(np.array([[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]]], "float32"))
LABELS = np.array([[0, 1]])  # pad id 1 below, so only the first token is real


def test_hand_computed_value_counts_real_tokens_only():
    loss = SequenceCrossentropy(pad_id=1)
    np.testing.assert_allclose(loss(LABELS, LOGITS), -np.log(0.5), rtol=1e-6)
    loss = SequenceCrossentropy(pad_id=5)
    np.testing.assert_allclose(loss(LABELS, LOGITS), -(np.log(0.5) + np.log(0.8)) / 2, rtol=1e-6)


def test_value_does_not_change_with_more_padding():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 3, 7)).astype("float32")
    labels = np.array([[4, 5, 2], [6, 2, 0]])
    loss = SequenceCrossentropy()
    padded_logits = np.concatenate([logits, rng.normal(size=(2, 5, 7)).astype("float32")], 1)
    padded_labels = np.concatenate([labels, np.zeros((2, 5), int)], 1)
    np.testing.assert_allclose(loss(padded_labels, padded_logits), loss(labels, logits), rtol=1e-6)


def test_label_smoothing_by_hand():
    loss = SequenceCrossentropy(pad_id=1, label_smoothing=0.3)
    log_probs = LOGITS[0, 0]
    expected = 0.7 * -log_probs[0] + 0.3 * -log_probs.mean()
    np.testing.assert_allclose(loss(LABELS, LOGITS), expected, rtol=1e-6)


def _value_and_gradient(labels, logits, **options):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(logits)
        value = SequenceCrossentropy(**options)(labels, logits)
    return value, tape.gradient(value, logits)


def _composed(labels, logits, smoothing):
    """The smoothed loss written with the log-softmax, differentiated by autodiff."""
    log_probs = ops.log_softmax(logits, axis=-1)
    nll = -ops.squeeze(ops.take_along_axis(log_probs, labels[..., None], axis=-1), -1)
    per_token = (1 - smoothing) * nll - smoothing * ops.mean(log_probs, axis=-1)
    weights = ops.cast(labels != 0, "float32")
    return ops.sum(per_token * weights) / ops.sum(weights)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_logits_paths_equal_the_composed_log_softmax_with_gradients(smoothing):
    """Logits take the fused softmax cross-entropy (no smoothing) or the smoothed one
    with its gradient written out: the same value and gradient as autodiff through the
    log-softmax; padding gets no gradient."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    logits = tf.constant(rng.normal(size=(3, 4, 50)).astype("float32") * 3)
    labels = np.array([[5, 7, 2, 0], [1, 2, 0, 0], [49, 3, 3, 2]])
    value, gradient = _value_and_gradient(labels, logits, label_smoothing=smoothing)
    with tf.GradientTape() as tape:
        tape.watch(logits)
        expected = _composed(labels, logits, smoothing)
    np.testing.assert_allclose(value, expected, rtol=1e-6)
    np.testing.assert_allclose(gradient, tape.gradient(expected, logits), atol=1e-7)
    assert float(tf.reduce_sum(tf.abs(gradient[1, 2:]))) == 0  # padding: no gradient


def test_smoothed_loss_of_extreme_float16_logits_computes_in_float32():
    import tensorflow as tf

    logits = ops.cast(np.array([[[60000.0, -60000.0, 0.0], [0.0, 0.0, 0.0]]]), "float16")
    value, gradient = _value_and_gradient(np.array([[1, 2]]), logits, label_smoothing=0.1)
    assert value.dtype == "float32" and np.isfinite(value) and float(value) > 1e4
    # softmax - smoothed target, over the 2 real tokens
    uniform = 0.1 / 3
    expected = np.array([[1 - uniform, -0.9 - uniform, -uniform], [0.3, 0.3, -0.6]]) / 2
    assert gradient.dtype == tf.float16
    np.testing.assert_allclose(np.asarray(gradient, "float32")[0], expected, atol=1e-3)


def test_probabilities_input():
    loss = SequenceCrossentropy(pad_id=1, from_logits=False)
    np.testing.assert_allclose(loss(LABELS, np.exp(LOGITS)), -np.log(0.5), rtol=1e-5)


def test_float16_logits_compute_in_float32():
    logits = ops.cast(np.array([[[60000.0, -60000.0, 0.0]]]), "float16")
    value = SequenceCrossentropy()(np.array([[1]]), logits)
    assert value.dtype == "float32" and np.isfinite(value) and float(value) > 1e4


def test_sample_weight_per_sequence():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2, 2, 5)).astype("float32")
    labels = np.array([[3, 4], [2, 0]])
    loss = SequenceCrossentropy()
    per_token = -np.take_along_axis(np.asarray(ops.log_softmax(logits)), labels[..., None], -1)[
        ..., 0
    ]
    weights = np.array([1.0, 3.0])
    expected = (per_token[0].sum() + 3 * per_token[1, 0]) / (2 + 3)
    np.testing.assert_allclose(loss(labels, logits, sample_weight=weights), expected, rtol=1e-5)


def test_all_padding_gives_zero_not_nan():
    assert float(SequenceCrossentropy()(np.zeros((1, 2)), np.zeros((1, 2, 3), "float32"))) == 0.0


def test_serialization_round_trip():
    loss = SequenceCrossentropy(
        pad_id=2, label_smoothing=0.1, name="tokens", reduction="sum", dtype="float32"
    )
    revived = keras.saving.deserialize_keras_object(
        json.loads(json.dumps(keras.saving.serialize_keras_object(loss)))
    )
    assert revived.get_config() == loss.get_config()
    config = revived.get_config()
    assert (config["name"], config["reduction"], config["pad_id"]) == ("tokens", "sum", 2)
    assert config["label_smoothing"] == 0.1 and config["dtype"] == "float32"
    assert revived.reduction == "sum" and revived.name == "tokens"


def test_bad_label_smoothing_names_the_value():
    with pytest.raises(ValueError, match="label_smoothing=1.5"):
        SequenceCrossentropy(label_smoothing=1.5)
