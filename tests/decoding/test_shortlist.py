import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter
from keras import ops

from keras_seq.decoding import BeamSearch, GreedySearch, LexicalShortlist, Sampling
from keras_seq.export import TranslatorModule, check_builtins_only
from keras_seq.export.tflite import convert
from keras_seq.models import build_seq2seq, generate, seq2seq_parts
from keras_seq.special_ids import END_ID, START_ID, UNK_ID

SOURCE_VOCAB, TARGET_VOCAB = 30, 40


def small_model(**options):
    model = build_seq2seq(SOURCE_VOCAB, TARGET_VOCAB, embedding_dim=8, units=8, **options)
    model({"source_ids": np.ones((1, 3), "int32"), "target_ids": np.ones((1, 3), "int32")})
    return model


def source_batch():
    return np.array([[5, 6, 7, 0], [8, 9, 0, 0]], np.int32)


def random_shortlist(per_token=3, frequent=(20, 21), seed=0):
    table = np.random.default_rng(seed).integers(4, TARGET_VOCAB, (SOURCE_VOCAB, per_token))
    table[0] = -1  # padding has no candidates
    return LexicalShortlist(table, list(frequent), TARGET_VOCAB)


def test_from_pairs_lists_each_source_word_with_its_translation():
    # Source 4 always comes with target 10, source 5 with 11; 12 is in every target.
    pairs = [([4, 2], [10, 12, 2])] * 3 + [([5], [11, 12])] * 2 + [([4, 5], [10, 11, 12])]
    shortlist = LexicalShortlist.from_pairs(pairs, 8, 16, per_token=2, frequent=1)
    # Dice(4, 10) = 2*4/(4+4) = 1 beats Dice(4, 12) = 2*4/(4+6); 11 never comes first.
    assert shortlist.table[4].tolist() == [10, 12]
    assert shortlist.table[5].tolist() == [11, 12]
    assert (shortlist.table[[0, 1, 2, 3, 6, 7]] == -1).all()  # special and unseen ids
    assert shortlist.frequent_ids.tolist() == [12]
    assert shortlist.per_token == 2 and shortlist.source_vocab_size == 8


def test_from_pairs_counts_in_chunks_the_same_as_at_once():
    rng = np.random.default_rng(1)
    pairs = [
        (rng.integers(0, SOURCE_VOCAB, rng.integers(1, 9)), rng.integers(0, TARGET_VOCAB, 6))
        for _ in range(50)
    ]
    whole = LexicalShortlist.from_pairs(pairs, SOURCE_VOCAB, TARGET_VOCAB, per_token=4)
    chunked = LexicalShortlist.from_pairs(pairs, SOURCE_VOCAB, TARGET_VOCAB, 4, chunk_size=7)
    np.testing.assert_array_equal(whole.table, chunked.table)
    np.testing.assert_array_equal(whole.frequent_ids, chunked.frequent_ids)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"per_token": 0}, "`per_token` must be an int >= 1. Received: 0"),
        ({"frequent": -1}, "`frequent` must be an int >= 0. Received: -1"),
    ],
)
def test_from_pairs_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LexicalShortlist.from_pairs([([4], [5])], 8, 8, **kwargs)


def test_from_pairs_names_the_pair_with_an_out_of_range_id():
    with pytest.raises(ValueError, match=r"Pair 1: target ids must be in \[0, 8\)"):
        LexicalShortlist.from_pairs([([4], [5]), ([4], [9])], 8, 8)


def test_constructor_rejects_ids_outside_the_vocabulary_and_unknown_projections():
    with pytest.raises(ValueError, match=r"`table` ids must be in \[-1, 10\)"):
        LexicalShortlist([[3, 10]], [4], 10)
    with pytest.raises(ValueError, match=r"`frequent_ids` must be in \[0, 10\)"):
        LexicalShortlist([[3, 4]], [-2], 10)
    with pytest.raises(ValueError, match=r"shape \(source_vocab_size, per_token\)"):
        LexicalShortlist([3, 4], [4], 10)
    with pytest.raises(ValueError, match=r"one of \('columns', 'logits'\).*'rows'"):
        LexicalShortlist([[3, 4]], [4], 10, projection="rows")


def test_candidates_are_the_sorted_union_over_the_batch():
    shortlist = random_shortlist()
    expected = set(shortlist.frequent_ids) | {END_ID, UNK_ID}
    for row in source_batch():
        for source_id in row:
            expected |= {int(t) for t in shortlist.table[source_id] if t >= 0}
    got = ops.convert_to_numpy(shortlist.candidates(source_batch())).tolist()
    assert got == sorted(expected)


def masked_step(decoder, allowed):
    """The brute-force meaning of a shortlist: full logits, -inf outside `allowed`."""
    keep = np.isin(np.arange(TARGET_VOCAB), allowed)

    def step(token_ids, state):
        logits, state = decoder.step(token_ids, state)
        return ops.where(keep[None, :], logits, float("-inf")), state

    return step


@pytest.mark.parametrize("projection", ["columns", "logits"])
@pytest.mark.parametrize(
    "strategy,tied",
    [(GreedySearch(), False), (BeamSearch(3), False), (BeamSearch(3), True)],
    ids=["greedy", "beam", "beam-tied-embeddings"],
)
def test_generate_with_a_shortlist_equals_masking_the_full_logits(strategy, tied, projection):
    model = small_model(tie_embeddings=tied)
    shortlist = random_shortlist().with_projection(projection)
    assert shortlist.projection == projection
    source = source_batch()
    got = generate(model, source, 12, strategy=strategy, shortlist=shortlist)
    allowed = ops.convert_to_numpy(shortlist.candidates(source))

    from keras_seq.models.seq2seq import encode

    state = encode(model, source)
    start = ops.full((2,), START_ID, dtype="int32")
    step = masked_step(seq2seq_parts(model).decoder, allowed)
    expected = strategy(step, start, state, 12, END_ID)
    np.testing.assert_array_equal(got.ids, expected.ids)
    np.testing.assert_allclose(got.scores, expected.scores, rtol=1e-5)
    emitted = ops.convert_to_numpy(got.ids)
    assert np.isin(emitted[emitted > 0], allowed).all()


def test_a_shortlist_of_every_id_changes_nothing():
    model = small_model()
    everything = LexicalShortlist(np.full((SOURCE_VOCAB, 1), -1), np.arange(TARGET_VOCAB), 40)
    for strategy in (GreedySearch(), BeamSearch(3, length_penalty=0.6)):
        plain = generate(model, source_batch(), 12, strategy=strategy)
        listed = generate(model, source_batch(), 12, strategy=strategy, shortlist=everything)
        np.testing.assert_array_equal(plain.ids, listed.ids)
        np.testing.assert_allclose(plain.scores, listed.scores, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("top_k", [0, 2])
def test_sampling_with_a_shortlist_draws_only_candidates(top_k):
    # The search runs over the candidates' columns; their ids come from `vocabulary`.
    model, shortlist = small_model(), random_shortlist()
    strategy = Sampling(temperature=2.0, top_k=top_k, seed=3)
    got = generate(model, source_batch(), 12, strategy=strategy, shortlist=shortlist)
    allowed = ops.convert_to_numpy(shortlist.candidates(source_batch()))
    emitted = ops.convert_to_numpy(got.ids)
    assert np.isin(emitted[emitted > 0], allowed).all() and (emitted > 0).sum() > 4
    assert np.all(np.isfinite(ops.convert_to_numpy(got.scores)))


def test_a_shortlist_of_another_vocabulary_is_refused():
    shortlist = LexicalShortlist(np.full((SOURCE_VOCAB, 1), 4), [5], 50)
    with pytest.raises(ValueError, match="target_vocab_size=50; the decoder's vocabulary has 40"):
        generate(small_model(), source_batch(), 5, shortlist=shortlist)


def test_save_and_load_round_trip(tmp_path):
    shortlist = random_shortlist()
    shortlist.save(tmp_path / "shortlist.npz")
    loaded = LexicalShortlist.load(tmp_path / "shortlist.npz")
    np.testing.assert_array_equal(loaded.table, shortlist.table)
    np.testing.assert_array_equal(loaded.frequent_ids, shortlist.frequent_ids)
    assert loaded.target_vocab_size == TARGET_VOCAB


@pytest.mark.parametrize(
    "strategy",
    [GreedySearch(), pytest.param(BeamSearch(3), marks=pytest.mark.slow)],
    ids=["greedy", "beam"],
)
def test_tflite_with_a_shortlist_is_builtins_only_and_equals_keras(strategy):
    model, shortlist = small_model(), random_shortlist()
    translator = TranslatorModule(
        model, max_source_length=4, max_target_length=12, shortlist=shortlist
    )
    content = convert(translator, strategy)
    check_builtins_only(content)
    runner = Interpreter(model_content=content).get_signature_runner()
    for row in source_batch():
        out = runner(source_ids=row[None, :])
        expected = translator.decode_ids(tf.constant(row[None, :]), strategy)
        np.testing.assert_array_equal(out["ids"], expected.ids)
        np.testing.assert_allclose(out["scores"], expected.scores, rtol=1e-4)


def loop_projections(content, vocab_size):
    """`{subgraph: [weight type]}` of the `FULLY_CONNECTED`s in a TFLite model's loop
    bodies whose weights project onto all `vocab_size` ids."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(content, 0)
    types = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    found = {}
    for index, graph in enumerate(model.subgraphs[1:], start=1):
        for op in graph.operators or []:
            code = model.operatorCodes[op.opcodeIndex]
            builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
            weights = graph.tensors[op.inputs[1]] if len(op.inputs) > 1 else None
            if builtin == schema.BuiltinOperator.FULLY_CONNECTED and weights is not None:
                if list(weights.shape)[:1] == [vocab_size]:
                    found.setdefault(index, []).append(types[weights.type])
    return found


def test_an_int8_beam_file_with_a_shortlist_projects_in_int8_inside_its_loop():
    # Beam search multiplies several hypotheses a step: by the whole int8 projection, then
    # the candidates' logits, rather than by float32 columns gathered from it (slower).
    model = build_seq2seq(SOURCE_VOCAB, 100, embedding_dim=8, units=16)
    model({"source_ids": np.ones((1, 3), "int32"), "target_ids": np.ones((1, 3), "int32")})
    table = np.random.default_rng(0).integers(4, 100, (SOURCE_VOCAB, 3))
    shortlist = LexicalShortlist(table, [20, 21], 100)
    translator = TranslatorModule(
        model, max_source_length=4, max_target_length=8, shortlist=shortlist
    )
    beam = convert(translator, BeamSearch(3), "int8")
    assert set(sum(loop_projections(beam, 100).values(), [])) == {"INT8"}
    # Greedy search (one row a step) multiplies by the gathered columns alone.
    assert loop_projections(convert(translator, GreedySearch(), "int8"), 100) == {}
    runner = Interpreter(model_content=beam).get_signature_runner()
    for row in source_batch():
        emitted = runner(source_ids=row[None, :])["ids"]
        allowed = ops.convert_to_numpy(shortlist.candidates(row[None, :]))
        assert np.isin(emitted[emitted > 0], allowed).all()
