import numpy as np
import pytest

from keras_seq.data import (
    EpochShuffle,
    SubwordTokenizer,
    generate_pairs,
    make_dataset,
    measure_padding,
)
from keras_seq.data.pipeline import make_source_batches

PAIRS = generate_pairs(1200, seed=3)


@pytest.fixture(scope="module")
def tokenizers():
    return (
        SubwordTokenizer.train([s for s, _ in PAIRS], 300),
        SubwordTokenizer.train([t for _, t in PAIRS], 300),
    )


def test_batches_shapes_and_shifted_labels(tokenizers):
    source_tok, target_tok = tokenizers
    dataset, report = make_dataset(PAIRS, source_tok, target_tok, 32, shuffle=False)
    assert report.kept == 1200 and report.overlong == 0
    batches = list(dataset)
    assert len(batches) == len(dataset)
    assert sum(len(labels) for _, labels in batches) == 1200
    assert report.target_tokens == sum(int((labels.numpy() > 0).sum()) for _, labels in batches)
    for inputs, labels in batches[:5]:
        assert inputs["source_ids"].dtype == "int32" and labels.dtype == "int32"
        target, labels = inputs["target_ids"].numpy(), labels.numpy()
        assert target.shape == labels.shape
        assert np.all(target[:, 0] == 1)
        np.testing.assert_array_equal(
            target[:, 1:], np.where(labels[:, :-1] == 2, 0, labels[:, :-1])
        )
        lengths = (labels > 0).sum(1)
        assert np.all(labels[np.arange(len(labels)), lengths - 1] == 2)
        source = inputs["source_ids"].numpy()
        # Right-padded: no real token after the first pad of a row, no empty row.
        real = source > 0
        assert np.all(real.sum(1) > 0)
        assert np.all(np.diff(real.astype(int), axis=1) <= 0)


def test_labels_decode_to_the_target_text(tokenizers):
    source_tok, target_tok = tokenizers
    dataset, _ = make_dataset(
        PAIRS[:64], source_tok, target_tok, 64, shuffle=False, bucket_width=100
    )
    inputs, labels = next(iter(dataset))
    decoded = {t.decode() for t in target_tok.detokenize(labels).numpy()}
    sources = {t.decode() for t in source_tok.detokenize(inputs["source_ids"]).numpy()}
    assert decoded == {t for _, t in PAIRS[:64]}
    assert sources == {s for s, _ in PAIRS[:64]}


def test_bucketing_reduces_padding(tokenizers):
    source_tok, target_tok = tokenizers
    bucketed, _ = make_dataset(PAIRS, source_tok, target_tok, 32, bucket_width=2)
    single, _ = make_dataset(PAIRS, source_tok, target_tok, 32, bucket_width=1000)
    assert measure_padding(bucketed) < 0.6 * measure_padding(single)


@pytest.mark.parametrize("policy", ["filter", "truncate"])
def test_overlong_policy_is_counted(tokenizers, policy):
    source_tok, target_tok = tokenizers
    lengths = [len(x) for x in source_tok.tokenize([s for s, _ in PAIRS]).to_list()]
    limit = int(np.median(lengths))
    expected = sum(n > limit for n in lengths)
    dataset, report = make_dataset(
        PAIRS,
        source_tok,
        target_tok,
        16,
        max_source_length=limit,
        max_target_length=100,
        overlong=policy,
    )
    assert report.overlong == expected > 0
    rows = sum(len(labels) for _, labels in dataset)
    assert rows == (1200 - expected if policy == "filter" else 1200) == report.kept
    assert max(x["source_ids"].shape[1] for x, _ in dataset) <= limit


def test_truncated_targets_keep_the_limit(tokenizers):
    source_tok, target_tok = tokenizers
    dataset, _ = make_dataset(
        PAIRS, source_tok, target_tok, 16, max_target_length=4, overlong="truncate"
    )
    assert max(labels.shape[1] for _, labels in dataset) == 4


def test_fewer_pairs_than_batch_size_is_an_error(tokenizers):
    with pytest.raises(ValueError, match="fewer than batch_size=64"):
        make_dataset(PAIRS[:10], *tokenizers, 64)
    with pytest.raises(ValueError, match="empty"):
        make_dataset([], *tokenizers, 64)
    with pytest.raises(ValueError, match="overlong='drop'"):
        make_dataset(PAIRS, *tokenizers, 8, overlong="drop")


def test_source_batches_keep_order(tokenizers):
    source_tok, _ = tokenizers
    texts = [s for s, _ in PAIRS[:50]]
    rebuilt = [None] * 50
    for indices, ids in make_source_batches(texts, source_tok, 16, 64):
        for row, i in zip(indices, source_tok.detokenize(ids).numpy(), strict=True):
            rebuilt[row] = i.decode()
    assert rebuilt == texts


def test_no_batch_row_without_a_real_source_token(tokenizers):
    source_tok, target_tok = tokenizers
    pairs = PAIRS[:200] + [("", "leer"), ("   ", "auch leer"), ("", "")]
    for policy in ("filter", "truncate"):
        dataset, report = make_dataset(pairs, source_tok, target_tok, 16, overlong=policy)
        assert report.empty == 3 and report.kept == 200
        rows = 0
        for inputs, _ in dataset:
            source = inputs["source_ids"].numpy()
            assert np.all((source != 0).sum(axis=1) > 0)
            rows += len(source)
        assert rows == 200


def test_length_curriculum_widens_each_epoch(tokenizers):
    import keras

    from keras_seq.data import LengthCurriculum

    source_tok, target_tok = tokenizers
    curriculum = LengthCurriculum(epochs=2, start_fraction=0.25)
    dataset, report = make_dataset(PAIRS, source_tok, target_tok, 32, 24, 24, curriculum=curriculum)
    assert [curriculum.length_at(e) for e in range(4)] == [6, 15, 24, 24]

    def longest_and_count():
        longest = rows = 0
        for inputs, _ in dataset:
            longest = max(longest, inputs["source_ids"].shape[1], inputs["target_ids"].shape[1])
            rows += len(inputs["source_ids"])
        return longest, rows

    seen = []
    for epoch in range(3):
        curriculum.on_epoch_begin(epoch)
        seen.append(longest_and_count())
    assert seen[0][0] <= 6 and seen[1][0] <= 15 and seen[2][0] <= 24
    assert 0 < seen[0][1] < seen[1][1] <= seen[2][1] == report.kept
    # It drives the dataset inside fit as a callback.
    assert isinstance(curriculum, keras.callbacks.Callback)
    with pytest.raises(ValueError, match="epochs=0"):
        LengthCurriculum(epochs=0)


@pytest.mark.parametrize("subword_dropout", [0.0, 0.3])
def test_a_curriculum_first_epoch_holds_at_least_one_full_batch(tokenizers, subword_dropout):
    from keras_seq.data import LengthCurriculum

    curriculum = LengthCurriculum(epochs=3, start_fraction=0.01)  # 1 token: no pair is that short
    dataset, report = make_dataset(
        PAIRS[:300], *tokenizers, 32, curriculum=curriculum,
        shuffle=EpochShuffle(1), subword_dropout=subword_dropout,
    )  # fmt: skip
    source, target = (t.tokenize(list(texts)).row_lengths().numpy() for t, texts in zip(
        tokenizers, zip(*PAIRS[:300], strict=True), strict=True
    ))  # fmt: skip
    lengths = np.maximum(source, target + 1)  # the target's end id counts
    shortest = np.sort(lengths)[31]  # the 32nd shortest pair's length
    assert curriculum.length_at(0) == shortest < curriculum.length_at(1)
    curriculum.on_epoch_begin(0)
    # The pairs within it by the usual segmentation's lengths, BPE-dropout samples or not.
    rows = sum(len(labels) for _, labels in _epoch(dataset))
    assert 32 <= rows == int((lengths <= shortest).sum()) < report.kept
    # Measured at the full limit, and the first epoch's limit set back.
    assert 0 < measure_padding(dataset, curriculum) < 0.3
    assert int(curriculum.limit.numpy()) == curriculum.length_at(0)


def _orders(dataset, passes):
    return [
        [tuple(row) for inputs, _ in dataset for row in inputs["source_ids"].numpy()[:, :3]]
        for _ in range(passes)
    ]


def test_epoch_shuffle_order_depends_on_seed_and_epoch_only(tokenizers):
    source_tok, target_tok = tokenizers
    pairs = PAIRS[:200]
    shuffle = EpochShuffle(seed=5)
    dataset, _ = make_dataset(pairs, source_tok, target_tok, 16, shuffle=shuffle)
    first, second = _orders(dataset, 2)
    assert first != second and sorted(first) == sorted(second)  # a new order each pass
    # A fresh pipeline (a resumed process) told it is at epoch 1 gives epoch 1's order.
    fresh = EpochShuffle(seed=5)
    again, _ = make_dataset(pairs, source_tok, target_tok, 16, shuffle=fresh)
    fresh.on_epoch_begin(1)
    assert _orders(again, 1) == [second]
    other, _ = make_dataset(pairs, source_tok, target_tok, 16, shuffle=EpochShuffle(seed=6))
    assert _orders(other, 1) != [first]


def test_bad_shuffle_arguments_are_named(tokenizers):
    with pytest.raises(ValueError, match="shuffle='yes'"):
        make_dataset(PAIRS[:64], *tokenizers, 16, shuffle="yes")
    with pytest.raises(ValueError, match="seed=-1"):
        EpochShuffle(seed=-1)


def _epoch(dataset):
    return [(inputs["source_ids"].numpy(), labels.numpy()) for inputs, labels in dataset]


def _texts(tokenizer, rows):
    return sorted(t.decode() for batch in rows for t in tokenizer.detokenize(batch).numpy())


def test_subword_dropout_segments_each_epoch_anew_and_resumes(tokenizers):
    source_tok, target_tok = tokenizers
    pairs = PAIRS[:300]
    usual, usual_report = make_dataset(pairs, *tokenizers, 16, shuffle=EpochShuffle(2))
    shuffle = EpochShuffle(2)
    dataset, report = make_dataset(pairs, *tokenizers, 16, shuffle=shuffle, subword_dropout=0.2)
    assert report.kept == usual_report.kept and report.batches == -(-report.kept // 16)
    # Batched by the epoch's own lengths: little padding (about half, batched at random).
    assert measure_padding(dataset) < 0.2
    shuffle.on_epoch_begin(0)  # what `fit` does
    first, second = _epoch(dataset), _epoch(dataset)
    assert len(first) == len(second) == len(dataset) == report.batches
    tokens = [sum(int((labels > 0).sum()) for _, labels in epoch) for epoch in (first, second)]
    assert min(tokens) > usual_report.target_tokens  # smaller pieces, more of them
    for epoch in (first, second):  # every pair once, its text intact
        assert _texts(target_tok, [labels for _, labels in epoch]) == sorted(t for _, t in pairs)
        assert _texts(source_tok, [source for source, _ in epoch]) == sorted(s for s, _ in pairs)
    # Each epoch its own segmentation: the same sentences in other pieces.
    pieces = [
        {tuple(row[row > 0]) for _, labels in epoch for row in labels} for epoch in (first, second)
    ]
    assert pieces[0] != pieces[1]
    # A resumed run's fresh pipeline, told it is at epoch 1, sees epoch 1's batches.
    fresh = EpochShuffle(2)
    again, _ = make_dataset(pairs, *tokenizers, 16, shuffle=fresh, subword_dropout=0.2)
    fresh.on_epoch_begin(1)
    for (source, labels), (source_again, labels_again) in zip(second, _epoch(again), strict=True):
        np.testing.assert_array_equal(source, source_again)
        np.testing.assert_array_equal(labels, labels_again)


def test_subword_samples_cycle_and_limits_hold(tokenizers):
    shuffle = EpochShuffle(0)
    dataset, _ = make_dataset(
        PAIRS[:200], *tokenizers, 16, max_source_length=12, max_target_length=12,
        shuffle=shuffle, subword_dropout=0.5, subword_samples=2,
    )  # fmt: skip
    epochs = [_epoch(dataset) for _ in range(3)]
    rows = [
        sorted(tuple(row[row > 0]) for _, labels in epoch for row in labels) for epoch in epochs
    ]
    assert rows[0] == rows[2] != rows[1]  # epoch 2 (in its own order) reuses sample 0
    for source, labels in epochs[1]:
        assert source.shape[1] <= 12 and labels.shape[1] <= 12  # cut to the limits


@pytest.mark.parametrize(
    "options, message",
    [
        ({"subword_dropout": 1.0}, r"subword_dropout=1\.0"),
        ({"subword_dropout": -0.1}, r"subword_dropout=-0\.1"),
        ({"subword_dropout": "0.1"}, "subword_dropout='0.1'"),
        ({"subword_dropout": 0.1, "subword_samples": 0}, "subword_samples=0"),
        ({"subword_dropout": 0.1, "shuffle": False}, "shuffle=False"),
    ],
)
def test_bad_subword_dropout_arguments_are_named(tokenizers, options, message):
    with pytest.raises(ValueError, match=message):
        make_dataset(PAIRS[:64], *tokenizers, 16, **options)
