"""Model builders (the backbones of the tasks), their parts, and generation."""

from keras_seq.models.forecaster import (
    WindowScaler,
    build_forecaster,
    calibrate_intervals,
    forecast,
    interval_scales,
)
from keras_seq.models.seq2seq import (
    Seq2SeqParts,
    as_float32,
    attention_of,
    build_seq2seq,
    build_transformer,
    encode,
    generate,
    records_attention,
    seq2seq_parts,
)
from keras_seq.models.tagger import (
    HEADS,
    TaggingModel,
    build_tagger,
    embedding_matrix,
    read_vectors,
)

__all__ = [
    "HEADS",
    "TaggingModel",
    "build_tagger",
    "embedding_matrix",
    "read_vectors",
    "Seq2SeqParts",
    "WindowScaler",
    "as_float32",
    "attention_of",
    "build_forecaster",
    "calibrate_intervals",
    "build_seq2seq",
    "build_transformer",
    "encode",
    "forecast",
    "interval_scales",
    "generate",
    "records_attention",
    "seq2seq_parts",
]
