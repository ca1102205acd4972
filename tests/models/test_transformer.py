"""The keras-hub Transformer baseline under keras_seq's training and decoding contract."""

import itertools

import keras
import numpy as np
import pytest

import keras_seq as ks
from tests.models.test_seq2seq import compile_model, reversal_data


def small_transformer(target_vocab_size=12, **kwargs):
    sizes = {"hidden_dim": 16, "num_layers": 2, "num_heads": 2, "max_length": 12, **kwargs}
    return ks.models.build_transformer(12, target_vocab_size, **sizes)


def test_parts_and_training_contract():
    model = small_transformer()
    parts = ks.models.seq2seq_parts(model)
    assert parts.bridge is None
    assert isinstance(parts.encoder, ks.layers.TransformerEncoderStack)
    assert isinstance(parts.decoder, ks.layers.TransformerDecoderStack)
    inputs, _ = reversal_data(3)
    assert model(inputs).shape == (3, 7, 12)
    assert set(model.input) == {"source_ids", "target_ids"}


@pytest.mark.parametrize("normalize_first", [False, True])
def test_steps_with_the_cache_equal_teacher_forcing_and_ignore_source_padding(normalize_first):
    model = small_transformer(dropout=0.1, normalize_first=normalize_first)
    inputs, _ = reversal_data(4)
    logits = model(inputs)
    decoder = ks.models.seq2seq_parts(model).decoder
    state = ks.models.encode(model, inputs["source_ids"])
    for t in range(inputs["target_ids"].shape[1]):
        step_logits, state = decoder.step(inputs["target_ids"][:, t], state)
        np.testing.assert_allclose(step_logits, logits[:, t], rtol=1e-4, atol=1e-5)
    assert np.all(np.asarray(state["position"]) == inputs["target_ids"].shape[1])
    padded = dict(inputs, source_ids=np.pad(inputs["source_ids"], ((0, 0), (0, 3))))
    np.testing.assert_allclose(model(padded), logits, rtol=1e-4, atol=1e-5)


def test_beam_search_over_the_cache_equals_brute_force():
    """An exhaustive beam over the cached decoder finds the best scored hypothesis."""
    length, vocab = 3, 3
    model = small_transformer(target_vocab_size=vocab)
    decoder = ks.models.seq2seq_parts(model).decoder
    source = reversal_data(2)[0]["source_ids"]
    beam = ks.models.generate(model, source, length, ks.decoding.BeamSearch(vocab**length, 0.0))
    for row in range(2):
        state = ks.models.encode(model, source[row : row + 1])
        best = -np.inf
        for ids in itertools.product(range(vocab), repeat=length):
            tokens, total, current = [ks.special_ids.START_ID, *ids], 0.0, state
            for t in range(length):
                logits, current = decoder.step(np.array([tokens[t]], "int32"), current)
                total += float(keras.ops.log_softmax(logits)[0, tokens[t + 1]])
                if tokens[t + 1] == ks.special_ids.END_ID:
                    break
            best = max(best, total)
        assert float(beam.scores[row, 0]) == pytest.approx(best, abs=1e-4)


@pytest.mark.slow
def test_learns_to_reverse_and_round_trips(tmp_path):
    inputs, labels = reversal_data(2000)
    model = compile_model(small_transformer(hidden_dim=32, num_layers=1), learning_rate=3e-3)
    history = model.fit(inputs, labels, batch_size=64, epochs=10, verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]
    test_inputs, test_labels = reversal_data(50, seed=1)
    greedy = ks.models.generate(model, test_inputs["source_ids"], 8)
    beam = ks.models.generate(model, test_inputs["source_ids"], 8, ks.decoding.BeamSearch(3))
    for result in (greedy, beam):
        ids = np.asarray(result.ids[:, 0])
        correct = [
            np.array_equal(ids[i, : result.lengths[i, 0]], labels_i[: (labels_i > 0).sum()])
            for i, labels_i in enumerate(test_labels)
        ]
        assert np.mean(correct) >= 0.8
    one = ks.models.generate(model, test_inputs["source_ids"], 8, ks.decoding.BeamSearch(1))
    np.testing.assert_array_equal(one.ids, greedy.ids)
    model.save(tmp_path / "transformer.keras")
    loaded = keras.models.load_model(tmp_path / "transformer.keras")
    again = ks.models.generate(loaded, test_inputs["source_ids"], 8, ks.decoding.BeamSearch(3))
    np.testing.assert_array_equal(again.ids, beam.ids)


def test_what_a_transformer_cannot_do_is_named():
    model = small_transformer()
    source = reversal_data(2)[0]["source_ids"]
    with pytest.raises(ValueError, match="records no attention map"):
        ks.models.generate(model, source, 5, return_attention=True)
    with pytest.raises(ValueError, match="max_length=20 is more than the 12 target positions"):
        ks.models.generate(model, source, 20)
    with pytest.raises(ValueError, match="Sources of 13 tokens are longer than .* max_length=12"):
        model({"source_ids": np.ones((1, 13), "int32"), "target_ids": np.ones((1, 3), "int32")})
    with pytest.raises(ValueError, match="hidden_dim=10, num_heads=4"):
        small_transformer(hidden_dim=10, num_heads=4)
    with pytest.raises(ValueError, match="num_layers=0"):
        small_transformer(num_layers=0)
