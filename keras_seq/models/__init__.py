"""Model builders and generation."""

from keras_seq.models.seq2seq import attention_of, build_seq2seq, encode, generate

__all__ = ["attention_of", "build_seq2seq", "encode", "generate"]
