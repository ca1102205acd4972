"""ProjectedLSTM / ProjectedGRU: Keras's LSTM and GRU with the input projection before the loop.

They replace `keras.layers.LSTM` / `GRU` in every keras_seq encoder and fused
decoder, so they must compute exactly what Keras computes, forward and backward,
with masks, reversed sequences and initial states.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq.layers._projected_rnn import ProjectedGRU, ProjectedLSTM

PAIRS = [(ProjectedLSTM, keras.layers.LSTM), (ProjectedGRU, keras.layers.GRU)]


def twins(projected, keras_class, **options):
    """A projected layer and a Keras layer holding the same random weights."""
    rng = np.random.default_rng(0)
    ours = projected(6, return_sequences=True, return_state=True, **options)
    theirs = keras_class(6, return_sequences=True, return_state=True, **options)
    for layer in (ours, theirs):
        layer.build((None, None, 5))
    theirs.set_weights([rng.normal(size=w.shape) * 0.4 for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    return ours, theirs


def inputs():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 7, 5)).astype("float32")
    mask = np.ones((3, 7), bool)
    mask[1, 4:] = mask[2, 2:] = False
    return x, mask


@pytest.mark.parametrize("projected, keras_class", PAIRS)
@pytest.mark.parametrize("go_backwards", [False, True])
def test_same_outputs_states_and_gradients_as_keras(projected, keras_class, go_backwards):
    ours, theirs = twins(projected, keras_class, go_backwards=go_backwards)
    x, mask = inputs()
    x = tf.constant(x)
    states = 2 if projected is ProjectedLSTM else 1
    state = [tf.random.stateless_normal((3, 6), (i, 2)) for i in range(states)]
    results = []
    for layer in (ours, theirs):
        with tf.GradientTape() as tape:
            tape.watch(x)
            outputs = layer(x, mask=mask, initial_state=state)
            loss = sum(tf.reduce_sum(o * o) for o in outputs)
        results.append((outputs, tape.gradient(loss, [x, *layer.trainable_weights])))
    (ours_out, ours_grad), (theirs_out, theirs_grad) = results
    for a, b in zip(ours_out, theirs_out):
        np.testing.assert_allclose(a, b, atol=1e-6)
    for a, b in zip(ours_grad, theirs_grad):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert [w.path.split("/", 1)[1] for w in ours.weights] == [
        w.path.split("/", 1)[1] for w in theirs.weights
    ]  # checkpoints of either load into the other


@pytest.mark.parametrize("projected, keras_class", PAIRS)
def test_mixed_bfloat16_computes_in_bfloat16_like_keras(projected, keras_class):
    ours, theirs = twins(projected, keras_class, dtype="mixed_bfloat16")
    x, mask = inputs()
    ours_out, theirs_out = ours(x, mask=mask)[0], theirs(x, mask=mask)[0]
    assert ours_out.dtype == theirs_out.dtype == "bfloat16"
    np.testing.assert_allclose(
        np.float32(ours_out), np.float32(theirs_out), atol=0.05
    )  # bfloat16 keeps 8 bits: the two orders of the sums round differently


def test_dropout_and_the_last_output_fall_back_or_match():
    """With dropout the Keras loop runs (per-step masks); return_sequences=False matches."""
    layer = ProjectedLSTM(4, dropout=0.5)
    assert layer._keras_loop_is_better(training=True)
    assert not ProjectedLSTM(4)._keras_loop_is_better(training=True)
    assert ProjectedGRU(4, reset_after=False)._keras_loop_is_better(training=False)
    ours, theirs = twins(ProjectedLSTM, keras.layers.LSTM)
    ours.return_sequences = theirs.return_sequences = False
    x, mask = inputs()
    np.testing.assert_allclose(ours(x, mask=mask)[0], theirs(x, mask=mask)[0], atol=1e-6)


def test_config_round_trip_keeps_the_class():
    layer = ProjectedGRU(5, go_backwards=True, return_sequences=True)
    config = keras.saving.serialize_keras_object(layer)
    restored = keras.saving.deserialize_keras_object(config)
    assert type(restored) is ProjectedGRU and restored.go_backwards and restored.units == 5
