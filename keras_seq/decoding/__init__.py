"""In-graph decoding strategies over `step_fn(token_ids, state) -> (logits, state)`."""

from keras_seq.decoding.beam import beam_search
from keras_seq.decoding.greedy import greedy_search, sample
from keras_seq.decoding.result import DecodeResult, length_penalty_factor

__all__ = ["DecodeResult", "beam_search", "greedy_search", "length_penalty_factor", "sample"]
