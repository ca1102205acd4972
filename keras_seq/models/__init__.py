"""Model builders, their parts, and generation."""

from keras_seq.models.seq2seq import (
    Seq2SeqParts,
    as_float32,
    attention_of,
    build_seq2seq,
    encode,
    generate,
    seq2seq_parts,
)

__all__ = [
    "Seq2SeqParts",
    "as_float32",
    "attention_of",
    "build_seq2seq",
    "encode",
    "generate",
    "seq2seq_parts",
]
