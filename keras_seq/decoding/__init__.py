"""In-graph decoding strategies over `step_fn(token_ids, state) -> (logits, state)`.

Strategy objects (`GreedySearch`, `BeamSearch`, `Sampling`, resolved from names
or configs by `get`) are what models and exports take; the free functions
`greedy_search`, `beam_search` and `sample` are their engines.
"""

from keras_seq.decoding.beam import beam_search, tile_state
from keras_seq.decoding.greedy import greedy_search, sample
from keras_seq.decoding.result import DecodeResult, length_penalty_factor
from keras_seq.decoding.shortlist import LexicalShortlist
from keras_seq.decoding.strategies import (
    STRATEGIES,
    BeamSearch,
    DecodingStrategy,
    GreedySearch,
    Sampling,
    get,
    serialize,
)

__all__ = [
    "STRATEGIES",
    "BeamSearch",
    "DecodeResult",
    "DecodingStrategy",
    "GreedySearch",
    "LexicalShortlist",
    "Sampling",
    "beam_search",
    "get",
    "greedy_search",
    "length_penalty_factor",
    "sample",
    "serialize",
    "tile_state",
]
