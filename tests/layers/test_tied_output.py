import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_seq as ks
from keras_seq.layers import AttentionDecoder, TiedOutput

RNG = np.random.default_rng(0)
MEMORY = RNG.normal(size=(2, 4, 6)).astype("float32")
TARGET = np.array([[1, 5, 6, 7, 2], [1, 8, 2, 0, 0]], "int32")


def decoder(**kwargs):
    layer = AttentionDecoder(11, 4, 6, attention="luong_general", **kwargs)
    layer(TARGET, MEMORY)
    return layer


def test_the_decoder_reads_its_logits_off_the_target_embedding():
    tied, untied = decoder(tie_embeddings=True), decoder()
    # The 11 x 6 output kernel becomes a 6 x 4 projection onto the embedding.
    assert untied.count_params() - tied.count_params() == 11 * 6 - 6 * 4
    output = tied.output_dense
    assert isinstance(output, TiedOutput)
    embeddings = tied.embedding.embeddings
    assert [w.path for w in tied.weights].count(embeddings.path) == 1

    feature = RNG.normal(size=(3, 6)).astype("float32")
    expected = feature @ output.projection.kernel.numpy() @ embeddings.numpy().T
    np.testing.assert_allclose(output(feature), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        output.kernel, output.projection.kernel.numpy() @ embeddings.numpy().T, rtol=1e-6
    )
    # One variable: the loss reaches the embedding from the input side and the output side.
    with tf.GradientTape() as tape:
        loss = keras.ops.sum(tied(TARGET, MEMORY)[:, :, 9])  # id 9 is never an input
    gradient = tf.convert_to_tensor(tape.gradient(loss, embeddings))
    assert np.abs(gradient[9]).sum() > 0


def test_a_feature_as_wide_as_the_embedding_needs_no_projection():
    embedding = keras.layers.Embedding(7, 5)
    embedding.build((None,))
    output = TiedOutput(embedding)
    feature = RNG.normal(size=(2, 3, 5)).astype("float32")
    logits = output(feature)
    assert output.projection is None and tuple(logits.shape) == (2, 3, 7)
    np.testing.assert_allclose(
        logits, feature @ embedding.embeddings.numpy().T, rtol=1e-5, atol=1e-6
    )


def test_a_tied_model_trains_and_round_trips_through_a_keras_file(tmp_path):
    model = ks.models.build_seq2seq(20, 20, 8, 6, attention="bahdanau", tie_embeddings=True)
    ks.training.compile_seq2seq(model, learning_rate=1e-2, warmup_steps=0)
    inputs = {"source_ids": TARGET, "target_ids": TARGET}
    model.fit(inputs, TARGET, epochs=1, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert ks.models.seq2seq_parts(loaded).decoder.tie_embeddings
    np.testing.assert_allclose(loaded(inputs), model(inputs), atol=1e-6)


def test_only_an_embedding_can_be_tied():
    with pytest.raises(ValueError, match="Received: Dense"):
        TiedOutput(keras.layers.Dense(4))
    with pytest.raises(ValueError, match="Received: Dense"):
        ks.layers.ForecastDecoder(2, 4, 6, tie_embeddings=True)
