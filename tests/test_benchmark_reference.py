"""benchmarks/reference.py: the Keras-built-ins model the speed figures are compared with.

A ratio against it only means something if it is a working model of the same
task: it must learn, and padding must not change what it computes.
"""

import numpy as np

from benchmarks.reference import compile_reference, reference_greedy, reference_model
from tests.test_benchmarks import CONFIG as SMALL


def copy_task(rng, rows=32, length=5):
    """Each target token is a function of its source token; sources end in two pads."""
    source = np.zeros((rows, length + 2), "int32")
    source[:, :length] = rng.integers(4, 50, (rows, length))
    tokens = source[:, :length] % 36 + 4
    target = np.concatenate([np.ones((rows, 1), "int32"), tokens], 1)
    labels = np.concatenate([tokens, np.full((rows, 1), 2, "int32")], 1)
    return {"source_ids": source, "target_ids": target}, labels


def test_reference_learns_with_padding_weighted_out():
    import keras

    keras.utils.set_random_seed(0)
    model = compile_reference(reference_model(**SMALL), learning_rate=1e-2)
    inputs, labels = copy_task(np.random.default_rng(0))
    weights = (labels > 0).astype("float32")
    first = model.train_on_batch(inputs, labels, sample_weight=weights)
    for _ in range(40):
        last = model.train_on_batch(inputs, labels, sample_weight=weights)
    assert last < 0.75 * first


def test_reference_ignores_source_padding():
    import keras

    keras.utils.set_random_seed(0)
    model = reference_model(**SMALL)
    inputs, _ = copy_task(np.random.default_rng(1), rows=4)
    trimmed = {**inputs, "source_ids": inputs["source_ids"][:, :-2]}  # without the padding
    np.testing.assert_allclose(
        model.predict(inputs, verbose=0), model.predict(trimmed, verbose=0), atol=1e-6
    )


def test_reference_greedy_loop_matches_the_teacher_forced_model():
    """Fed its own greedy tokens, the trained model predicts the loop's tokens again."""
    import keras

    keras.utils.set_random_seed(0)
    model = compile_reference(reference_model(**SMALL), learning_rate=1e-2)
    inputs, labels = copy_task(np.random.default_rng(0))
    for _ in range(30):
        model.train_on_batch(inputs, labels, sample_weight=(labels > 0).astype("float32"))
    source = inputs["source_ids"][:4]
    ids = reference_greedy(model, 6)(source).numpy()
    assert ids.shape == (4, 6)
    fed = np.concatenate([np.ones((4, 1), "int32"), ids[:, :-1]], 1)
    logits = model.predict({"source_ids": source, "target_ids": fed}, verbose=0)
    np.testing.assert_array_equal(logits.argmax(-1), ids)
