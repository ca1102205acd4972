import keras
import numpy as np
import pytest

import keras_seq as ks
from keras_seq.layers import AttentionDecoder, RNNEncoder, WordDropout

SOURCE = np.array([[4, 5, 6, 7, 2, 0], [8, 9, 2, 0, 0, 0]], "int32")
TARGET = np.array([[1, 5, 6, 7, 2], [1, 8, 2, 0, 0]], "int32")


def test_whole_vectors_are_dropped_at_the_rate_and_the_rest_rescaled():
    layer = WordDropout(0.3, seed=0)
    x = np.ones((64, 50, 8), "float32")
    y = keras.ops.convert_to_numpy(layer(x, training=True))
    rows = y.reshape(-1, 8)
    dropped = (rows == 0).all(axis=1)
    # Every position is either dropped whole or kept whole, scaled by 1 / (1 - rate).
    assert ((rows == 0) | np.isclose(rows, 1 / 0.7)).all()
    assert (dropped | np.isclose(rows, 1 / 0.7).all(axis=1)).all()
    assert abs(dropped.mean() - 0.3) < 0.02  # 3,200 draws
    # Fresh draws on each call; none at inference.
    assert not np.array_equal(y, keras.ops.convert_to_numpy(layer(x, training=True)))
    np.testing.assert_array_equal(layer(x), x)


def test_one_step_of_token_vectors_is_dropped_per_token():
    y = keras.ops.convert_to_numpy(WordDropout(0.5, seed=1)(np.ones((400, 3)), training=True))
    assert ((y == 0).all(axis=1) | (y == 2).all(axis=1)).all()
    assert 0.4 < (y == 0).all(axis=1).mean() < 0.6


@pytest.mark.parametrize("rate", [1.0, -0.1, "0.2"])
def test_a_rate_outside_zero_to_one_is_refused(rate):
    with pytest.raises(ValueError, match=f"rate={rate!r}"):
        WordDropout(rate)
    with pytest.raises(ValueError, match=f"word_dropout={rate!r}"):
        RNNEncoder(10, 4, 3, word_dropout=rate)
    with pytest.raises(ValueError, match=f"word_dropout={rate!r}"):
        AttentionDecoder(10, 4, 6, word_dropout=rate)


def test_a_model_with_word_dropout_has_the_same_weights_and_inference():
    plain = ks.models.build_seq2seq(12, 11, 4, 3, attention="luong_general")
    dropping = ks.models.build_seq2seq(12, 11, 4, 3, attention="luong_general", word_dropout=0.4)
    assert [w.path for w in dropping.weights] == [w.path for w in plain.weights]
    dropping.set_weights(plain.get_weights())
    inputs = {"source_ids": SOURCE, "target_ids": TARGET}
    np.testing.assert_allclose(dropping(inputs), plain(inputs), atol=1e-6)
    assert not np.allclose(dropping(inputs, training=True), plain(inputs), atol=1e-3)
    parts = ks.models.seq2seq_parts(dropping)
    assert parts.encoder.word_dropout == parts.decoder.word_dropout == 0.4


def test_a_model_with_word_dropout_trains_and_round_trips(tmp_path):
    model = ks.models.build_seq2seq(12, 11, 4, 3, attention="bahdanau", word_dropout=0.2)
    ks.training.compile_seq2seq(model, learning_rate=1e-2, warmup_steps=0)
    inputs = {"source_ids": SOURCE, "target_ids": TARGET}
    history = model.fit(inputs, TARGET, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert ks.models.seq2seq_parts(loaded).decoder.word_dropout == 0.2
    np.testing.assert_allclose(loaded(inputs), model(inputs), atol=1e-6)
