"""A model trained under a mixed precision policy exports in float32, end to end."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer ops the SavedModel uses)
from ai_edge_litert.interpreter import Interpreter

import keras_seq as ks
from keras_seq.data import SubwordTokenizer, generate_pairs, make_dataset
from keras_seq.training import compile_seq2seq
from tests.export.conftest import padded_ids

PAIRS = generate_pairs(400, seed=2)


@pytest.mark.slow
def test_a_mixed_precision_model_exports_to_saved_model_and_tflite(tmp_path):
    # One policy: `as_float32` rebuilds either alike (both train and decode in
    # tests/models/test_seq2seq.py); bfloat16 is the one the recipes pick on a CPU.
    policy = "mixed_bfloat16"
    source = SubwordTokenizer.train([s for s, _ in PAIRS], 100)
    target = SubwordTokenizer.train([t for _, t in PAIRS], 100)
    keras.config.set_dtype_policy(policy)
    try:
        model = ks.models.build_seq2seq(100, 100, embedding_dim=16, units=32, attention="bahdanau")
        compile_seq2seq(model, learning_rate=1e-2, warmup_steps=0)
        data, _ = make_dataset(PAIRS, source, target, 32, 16, 16)
        model.fit(data, epochs=3, verbose=0)
    finally:
        keras.config.set_dtype_policy("float32")
    assert model.get_layer("decoder").compute_dtype != "float32"

    translator = ks.export.TranslatorModule(model, source, target, 16, 16, strategy="beam")
    assert translator.model.get_layer("decoder").compute_dtype == "float32"
    assert model.get_layer("decoder").compute_dtype != "float32"  # the trained model is kept
    saved = ks.export.export_saved_model(translator, str(tmp_path / "saved_model"))
    files = ks.export.export_tflite(translator, str(tmp_path / "tflite"), ("float32",))
    assert sorted(files) == ["beam.tflite", "greedy.tflite"]

    ids = padded_ids(source, [s for s, _ in PAIRS[:6]], 16)
    reference = ks.models.generate(ks.models.as_float32(model), ids, 16, "greedy")
    loaded = tf.saved_model.load(saved)
    served = loaded.signatures["greedy"](source_ids=tf.constant(ids))
    np.testing.assert_array_equal(served["ids"], reference.ids)
    runner = Interpreter(model_path=files["greedy.tflite"]).get_signature_runner()
    for row in range(len(ids)):
        out = runner(source_ids=ids[row : row + 1])
        np.testing.assert_array_equal(out["ids"][0], reference.ids[row])
    texts = loaded.signatures["serving_default"](text=tf.constant(["one two three"]))
    assert texts["translation"].dtype == tf.string
    assert len(np.unique(np.asarray(reference.ids)[:, 0, :3])) > 1  # it learned something


def test_as_float32_keeps_a_float32_model_and_the_weights():
    model = ks.models.build_seq2seq(20, 20, embedding_dim=4, units=4)
    assert ks.models.as_float32(model) is model
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        mixed = ks.models.build_seq2seq(20, 20, embedding_dim=4, units=4)
    finally:
        keras.config.set_dtype_policy("float32")
    copy = ks.models.as_float32(mixed)
    assert {layer.compute_dtype for layer in copy._flatten_layers()} == {"float32"}
    for a, b in zip(mixed.get_weights(), copy.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
