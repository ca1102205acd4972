"""Model builders, their parts, and generation."""

from keras_seq.models.seq2seq import (
    Seq2SeqParts,
    attention_of,
    build_seq2seq,
    encode,
    generate,
    seq2seq_parts,
)

__all__ = ["Seq2SeqParts", "attention_of", "build_seq2seq", "encode", "generate", "seq2seq_parts"]
