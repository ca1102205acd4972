"""Data: tokenizers, tf.data pipelines, parallel-text and tagged-text loaders (TensorFlow only)."""

from keras_seq.data import sources
from keras_seq.data.generated import generate_pairs
from keras_seq.data.loaders import (
    SPECS,
    Corpus,
    check_spec,
    load_corpus,
    read_ding,
    read_tsv,
    split_pairs,
)
from keras_seq.data.pipeline import (
    EpochShuffle,
    LengthCurriculum,
    PipelineReport,
    encode_texts,
    make_dataset,
    make_source_batches,
    measure_padding,
)
from keras_seq.data.series import (
    SERIES,
    Series,
    load_series,
    make_windows,
    seasonal_features,
    split_series,
)
from keras_seq.data.tagging import (
    TAG_SCHEMES,
    TAGGING_SPECS,
    TaggedCorpus,
    TagVocabularies,
    load_tagged_corpus,
    make_tagging_dataset,
    read_conll,
)
from keras_seq.data.tokenizer import SubwordTokenizer

__all__ = [
    "SERIES",
    "Series",
    "load_series",
    "make_windows",
    "seasonal_features",
    "split_series",
    "SPECS",
    "TAG_SCHEMES",
    "TAGGING_SPECS",
    "Corpus",
    "EpochShuffle",
    "LengthCurriculum",
    "PipelineReport",
    "SubwordTokenizer",
    "TagVocabularies",
    "TaggedCorpus",
    "check_spec",
    "encode_texts",
    "generate_pairs",
    "load_corpus",
    "load_tagged_corpus",
    "make_dataset",
    "make_source_batches",
    "make_tagging_dataset",
    "measure_padding",
    "read_conll",
    "read_ding",
    "read_tsv",
    "sources",
    "split_pairs",
]
