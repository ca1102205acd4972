import numpy as np
import pytest

from keras_seq.layers import CharacterEncoder
from keras_seq.testing import run_layer_checks

CHARS = np.array(
    [[[3, 4, 5, 0], [6, 0, 0, 0], [0, 0, 0, 0]], [[7, 8, 9, 10], [4, 4, 0, 0], [2, 0, 0, 0]]],
    dtype="int32",
)


@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_layer_checks(kind):
    features = run_layer_checks(
        CharacterEncoder, {"vocab_size": 12, "kind": kind, "units": 4}, {"char_ids": CHARS}
    )
    assert tuple(features.shape) == (2, 3, 4 if kind == "cnn" else 8)


@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_a_word_does_not_depend_on_how_far_it_is_padded(kind):
    encoder = CharacterEncoder(12, kind=kind, units=4)
    wide = np.pad(CHARS, ((0, 0), (0, 0), (0, 5)))
    np.testing.assert_allclose(encoder(CHARS), encoder(wide), atol=1e-6)
    # ... nor on the other words of its batch.
    np.testing.assert_allclose(encoder(CHARS[:1, :2, :3]), encoder(CHARS)[:1, :2], atol=1e-6)


@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_a_padding_word_gets_zeros(kind):
    features = np.asarray(CharacterEncoder(12, kind=kind, units=4)(CHARS))
    assert np.all(features[0, 2] == 0) and np.any(features[0, 1] != 0)


def test_unknown_kind_names_the_value():
    with pytest.raises(ValueError, match="kind='rnn'"):
        CharacterEncoder(12, kind="rnn")
