import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from keras_seq.layers import CRF
from keras_seq.layers.crf import allowed_transitions
from keras_seq.testing import run_layer_checks

RNG = np.random.default_rng(0)
NUM_TAGS = 3
POTENTIALS = RNG.normal(size=(4, 5, NUM_TAGS)).astype("float32")
LENGTHS = [5, 3, 1, 0]
MASK = np.arange(5)[None] < np.array(LENGTHS)[:, None]
TAGS = RNG.integers(0, NUM_TAGS, size=(4, 5)).astype("int32")


def make_crf(**kwargs):
    crf = CRF(NUM_TAGS, **kwargs)
    crf.build(POTENTIALS.shape)
    crf.transitions.assign(RNG.normal(size=(NUM_TAGS, NUM_TAGS)))
    crf.start_transitions.assign(RNG.normal(size=NUM_TAGS))
    crf.end_transitions.assign(RNG.normal(size=NUM_TAGS))
    return crf


def brute_force(crf, potentials, length):
    """Scores of every tag path of `length` tokens, by enumeration: {path: score}."""
    start, transitions, end = (np.asarray(x.numpy()) for x in crf._scores())
    scores = {}
    for path in itertools.product(range(crf.num_tags), repeat=length):
        score = start[path[0]] + end[path[-1]] + sum(potentials[t, k] for t, k in enumerate(path))
        score += sum(transitions[a, b] for a, b in itertools.pairwise(path))
        scores[path] = score
    return scores


def logsumexp(values):
    values = np.asarray(list(values), dtype="float64")
    return values.max() + np.log(np.exp(values - values.max()).sum())


def test_layer_checks():
    tags = run_layer_checks(
        CRF,
        {"num_tags": NUM_TAGS},
        {"potentials": POTENTIALS, "mask": MASK},
        check_training=False,
    )
    assert tags.dtype == "int32" and tuple(tags.shape) == (4, 5)


@pytest.mark.parametrize("constraints", [None, "iob2"])
def test_likelihood_viterbi_and_marginals_equal_brute_force(constraints):
    kwargs = {"tags": ["O", "B-X", "I-X"], "constraints": "iob2"} if constraints else {}
    crf = make_crf(**kwargs)
    nll = ops.convert_to_numpy(crf.negative_log_likelihood(POTENTIALS, TAGS, MASK))
    log_z = ops.convert_to_numpy(crf.log_partition(POTENTIALS, MASK))
    decoded = ops.convert_to_numpy(crf(POTENTIALS, mask=MASK))
    marginals = ops.convert_to_numpy(crf.marginals(POTENTIALS, MASK))
    for row, length in enumerate(LENGTHS):
        if length == 0:
            assert nll[row] == 0 and log_z[row] == 0
            assert np.all(decoded[row] == 0) and np.all(marginals[row] == 0)
            continue
        scores = brute_force(crf, POTENTIALS[row], length)
        expected_log_z = logsumexp(scores.values())
        np.testing.assert_allclose(log_z[row], expected_log_z, rtol=1e-5)
        gold = tuple(TAGS[row, :length])
        np.testing.assert_allclose(nll[row], expected_log_z - scores[gold], rtol=1e-4, atol=1e-3)
        best = max(scores, key=scores.get)
        assert tuple(decoded[row, :length]) == best
        assert np.all(decoded[row, length:] == 0)
        for t in range(length):
            for k in range(NUM_TAGS):
                mass = logsumexp(s for p, s in scores.items() if p[t] == k)
                np.testing.assert_allclose(
                    marginals[row, t, k], np.exp(mass - expected_log_z), atol=1e-5
                )
        assert np.all(marginals[row, length:] == 0)


def test_padded_rows_give_what_unpadded_rows_give():
    crf = make_crf()
    for row, length in enumerate(LENGTHS[:3]):
        alone = POTENTIALS[row : row + 1, :length]
        padded_mask = MASK[row : row + 1]
        np.testing.assert_allclose(
            crf.negative_log_likelihood(
                POTENTIALS[row : row + 1], TAGS[row : row + 1], padded_mask
            ),
            crf.negative_log_likelihood(alone, TAGS[row : row + 1, :length]),
            rtol=1e-6,
        )
        np.testing.assert_array_equal(
            crf(POTENTIALS[row : row + 1], mask=padded_mask)[:, :length], crf(alone)
        )
        np.testing.assert_allclose(
            crf.marginals(POTENTIALS[row : row + 1], padded_mask)[:, :length],
            crf.marginals(alone),
            atol=1e-6,
        )


def test_the_gradient_of_the_log_partition_is_the_marginals():
    crf = make_crf()
    potentials = tf.constant(POTENTIALS)
    with tf.GradientTape() as tape:
        tape.watch(potentials)
        log_z = ops.sum(crf.log_partition(potentials, MASK))
    gradient = tape.gradient(log_z, potentials)
    np.testing.assert_allclose(gradient, crf.marginals(POTENTIALS, MASK), atol=1e-5)


def test_training_learns_transitions_that_emissions_cannot_show():
    # Emissions say nothing; the tag sequence alternates 0, 1, 0, 1 ... so only the
    # transitions can learn it.
    crf = CRF(2)
    potentials = np.zeros((8, 6, 2), "float32")
    tags = np.tile([[0, 1, 0, 1, 0, 1]], (8, 1)).astype("int32")
    crf.build(potentials.shape)
    optimizer = keras.optimizers.Adam(0.1)
    for _ in range(50):
        with tf.GradientTape() as tape:
            loss = ops.mean(crf.negative_log_likelihood(potentials, tags))
        optimizer.apply(tape.gradient(loss, crf.trainable_weights), crf.trainable_weights)
    assert float(loss) < 0.1
    np.testing.assert_array_equal(crf(potentials), tags)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize(
    "scheme, tags", [("iob2", ["O", "B-X", "I-X"]), ("iobes", ["O", "B-X", "E-X"])]
)
def test_likelihood_is_float32_under_mixed_policies(policy, scheme, tags):
    # The -1e4 penalties of forbidden starts, transitions and (IOBES) ends are added in
    # float32; MASK's last row is fully masked. Nothing overflows to inf, nothing turns NaN.
    crf = CRF(NUM_TAGS, tags=tags, constraints=scheme, dtype=policy)
    half = ops.cast(POTENTIALS, "float16" if policy == "mixed_float16" else "bfloat16")
    nll = crf.negative_log_likelihood(half, TAGS, MASK)
    assert nll.dtype == "float32" and crf.transitions.dtype == "float32"
    assert np.all(np.isfinite(nll)) and nll[-1] == 0
    marginals = crf.marginals(half, MASK)
    assert marginals.dtype == "float32" and np.all(np.isfinite(marginals))
    np.testing.assert_allclose(np.sum(marginals, -1), MASK.astype("float32"), atol=1e-5)
    assert crf(half, mask=MASK).dtype == "int32"


def test_iob2_constraints_forbid_inside_tags_without_their_begin():
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    start, transitions, end = allowed_transitions(tags, "iob2")
    assert start == [True, True, False, True, False] and all(end)
    allowed = {(a, b) for i, a in enumerate(tags) for j, b in enumerate(tags) if transitions[i][j]}
    assert ("B-PER", "I-PER") in allowed and ("I-PER", "I-PER") in allowed
    assert ("O", "I-PER") not in allowed and ("B-LOC", "I-PER") not in allowed
    assert ("I-LOC", "I-PER") not in allowed and ("I-PER", "O") in allowed
    assert ("I-PER", "B-PER") in allowed

    # Emissions that favour I-PER everywhere still decode to a valid IOB2 path.
    crf = CRF(len(tags), tags=tags, constraints="iob2")
    potentials = np.zeros((1, 4, len(tags)), "float32")
    potentials[..., 2] = 5.0
    decoded = [tags[i] for i in ops.convert_to_numpy(crf(potentials))[0]]
    assert decoded[0] != "I-PER"
    for previous, current in itertools.pairwise(decoded):
        assert (previous, current) in allowed, decoded


def test_iobes_constraints_close_every_entity():
    tags = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "E-LOC", "S-LOC"]
    start, transitions, end = allowed_transitions(tags, "iobes")
    assert [t for t, ok in zip(tags, start, strict=True) if ok] == [
        "O",
        "B-PER",
        "S-PER",
        "B-LOC",
        "S-LOC",
    ]
    assert [t for t, ok in zip(tags, end, strict=True) if ok] == [
        "O",
        "E-PER",
        "S-PER",
        "E-LOC",
        "S-LOC",
    ]
    allowed = {(a, b) for i, a in enumerate(tags) for j, b in enumerate(tags) if transitions[i][j]}
    assert {b for a, b in allowed if a == "B-PER"} == {"I-PER", "E-PER"}
    assert {b for a, b in allowed if a == "I-PER"} == {"I-PER", "E-PER"}
    assert {b for a, b in allowed if a == "E-PER"} == {"O", "B-PER", "S-PER", "B-LOC", "S-LOC"}
    assert ("S-LOC", "S-LOC") in allowed and ("O", "E-LOC") not in allowed

    # Emissions that favour B-PER everywhere still decode to a path that closes it.
    crf = CRF(len(tags), tags=tags, constraints="iobes")
    potentials = np.zeros((2, 3, len(tags)), "float32")
    potentials[..., 1] = 5.0
    mask = np.array([[True, True, True], [True, True, False]])
    for row, length in zip(ops.convert_to_numpy(crf(potentials, mask=mask)), (3, 2), strict=True):
        decoded = [tags[i] for i in row[:length]]
        assert start[tags.index(decoded[0])] and end[tags.index(decoded[-1])], decoded
        assert "B-PER" in decoded or "S-PER" in decoded
        for previous, current in itertools.pairwise(decoded):
            assert (previous, current) in allowed, decoded
    # A forbidden ending is as unlikely in training as in decoding.
    open_path = np.array([[0, 0, 1], [0, 1, 2]], "int32")
    nll = ops.convert_to_numpy(crf.negative_log_likelihood(potentials, open_path, mask))
    assert np.all(nll > 1e3)


@pytest.mark.parametrize(
    "tags, scheme, bad",
    [
        (["O", "S-PER"], "iob2", "S-PER"),
        (["O", "PER"], "iobes", "PER"),
        (["O", "X-PER"], "iobes", "X-PER"),
    ],
)
def test_tags_outside_the_scheme_are_named(tags, scheme, bad):
    with pytest.raises(ValueError, match=f"{scheme.upper()} tags are .*tag='{bad}'"):
        CRF(len(tags), tags=tags, constraints=scheme)


def test_viterbi_runs_in_xla():
    crf = make_crf()
    compiled = tf.function(lambda p, m: crf(p, mask=m), jit_compile=True)
    np.testing.assert_array_equal(compiled(POTENTIALS, MASK), crf(POTENTIALS, mask=MASK))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_tags": 0}, "num_tags=0"),
        ({"num_tags": 3, "constraints": "bio"}, "constraints='bio'"),
        ({"num_tags": 3, "constraints": "iob2"}, "needs `tags`"),
        ({"num_tags": 2, "tags": ["O"]}, "each of the 2 tags"),
        ({"num_tags": 2, "tags": ["O", "PER"], "constraints": "iob2"}, "tag='PER'"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CRF(**kwargs)


def test_potentials_of_the_wrong_width_are_refused():
    with pytest.raises(ValueError, match="last axis is 3"):
        CRF(3)(np.zeros((1, 2, 4), "float32"))
