"""Decoding strategies as small serializable objects, resolved by `get(identifier)`.

A strategy owns the decoding loop and asks the model for one thing, a
`step_fn(token_ids, state) -> (logits, state)`. It holds only its own settings
(beam size, length penalty, temperature, ...), so it can be passed to
`ks.models.generate`, kept by an exported `Translator`, and written to a config
and read back, as Keras does with optimizers.
"""

import keras

from keras_seq._config import ConfigObject, resolve
from keras_seq.decoding.beam import beam_search
from keras_seq.decoding.greedy import greedy_search, sample
from keras_seq.decoding.result import check_float, check_int


class DecodingStrategy(ConfigObject):
    """Base of the decoding strategies.

    Subclasses set `name` (the string `get` resolves) and `engine` (the free
    function that runs the loop); `get_config` gives the engine's settings.

    Call arguments:
        step_fn: `step_fn(token_ids (N,), state) -> (logits (N, V), state)`.
        start_ids: int `(batch_size,)`, the first input tokens.
        state: any nest of batch-major tensors (encoder memory included).
        max_length: int, the most tokens in a hypothesis.
        end_id: int; a hypothesis is complete once it emits it.
        pad_id: int written after a hypothesis' end. Defaults to 0.
        vocabulary: optional int `(V,)`, sorted: the token id of each column of the
            logits, for a step restricted to some ids (`LexicalShortlist.candidate_step`).

    Returns:
        A `DecodeResult` with `num_hypotheses` hypotheses per row, best first.
    """

    name = None
    engine = None

    @property
    def num_hypotheses(self):
        """Hypotheses returned per row (`K` of the `DecodeResult`)."""
        return 1

    def __call__(self, step_fn, start_ids, state, max_length, end_id, pad_id=0, vocabulary=None):
        return type(self).engine(
            step_fn, start_ids, state, max_length, end_id, pad_id=pad_id,
            vocabulary=vocabulary, **self.get_config(),
        )  # fmt: skip


@keras.saving.register_keras_serializable(package="keras_seq")
class GreedySearch(DecodingStrategy):
    """Takes the most probable token at every step (ties go to the lowest id).

    Example:
    >>> result = GreedySearch()(step_fn, start_ids, state, max_length=20, end_id=2)
    """

    name = "greedy"
    engine = staticmethod(greedy_search)


@keras.saving.register_keras_serializable(package="keras_seq")
class BeamSearch(DecodingStrategy):
    """Keeps the `beam_size` best hypotheses per row, with the GNMT length penalty.

    Finished hypotheses are frozen; hypotheses are ranked by
    `sum of log-probs / ((5 + length) / 6) ** length_penalty` on their own length.
    `BeamSearch(1)` gives exactly what `GreedySearch()` gives.

    Args:
        beam_size: positive int, hypotheses kept and returned per row. Defaults to 4.
        length_penalty: float `alpha >= 0`; 0 (the default) ranks by the plain sum of
            log-probs, larger values favour longer hypotheses.

    Raises:
        ValueError: for a non-positive `beam_size` or a negative `length_penalty`.

    Reference:
        - [Wu et al., 2016](https://arxiv.org/abs/1609.08144) (length penalty)
    """

    name = "beam"
    engine = staticmethod(beam_search)

    def __init__(self, beam_size=4, length_penalty=0.0):
        check_int("beam_size", beam_size, 1)
        check_float("length_penalty", length_penalty, 0)
        self.beam_size = beam_size
        self.length_penalty = float(length_penalty)

    @property
    def num_hypotheses(self):
        return self.beam_size

    def get_config(self):
        return {"beam_size": self.beam_size, "length_penalty": self.length_penalty}


@keras.saving.register_keras_serializable(package="keras_seq")
class Sampling(DecodingStrategy):
    """Draws each token from the model's distribution, tempered and cut to the top k.

    Args:
        temperature: positive float; below 1 sharpens, above 1 flattens. Defaults to 1.
        top_k: int >= 0; if positive, draw only among the `top_k` most probable
            tokens. Defaults to 0 (all tokens).
        seed: optional int, for reproducible draws.

    Raises:
        ValueError: for a non-positive `temperature` or a negative `top_k`.
    """

    name = "sample"
    engine = staticmethod(sample)

    def __init__(self, temperature=1.0, top_k=0, seed=None):
        check_float("temperature", temperature, 0, strict=True)
        check_int("top_k", top_k, 0)
        if seed is not None:
            check_int("seed", seed, 0)
        self.temperature = float(temperature)
        self.top_k = top_k
        self.seed = seed

    def get_config(self):
        return {"temperature": self.temperature, "top_k": self.top_k, "seed": self.seed}


STRATEGIES = {cls.name: cls for cls in (GreedySearch, BeamSearch, Sampling)}


def serialize(strategy):
    """The Keras serialization dict of a strategy (JSON-ready); `get` reads it back."""
    return keras.saving.serialize_keras_object(get(strategy))


def get(identifier):
    """Resolves a decoding strategy, as `keras.optimizers.get` resolves optimizers.

    Args:
        identifier: a strategy object (returned as is); a name, `"greedy"`,
            `"beam"` or `"sample"` (default settings); or a config dict,
            `{"class_name": "BeamSearch", "config": {"beam_size": 5}}` as written
            by `serialize` (the class name or the strategy name).

    Returns:
        A `DecodingStrategy`.

    Raises:
        ValueError: for anything else, naming it and what is accepted.
    """
    if isinstance(identifier, str) and identifier in STRATEGIES:
        return STRATEGIES[identifier]()
    return resolve(
        identifier,
        DecodingStrategy,
        STRATEGIES,
        "decoding strategy",
        f"one of the names {tuple(STRATEGIES)}, a config dict such as {{'class_name': "
        "'BeamSearch', 'config': {'beam_size': 5}}, or a GreedySearch / BeamSearch / Sampling "
        "object",
    )
