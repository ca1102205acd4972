"""Other architectures export as the default one does: builtins-only TFLite, exact.

The Transformer's beam search among them: keras-hub's own `generate` needs Flex ops.
"""

import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

import keras_seq as ks
from keras_seq.data import SubwordTokenizer, generate_pairs, make_dataset
from keras_seq.export import check_builtins_only
from keras_seq.export.tflite import convert
from keras_seq.training import compile_seq2seq
from tests.export.conftest import padded_ids

PAIRS = generate_pairs(600, seed=3)
LENGTH = 16


def transformer(source_vocab_size, target_vocab_size):
    return ks.models.build_transformer(
        source_vocab_size, target_vocab_size, 32, num_layers=1, num_heads=2, max_length=LENGTH
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "build",
    [
        # Multi-head attention after the cell: fused teacher forcing.
        lambda *sizes: ks.models.build_seq2seq(*sizes, 16, 32, attention="multihead", num_heads=4),
        # ... before the cell, with the output projection tied to the target embedding.
        lambda *sizes: ks.models.build_seq2seq(
            *sizes,
            16,
            32,
            attention="multihead",
            num_heads=2,
            attend_before_cell=True,
            cell="rnn",
            tie_embeddings=True,
        ),
        transformer,  # keras-hub's layers, a key/value cache in the state
    ],
    ids=["multihead-lstm", "multihead-before-cell-rnn-tied", "transformer"],
)
def test_saved_model_and_tflite_greedy_and_beam_equal_keras(tmp_path, build):
    source = SubwordTokenizer.train([s for s, _ in PAIRS], 100)
    target = SubwordTokenizer.train([t for _, t in PAIRS], 100)
    model = build(100, 100)
    attention = ks.models.records_attention(model)
    compile_seq2seq(model, learning_rate=1e-2, warmup_steps=0)
    data, _ = make_dataset(PAIRS, source, target, 32, LENGTH, LENGTH)
    model.fit(data, epochs=2, verbose=0)

    module = ks.export.TranslatorModule(model, source, target, LENGTH, LENGTH, strategy="beam")
    ids = padded_ids(source, [s for s, _ in PAIRS[:6]], LENGTH)
    served = tf.saved_model.load(
        ks.export.export_saved_model(module, str(tmp_path / "saved_model"), attention)
    )
    for name, strategy in module.ids_strategies().items():
        expected = ks.models.generate(model, ids, LENGTH, strategy, return_attention=attention)
        signature = served.signatures[name](source_ids=tf.constant(ids))
        np.testing.assert_array_equal(signature["ids"], expected.ids, err_msg=name)
        content = convert(module, strategy, with_attention=attention)
        assert "WHILE" in check_builtins_only(content)
        runner = Interpreter(model_content=content).get_signature_runner()
        for row in range(len(ids)):
            out = runner(source_ids=ids[row : row + 1])
            np.testing.assert_array_equal(out["ids"][0], expected.ids[row], err_msg=name)
            np.testing.assert_allclose(out["scores"][0], expected.scores[row], atol=1e-4)
            if attention:
                np.testing.assert_allclose(
                    out["attention"][0], expected.attention[row], atol=1e-5, err_msg=name
                )
    greedy = np.asarray(ks.models.generate(model, ids, LENGTH, "greedy").ids)
    assert len(np.unique(greedy[:, 0, :3])) > 1  # it learned something
    texts = served.signatures["serving_default"](text=tf.constant(["one two three"]))
    assert texts["translation"].dtype == tf.string
