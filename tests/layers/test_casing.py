import numpy as np
import pytest

from keras_seq.data.tagging import TagVocabularies
from keras_seq.layers import CASINGS, CasingFeatures, character_classes
from keras_seq.testing import run_layer_checks

WORDS = {
    "1987": "numeric",
    "12,5": "mainly_numeric",
    "casa": "lower",
    "l'été": "lower",
    "ONU": "upper",
    "N.Y.": "upper",
    "Madrid": "initial_upper",
    "McDonald": "initial_upper",
    "Ñandú": "initial_upper",
    "iPhone": "other",
    "a4": "lower",  # as Python's str.islower, which ignores what is not a cased letter
    "4-": "contains_digit",
    "--": "other",
}


def casings(words, max_chars=20):
    """What `CasingFeatures` makes of each of `words`, looked up in a vocabulary of them."""
    vocabularies = TagVocabularies.build([(list(words), ["O"] * len(words))], max_chars=max_chars)
    _, chars = vocabularies.encode(list(words))
    layer = CasingFeatures(character_classes(vocabularies.chars))
    one_hot = np.asarray(layer(np.pad(chars, ((0, 1), (0, 0)))[None]))[0]
    assert np.all(one_hot.sum(axis=-1) == 1)
    return [CASINGS[i] for i in one_hot.argmax(axis=-1)]


def test_each_word_gets_its_casing():
    assert casings(WORDS) == [*WORDS.values(), "padding"]


def test_a_character_unseen_in_training_counts_as_other():
    classes = character_classes(["<pad>", "<s>", "</s>", "<unk>", "a"])
    layer = CasingFeatures(classes)
    # "aa", "a" then an unknown character (id 3, neither a letter nor a digit), three
    # unknown characters, a padding word.
    one_hot = np.asarray(layer(np.array([[[4, 4, 0], [4, 3, 0], [3, 3, 3], [0, 0, 0]]])))
    found = [CASINGS[i] for i in one_hot[0].argmax(axis=-1)]
    assert found == ["lower", "lower", "other", "padding"]


def test_the_casing_does_not_depend_on_padding():
    layer = CasingFeatures(character_classes(["<pad>", "<s>", "</s>", "<unk>", "A", "b", "1"]))
    ids = np.array([[[4, 5, 5], [6, 6, 5]]], dtype="int32")
    np.testing.assert_array_equal(layer(ids), layer(np.pad(ids, ((0, 0), (0, 2), (0, 4))))[:, :2])


def test_layer_checks():
    chars = np.array([[[4, 5, 0], [6, 0, 0]], [[5, 5, 5], [0, 0, 0]]], dtype="int32")
    features = run_layer_checks(
        CasingFeatures,
        {"char_classes": character_classes(["<pad>", "<s>", "</s>", "<unk>", "A", "b", "1"])},
        {"char_ids": chars},
        check_training=False,  # no weights
    )
    assert tuple(features.shape) == (2, 2, len(CASINGS))


@pytest.mark.parametrize("classes", [[], [0, 5], [0, -1]])
def test_bad_classes_name_the_value(classes):
    with pytest.raises(ValueError, match="char_classes="):
        CasingFeatures(classes)
