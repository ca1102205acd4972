import keras
import numpy as np
import pytest

import keras_seq as ks

START, END = 1, 2


def reversal_data(n, vocab_size=12, min_len=3, max_len=6, seed=0):
    """Source: random ids in [4, vocab); target: the source reversed."""
    rng = np.random.default_rng(seed)
    source = np.zeros((n, max_len), "int32")
    target_in = np.zeros((n, max_len + 1), "int32")
    labels = np.zeros((n, max_len + 1), "int32")
    for i in range(n):
        length = rng.integers(min_len, max_len + 1)
        tokens = rng.integers(4, vocab_size, size=length)
        source[i, :length] = tokens
        target_in[i, : length + 1] = [START, *tokens[::-1]]
        labels[i, : length + 1] = [*tokens[::-1], END]
    return {"source_ids": source, "target_ids": target_in}, labels


def small_model(**kwargs):
    args = dict(embedding_dim=16, units=32, attention="bahdanau")
    args.update(kwargs)
    return ks.models.build_seq2seq(12, 12, **args)


def compile_model(model, learning_rate=1e-2):
    model.compile(
        keras.optimizers.Adam(learning_rate, clipnorm=1.0),
        ks.losses.SequenceCrossentropy(),
        metrics=[ks.metrics.MaskedAccuracy()],
        jit_compile=False,
    )
    ks.training.build_optimizer(model)
    return model


def test_layer_names_and_io():
    model = small_model()
    assert {"encoder", "bridge", "decoder"} <= {layer.name for layer in model.layers}
    inputs, _ = reversal_data(3)
    assert model(inputs).shape == (3, 7, 12)
    assert set(model.input) == {"source_ids", "target_ids"}


@pytest.mark.parametrize(
    "attention", [pytest.param("bahdanau", marks=pytest.mark.slow), "luong_general"]
)
def test_learns_to_reverse_and_decodes(attention):
    inputs, labels = reversal_data(2000)
    model = compile_model(small_model(attention=attention))
    history = model.fit(inputs, labels, batch_size=64, epochs=5, verbose=0)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]
    test_inputs, test_labels = reversal_data(50, seed=1)
    for strategy in (ks.decoding.GreedySearch(), ks.decoding.BeamSearch(3)):
        result = ks.models.generate(model, test_inputs["source_ids"], 8, strategy=strategy)
        ids = np.asarray(result.ids[:, 0])
        correct = [
            np.array_equal(
                ids[i, : result.lengths[i, 0]], test_labels[i, : (test_labels[i] > 0).sum()]
            )
            for i in range(50)
        ]
        assert np.mean(correct) >= 0.9, (strategy, np.mean(correct))


def test_keras_file_round_trip(tmp_path):
    model = small_model(
        attention="luong_concat",
        encoder_layers=2,
        decoder_layers=2,
        bridge="dense",
        decoder_units=24,
        dropout=0.1,
    )
    model.get_layer("decoder").sampling_probability.assign(0.25)
    inputs, _ = reversal_data(4)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded(inputs), model(inputs), rtol=1e-6, atol=1e-6)
    assert float(loaded.get_layer("decoder").sampling_probability.numpy()) == 0.25
    a = ks.models.generate(model, inputs["source_ids"], 6, strategy=ks.decoding.BeamSearch(2))
    b = ks.models.generate(loaded, inputs["source_ids"], 6, strategy=ks.decoding.BeamSearch(2))
    np.testing.assert_array_equal(a.ids, b.ids)


def test_generate_beam_size_one_equals_greedy():
    model = small_model(cell="gru")
    source = reversal_data(5)[0]["source_ids"]
    greedy = ks.models.generate(model, source, 7)
    beam = ks.models.generate(model, source, 7, strategy=ks.decoding.BeamSearch(1))
    np.testing.assert_array_equal(beam.ids, greedy.ids)


def test_generate_returns_attention_per_emitted_token():
    model = small_model()
    source = reversal_data(3)[0]["source_ids"]
    result = ks.models.generate(
        model, source, 5, strategy=ks.decoding.BeamSearch(2), return_attention=True
    )
    attention = np.asarray(result.attention)
    assert attention.shape == (3, 2, 5, source.shape[1])
    real = source != 0
    for b in range(3):
        for k in range(2):
            length = int(result.lengths[b, k])
            np.testing.assert_allclose(attention[b, k, :length].sum(-1), 1.0, rtol=1e-5)
            assert np.all(attention[b, k, :length][:, ~real[b]] == 0)
            assert np.all(attention[b, k, length:] == 0)


def test_attention_of_gives_each_head_of_a_multihead_decoder():
    model = small_model(attention="multihead", num_heads=2)
    source = reversal_data(3)[0]["source_ids"]
    result = ks.models.generate(model, source, 5, strategy=ks.decoding.BeamSearch(2))
    decoder = ks.models.seq2seq_parts(model).decoder
    state = ks.models.encode(model, source)
    heads = np.asarray(ks.models.attention_of(decoder, state, result, head_weights=True))
    assert heads.shape == (3, 2, 5, 2, source.shape[1])
    mean = np.asarray(ks.models.attention_of(decoder, state, result))
    np.testing.assert_allclose(heads.mean(axis=3), mean, atol=1e-6)
    for b in range(3):
        length = int(result.lengths[b, 0])
        np.testing.assert_allclose(heads[b, 0, :length].sum(-1), 1.0, rtol=1e-5)
        assert np.all(heads[b, 0, length:] == 0)


def test_generate_padding_does_not_change_translations():
    model = small_model()
    source = reversal_data(4)[0]["source_ids"]
    wider = np.concatenate([source, np.zeros((4, 3), "int32")], axis=1)
    a = ks.models.generate(model, source, 6, strategy=ks.decoding.BeamSearch(2))
    b = ks.models.generate(model, wider, 6, strategy=ks.decoding.BeamSearch(2))
    np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_allclose(a.scores, b.scores, rtol=1e-5)


def test_generate_rejects_unknown_method():
    with pytest.raises(ValueError, match="method='nucleus'"), pytest.warns(DeprecationWarning):
        ks.models.generate(small_model(), np.ones((1, 3), "int32"), 4, method="nucleus")


def test_generate_rejects_unknown_strategy():
    with pytest.raises(ValueError, match="'nucleus'.*'greedy', 'beam', 'sample'"):
        ks.models.generate(small_model(), np.ones((1, 3), "int32"), 4, strategy="nucleus")


def test_strategy_names_configs_and_objects_decode_alike():
    model = small_model()
    source = reversal_data(3)[0]["source_ids"]
    beam = ks.decoding.BeamSearch(beam_size=3, length_penalty=0.6)
    expected = ks.models.generate(model, source, 6, strategy=beam)
    assert expected.ids.shape == (3, 3, 6) and expected.attention is None
    for identifier in (
        ks.decoding.serialize(beam),
        {"class_name": "beam", "config": {"beam_size": 3, "length_penalty": 0.6}},
    ):
        got = ks.models.generate(model, source, 6, strategy=identifier)
        np.testing.assert_array_equal(got.ids, expected.ids)
    greedy = ks.models.generate(model, source, 6)
    np.testing.assert_array_equal(
        ks.models.generate(model, source, 6, strategy="greedy").ids, greedy.ids
    )
    assert greedy.ids.shape == (3, 1, 6)


def test_method_keywords_still_work_with_a_deprecation_warning():
    model = small_model()
    source = reversal_data(3)[0]["source_ids"]
    expected = ks.models.generate(model, source, 6, strategy=ks.decoding.BeamSearch(2, 0.6))
    with pytest.warns(DeprecationWarning, match="strategy="):
        old = ks.models.generate(model, source, 6, method="beam", beam_size=2, length_penalty=0.6)
    np.testing.assert_array_equal(old.ids, expected.ids)
    with pytest.warns(DeprecationWarning):
        greedy = ks.models.generate(model, source, 6, method="greedy", beam_size=5)
    assert greedy.ids.shape == (3, 1, 6)


def test_seq2seq_parts():
    model = small_model()
    parts = ks.models.seq2seq_parts(model)
    assert (parts.encoder.name, parts.bridge.name, parts.decoder.name) == (
        "encoder",
        "bridge",
        "decoder",
    )
    assert isinstance(parts.decoder, ks.layers.AttentionDecoder)
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="decoder")])
    with pytest.raises(ValueError, match="'decoder' \\(AttentionDecoder\\).*'decoder': 'Dense'"):
        ks.models.seq2seq_parts(other)


# Each policy with each attention once (pairwise: the four pairs cost twice the time and
# cover no code path these two do not).
@pytest.mark.slow
@pytest.mark.parametrize(
    "policy,attention", [("mixed_bfloat16", "bahdanau"), ("mixed_float16", "luong_general")]
)
def test_mixed_precision_training_and_decoding(policy, attention):
    keras.config.set_dtype_policy(policy)
    model = compile_model(small_model(attention=attention))
    inputs, labels = reversal_data(512)
    history = model.fit(inputs, labels, batch_size=32, epochs=4, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < 0.8 * losses[0]  # it learns
    assert all(w.dtype == "float32" for w in model.weights)
    assert model(inputs).dtype == policy.removeprefix("mixed_")
    result = ks.models.generate(
        model, inputs["source_ids"][:4], 6, strategy=ks.decoding.BeamSearch(2)
    )
    assert result.scores.dtype == "float32" and np.all(np.isfinite(result.scores))


@pytest.mark.slow
@pytest.mark.parametrize(
    "attention,scheduled_sampling", [("bahdanau", "loop"), ("luong_general", "parallel")]
)
def test_xla_training_learns_with_scheduled_sampling(attention, scheduled_sampling):
    model = small_model(attention=attention, scheduled_sampling=scheduled_sampling)
    ks.models.seq2seq_parts(model).decoder.sampling_probability.assign(0.25)
    model.compile(
        keras.optimizers.Adam(1e-2, clipnorm=1.0),
        ks.losses.SequenceCrossentropy(),
        jit_compile=True,
    )
    ks.training.build_optimizer(model)
    inputs, labels = reversal_data(512)
    history = model.fit(inputs, labels, batch_size=64, epochs=4, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < 0.7 * losses[0]


def test_the_recurrent_layers_are_cudnn_eligible():
    """Keras runs an LSTM/GRU with the fused cuDNN kernel only in its standard form."""
    model = small_model(attention="luong_general", encoder_layers=2, cell="lstm", dropout=0.2)
    gru = small_model(attention="luong_general", cell="gru")
    rnns = [
        layer
        for m in (model, gru)
        for layer in m._flatten_layers()
        if isinstance(layer, (keras.layers.LSTM, keras.layers.GRU))
    ]
    assert len(rnns) == 2 * 2 + 1 + 2 + 1  # both directions of each encoder layer, the decoder
    for rnn in rnns:
        cell = rnn.cell
        assert cell.activation is keras.activations.tanh
        assert cell.recurrent_activation is keras.activations.sigmoid
        assert cell.recurrent_dropout == 0 and cell.use_bias and not rnn.unroll
        assert rnn.use_cudnn in ("auto", True)
        if isinstance(rnn, keras.layers.GRU):
            assert cell.reset_after
