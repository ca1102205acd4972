import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from keras_seq import decoding
from keras_seq.layers import AttentionDecoder
from keras_seq.layers.attention_decoder import ATTENTIONS
from keras_seq.testing import run_layer_checks
from keras_seq.training import build_optimizer

RNG = np.random.default_rng(0)
MEMORY = RNG.normal(size=(2, 4, 6)).astype("float32")
MASK = np.array([[True, True, True, False], [True, True, False, False]])
TARGET = np.array([[1, 5, 6, 7, 2], [1, 8, 2, 0, 0]], "int32")


def decoder_kwargs(**overrides):
    return {"vocab_size": 11, "embedding_dim": 4, "units": 6, **overrides}


def encoder_state(cell, num_layers=1, units=6):
    n = 2 if cell == "lstm" else 1
    return [
        [RNG.normal(size=(2, units)).astype("float32") for _ in range(n)] for _ in range(num_layers)
    ]


@pytest.mark.parametrize(
    "attention,tie_embeddings",
    [("bahdanau", False), ("luong_general", False), ("multihead", False), ("bahdanau", True)],
)
def test_layer_checks(attention, tie_embeddings):
    run_layer_checks(
        AttentionDecoder,
        decoder_kwargs(attention=attention, num_heads=2, tie_embeddings=tie_embeddings),
        {
            "target_ids": TARGET,
            "memory": MEMORY,
            "memory_mask": MASK,
            "encoder_state": encoder_state("lstm"),
        },
    )


CASES = [(a, c, 1, False) for a, c in itertools.product(ATTENTIONS, ["lstm", "gru"])] + [
    ("luong_general", "lstm", 2, True),
    ("bahdanau", "gru", 2, False),
    ("luong_dot", "gru", 1, True),
    ("multihead", "rnn", 2, True),
    ("bahdanau", "rnn", 1, False),
]


@pytest.mark.parametrize("attention,cell,num_layers,input_feeding", CASES)
def test_step_loop_equals_teacher_forcing(attention, cell, num_layers, input_feeding):
    decoder = AttentionDecoder(
        **decoder_kwargs(
            attention=attention, cell=cell, num_layers=num_layers, input_feeding=input_feeding
        )
    )
    state0 = encoder_state(cell, num_layers)
    logits = decoder(TARGET, MEMORY, MASK, encoder_state=state0)
    state = decoder.initial_state(MEMORY, MASK, state0)
    for t in range(TARGET.shape[1]):
        step_logits, state = decoder.step(TARGET[:, t], state)
        np.testing.assert_allclose(step_logits, logits[:, t], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("attention", ["multihead", "luong_general", "bahdanau"])
@pytest.mark.parametrize("attend_before_cell", [True, False])
def test_either_style_with_any_attention_steps_as_it_teacher_forces(attention, attend_before_cell):
    decoder = AttentionDecoder(
        **decoder_kwargs(attention=attention, attend_before_cell=attend_before_cell)
    )
    logits = decoder(TARGET, MEMORY, MASK)
    width = 4 + (6 if attend_before_cell else 0)  # the context feeds the cell before it
    assert decoder.rnn_layers[0].cell.kernel.shape[0] == width
    state = decoder.initial_state(MEMORY, MASK)
    for t in range(TARGET.shape[1]):
        step_logits, state = decoder.step(TARGET[:, t], state)
        np.testing.assert_allclose(step_logits, logits[:, t], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("attend_before_cell", [True, False])
def test_multihead_records_each_head_and_their_mean(attend_before_cell):
    decoder = AttentionDecoder(
        **decoder_kwargs(attention="multihead", num_heads=3, attend_before_cell=attend_before_cell)
    )
    decoder(TARGET, MEMORY, MASK)
    state = decoder.initial_state(MEMORY, MASK)
    assert tuple(state["head_weights"].shape) == (2, 3, 4)
    _, means = decoder.decode_sequence(TARGET, state)
    _, heads = decoder.decode_sequence(TARGET, state, head_weights=True)
    assert tuple(heads.shape) == (2, 5, 3, 4)
    np.testing.assert_allclose(ops.mean(heads, axis=2), means, atol=1e-6)
    for t in range(TARGET.shape[1]):
        _, state = decoder.step(TARGET[:, t], state)
        np.testing.assert_allclose(state["head_weights"], heads[:, t], atol=1e-5)
    padding = ~np.broadcast_to(MASK[:, None, None], heads.shape)
    assert np.all(ops.convert_to_numpy(heads)[padding] == 0)


def test_head_weights_need_a_multihead_decoder():
    decoder = AttentionDecoder(**decoder_kwargs(attention="luong_general"))
    decoder(TARGET, MEMORY, MASK)
    with pytest.raises(ValueError, match="attention='luong_general'"):
        decoder.decode_sequence(TARGET, decoder.initial_state(MEMORY, MASK), head_weights=True)


def test_input_feeding_with_attention_before_the_cell_is_refused():
    with pytest.raises(ValueError, match="attend_before_cell=True, input_feeding=True"):
        AttentionDecoder(**decoder_kwargs(attend_before_cell=True, input_feeding=True))
    # A config saved before the style was a setting (0.1 ignored input feeding here) loads.
    with pytest.warns(UserWarning, match="input_feeding=True has no effect"):
        decoder = AttentionDecoder(**decoder_kwargs(attention="bahdanau", input_feeding=True))
    assert decoder.input_feeding is False and decoder.attend_before_cell is True


def test_zero_initial_state_by_default():
    decoder = AttentionDecoder(**decoder_kwargs())
    zeros = [[np.zeros((2, 6), "float32")] * 2]
    np.testing.assert_allclose(
        decoder(TARGET, MEMORY, MASK), decoder(TARGET, MEMORY, MASK, encoder_state=zeros)
    )


def _loop_bodies(decoder, training):
    """Op types of each while-loop body in the traced teacher-forced call."""
    fn = tf.function(lambda t, m, k: decoder(t, m, k, training=training))
    graph_def = fn.get_concrete_function(
        tf.TensorSpec([None, None], tf.int32),
        tf.TensorSpec([None, None, 6], tf.float32),
        tf.TensorSpec([None, None], tf.bool),
    ).graph.as_graph_def()
    return [
        {node.op for node in f.node_def}
        for f in graph_def.library.function
        if "while_body" in f.signature.name
    ]


@pytest.mark.parametrize("attention", ["luong_general", "multihead"])
@pytest.mark.parametrize("training", [False, True])
def test_luong_without_input_feeding_runs_the_rnn_fused(training, attention):
    decoder = AttentionDecoder(**decoder_kwargs(attention=attention))
    decoder(TARGET, MEMORY, MASK)
    bodies = _loop_bodies(decoder, training)
    # The fused RNN has its own loop, without attention (no Exp) inside.
    assert any("Exp" not in ops_ and "Tanh" in ops_ for ops_ in bodies)
    if not training:
        assert all("Exp" not in ops_ for ops_ in bodies)


@pytest.mark.parametrize(
    "kwargs", [{"attention": "bahdanau"}, {"attention": "luong_general", "input_feeding": True}]
)
def test_attention_feeding_the_cell_loops_over_step(kwargs):
    decoder = AttentionDecoder(**decoder_kwargs(**kwargs))
    decoder(TARGET, MEMORY, MASK)
    assert any("Exp" in ops_ for ops_ in _loop_bodies(decoder, training=False))


def test_sampling_probability_is_a_float32_scalar_variable():
    decoder = AttentionDecoder(**decoder_kwargs(), dtype="mixed_float16")
    variable = decoder.sampling_probability
    assert isinstance(variable, keras.Variable) and not variable.trainable
    assert variable.dtype == "float32" and tuple(variable.shape) == ()
    assert float(variable.numpy()) == 0.0


@pytest.mark.parametrize("attention", ["bahdanau", "luong_general", "luong_concat", "multihead"])
def test_probability_one_reproduces_greedy_decoding(attention):
    decoder = AttentionDecoder(**decoder_kwargs(attention=attention))
    state0 = encoder_state("lstm")
    decoder(TARGET, MEMORY, MASK, encoder_state=state0)
    decoder.sampling_probability.assign(1.0)
    start = np.ones((2,), "int32")
    greedy = decoding.greedy_search(
        decoder.step,
        start,
        decoder.initial_state(MEMORY, MASK, state0),
        max_length=5,
        end_id=99,  # never ends: compare all five positions
    )
    logits = decoder(np.ones((2, 5), "int32"), MEMORY, MASK, encoder_state=state0, training=True)
    chosen = np.asarray(ops.top_k(logits, 1)[1])[..., 0]
    np.testing.assert_array_equal(chosen, greedy.ids[:, 0])


def test_probability_zero_is_teacher_forcing_in_training():
    decoder = AttentionDecoder(**decoder_kwargs())
    expected = decoder(TARGET, MEMORY, MASK)
    np.testing.assert_allclose(decoder(TARGET, MEMORY, MASK, training=True), expected, atol=1e-6)


@pytest.mark.parametrize("sampling", ["argmax", "sample"])
def test_mixing_is_per_token(sampling):
    decoder = AttentionDecoder(**decoder_kwargs(sampling=sampling, seed=3))
    target = np.tile(np.array([[1, 5, 6, 7, 8, 9, 10, 4]], "int32"), (64, 1))
    memory = np.tile(MEMORY[:1], (64, 1, 1))
    forced = ops.convert_to_numpy(decoder(target, memory))
    decoder.sampling_probability.assign(0.5)
    mixed = ops.convert_to_numpy(decoder(target, memory, training=True))
    # Position 0 always takes the start token; a later position of a row differs from
    # teacher forcing from the first token that was replaced on.
    np.testing.assert_allclose(mixed[:, 0], forced[:, 0], atol=1e-5)
    changed = ~np.isclose(mixed, forced, atol=1e-5).all(-1)
    first_change = np.where(changed.any(1), changed.argmax(1), target.shape[1])
    # Per-token Bernoulli(0.5): first replacement at position 1, 2, ... geometrically,
    # not all at one position as per-sequence mixing would give.
    assert len(set(first_change.tolist())) >= 3
    assert 0.25 < np.mean(first_change == 1) < 0.75


@pytest.mark.parametrize(
    "attention,scheduled_sampling,sampling,jit_compile",
    [
        ("luong_general", "loop", "argmax", False),
        ("luong_general", "parallel", "argmax", False),
        *(
            pytest.param(*case, True, marks=pytest.mark.slow)  # XLA
            for case in [
                ("bahdanau", "loop", "sample"),
                ("luong_general", "loop", "sample"),
                ("luong_general", "parallel", "sample"),
            ]
        ),
    ],
)
def test_fit_trains_with_scheduled_sampling(attention, scheduled_sampling, sampling, jit_compile):
    decoder = AttentionDecoder(
        **decoder_kwargs(
            attention=attention, scheduled_sampling=scheduled_sampling, sampling=sampling
        )
    )
    decoder.sampling_probability.assign(0.5)
    target = keras.Input((None,), dtype="int32")
    memory = keras.Input((4, 6))
    model = keras.Model([target, memory], decoder(target, memory))
    model.compile(
        "adam",
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
    )
    build_optimizer(model)
    history = model.fit([TARGET, MEMORY], TARGET, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"attention": "luong"}, "attention='luong'"),
        ({"cell": "elman"}, "cell='elman'"),
        ({"vocab_size": 0}, "vocab_size=0"),
        ({"sampling": "topk"}, "sampling='topk'"),
        ({"units": None}, "units=None"),
        ({"tie_embeddings": "yes"}, "tie_embeddings='yes'"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AttentionDecoder(**decoder_kwargs(**kwargs))


def test_float_target_ids_are_rejected():
    decoder = AttentionDecoder(**decoder_kwargs())
    with pytest.raises(ValueError, match="dtype=float32"):
        decoder(TARGET.astype("float32"), MEMORY)


def test_wrong_encoder_state_structure_is_rejected():
    decoder = AttentionDecoder(**decoder_kwargs(num_layers=2))
    with pytest.raises(ValueError, match="list of 2 layer state"):
        decoder(TARGET, MEMORY, encoder_state=encoder_state("lstm", 1))


def test_luong_dot_needs_units_equal_to_memory_width():
    decoder = AttentionDecoder(**decoder_kwargs(attention="luong_dot", units=5))
    with pytest.raises(ValueError, match="query_dim=5, memory_dim=6"):
        decoder(TARGET, MEMORY)


def test_layer_checks_with_parallel_scheduled_sampling():
    run_layer_checks(
        AttentionDecoder,
        decoder_kwargs(attention="luong_general", scheduled_sampling="parallel", seed=1),
        {"target_ids": TARGET, "memory": MEMORY, "memory_mask": MASK},
    )


@pytest.mark.parametrize("attention", ["bahdanau", "luong_general"])
def test_parallel_at_probability_zero_is_teacher_forcing(attention):
    decoder = AttentionDecoder(**decoder_kwargs(attention=attention, scheduled_sampling="parallel"))
    expected = decoder(TARGET, MEMORY, MASK)
    got = decoder(TARGET, MEMORY, MASK, training=True)
    np.testing.assert_allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("attention", ["bahdanau", "luong_general"])
def test_parallel_at_probability_one_feeds_the_first_pass_argmax_shifted(attention):
    decoder = AttentionDecoder(**decoder_kwargs(attention=attention, scheduled_sampling="parallel"))
    first_pass = decoder(TARGET, MEMORY, MASK)  # teacher forced
    predicted = np.asarray(ops.top_k(first_pass, 1)[1])[..., 0]
    second_inputs = np.concatenate([TARGET[:, :1], predicted[:, :-1]], axis=1)
    decoder.sampling_probability.assign(1.0)
    got = decoder(TARGET, MEMORY, MASK, training=True)
    np.testing.assert_allclose(got, decoder(second_inputs, MEMORY, MASK), atol=1e-5)


def test_parallel_inputs_mix_per_position():
    from keras_seq.layers._scheduled_sampling import parallel_inputs

    target = np.tile(np.arange(1, 9, dtype="int32"), (256, 1))
    logits = np.zeros((256, 8, 20), "float32")
    logits[..., 15] = 1.0  # pass one predicts 15 everywhere
    mixed = np.asarray(
        parallel_inputs(target, logits, 0.3, "argmax", ops.convert_to_tensor([7, 0], "int64"))
    )
    assert np.all(mixed[:, 0] == 1)  # the start token is never replaced
    replaced = mixed[:, 1:] == 15
    assert np.all(replaced | (mixed[:, 1:] == target[:, 1:]))
    assert 0.25 < replaced.mean() < 0.35
    assert len({tuple(row) for row in replaced}) > 20  # per position (per sequence gives 2)
