"""A word's casing, read from its character ids (a feature for taggers)."""

import keras
from keras import ops

# A word's casing, as Reimers and Gurevych (2017) define it, in the order they are tested.
CASINGS = (
    "padding",
    "numeric",
    "mainly_numeric",
    "lower",
    "upper",
    "initial_upper",
    "contains_digit",
    "other",
)
# What each character id is, for `CasingFeatures`.
CHARACTER_CLASSES = ("padding", "lower", "upper", "digit", "other")
_PADDING, _LOWER, _UPPER, _DIGIT, _OTHER = range(len(CHARACTER_CLASSES))


def character_classes(chars):
    """The index in `CHARACTER_CLASSES` of each character id.

    Args:
        chars: the character vocabulary, a string per id; id 0 is padding, and an
            entry that is not one character (a special such as `"<unk>"`) is "other".

    Returns:
        A list of ints, one per id.
    """
    classes = []
    for i, char in enumerate(chars):
        if i == 0:
            classes.append(_PADDING)
        elif len(char) != 1:
            classes.append(_OTHER)
        elif char.isdigit():
            classes.append(_DIGIT)
        elif char.isupper():
            classes.append(_UPPER)
        elif char.islower():
            classes.append(_LOWER)
        else:
            classes.append(_OTHER)
    return classes


@keras.saving.register_keras_serializable(package="keras_seq")
class CasingFeatures(keras.layers.Layer):
    """Each word's casing as a one-hot vector over `CASINGS`, from its characters.

    A word is, in this order: `numeric` (digits only), `mainly_numeric` (more than
    half digits), `lower` (cased letters, all lower), `upper` (cased letters, all
    upper), `initial_upper` (first character upper), `contains_digit`, else `other`;
    a word with no characters (padding) is `padding`. This is the casing feature of
    Collobert et al. (2011) as Reimers and Gurevych (2017) define it: it tells a
    tagger whose word vocabulary looks words up lower-cased, or reads an unknown
    word, how the word was written. Only lookups and comparisons: it has no weights
    and exports to builtins-only TFLite.

    Args:
        char_classes: the class (an index in `CHARACTER_CLASSES`) of each character
            id, as `character_classes(chars)` gives it.
        **kwargs: base layer keyword arguments.

    Call arguments:
        char_ids: int tensor `(batch_size, words, chars)`, 0 as padding.

    Returns:
        float tensor `(batch_size, words, len(CASINGS))`.

    Raises:
        ValueError: for an empty `char_classes` or a class out of range.

    Example:
        >>> chars = ["<pad>", "<s>", "</s>", "<unk>", "a", "B", "7"]
        >>> layer = CasingFeatures(character_classes(chars))
        >>> ids = ops.convert_to_tensor([[[5, 4, 4], [6, 6, 0], [0, 0, 0]]])  # "Baa" "77" pad
        >>> [CASINGS[i] for i in ops.argmax(layer(ids), axis=-1)[0]]
        ['initial_upper', 'numeric', 'padding']

    Reference:
        - [Collobert et al., 2011](https://www.jmlr.org/papers/v12/collobert11a.html)
        - [Reimers and Gurevych, 2017](https://arxiv.org/abs/1707.06799)
    """

    def __init__(self, char_classes, **kwargs):
        super().__init__(**kwargs)
        char_classes = [int(c) for c in char_classes]
        if not char_classes or not all(0 <= c < len(CHARACTER_CLASSES) for c in char_classes):
            raise ValueError(
                "`char_classes` must be a non-empty list of indices in "
                f"{CHARACTER_CLASSES}. Received: char_classes={char_classes!r}"
            )
        self.char_classes = char_classes

    def call(self, char_ids):
        table = ops.convert_to_tensor(self.char_classes, dtype="int32")
        classes = ops.take(table, ops.cast(char_ids, "int32"), axis=0)

        def count(kind):
            return ops.sum(ops.cast(ops.equal(classes, kind), "int32"), axis=-1)

        length = ops.sum(ops.cast(ops.not_equal(classes, _PADDING), "int32"), axis=-1)
        lower, upper, digits = count(_LOWER), count(_UPPER), count(_DIGIT)
        tests = (  # (casing, condition), in CASINGS' order of precedence
            (0, ops.equal(length, 0)),
            (1, ops.equal(digits, length)),
            (2, ops.greater(2 * digits, length)),
            (3, ops.logical_and(lower > 0, ops.equal(upper, 0))),
            (4, ops.logical_and(upper > 0, ops.equal(lower, 0))),
            (5, ops.equal(classes[..., 0], _UPPER)),
            (6, digits > 0),
        )
        casing = ops.full_like(length, len(CASINGS) - 1)
        for index, condition in reversed(tests):
            casing = ops.where(condition, index, casing)
        return ops.one_hot(casing, len(CASINGS), dtype=self.compute_dtype)

    def compute_output_shape(self, char_ids_shape):
        return (*char_ids_shape[:2], len(CASINGS))

    def get_config(self):
        return {**super().get_config(), "char_classes": self.char_classes}
