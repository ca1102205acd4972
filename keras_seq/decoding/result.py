"""The result of every decoding strategy, and the argument checks they share."""

from typing import NamedTuple

from keras import ops


class DecodeResult(NamedTuple):
    """Decoded hypotheses, best first.

    Attributes:
        ids: int32 `(batch_size, num_hypotheses, max_length)`; a hypothesis ends
            with `end_id` when it completed by emitting it, and ids past its length
            are `pad_id`.
        lengths: int32 `(batch_size, num_hypotheses)`, tokens in each hypothesis,
            `end_id` included.
        scores: float32 `(batch_size, num_hypotheses)`: sum of token log-probs
            divided by the GNMT length penalty `((5 + length) / 6) ** alpha`.
        attention: None, or (when the caller asked for it, e.g.
            `ks.models.generate(..., return_attention=True)`) float32
            `(batch_size, num_hypotheses, max_length, source_length)`: the
            attention weights each emitted token was produced with, 0 past the
            hypothesis' length.
    """

    ids: object
    lengths: object
    scores: object
    attention: object = None


def length_penalty_factor(lengths, alpha):
    """The GNMT length penalty `((5 + length) / 6) ** alpha` (Wu et al., 2016), float32."""
    lengths = ops.cast(lengths, "float32")
    if not alpha:
        return ops.ones_like(lengths)
    return ops.power((5.0 + lengths) / 6.0, alpha)


def check_vocabulary(vocabulary):
    """`vocabulary` as an int32 tensor `(V,)`, or None; a ValueError for another rank."""
    if vocabulary is None:
        return None
    vocabulary = ops.cast(vocabulary, "int32")
    if len(vocabulary.shape) != 1:
        raise ValueError(
            "`vocabulary` must be a 1-D tensor of token ids, one per column of the logits. "
            f"Received shape {tuple(vocabulary.shape)}"
        )
    return vocabulary


def check_int(name, value, low):
    """Raises a ValueError naming `name` unless `value` is an int `>= low`."""
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"`{name}` must be an integer >= {low}. Received: {name}={value!r}")


def check_float(name, value, low=None, strict=False):
    """Raises a ValueError naming `name` unless `value` is a real number above `low`."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or (low is not None and (value <= low if strict else value < low)):
        bound = "" if low is None else f" {'>' if strict else '>='} {low}"
        raise ValueError(f"`{name}` must be a number{bound}. Received: {name}={value!r}")


def check_decode_args(max_length, end_id, pad_id, beam_size=1):
    for name, value, low in (
        ("max_length", max_length, 1),
        ("beam_size", beam_size, 1),
        ("end_id", end_id, 0),
        ("pad_id", pad_id, 0),
    ):
        check_int(name, value, low)
