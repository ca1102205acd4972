"""The corpora the loaders return: parallel text pairs, and tagged sentences.

Apart from the loaders, so that every source (files, TFDS, the generators) imports
them without importing each other.
"""

import dataclasses


@dataclasses.dataclass
class Corpus:
    """Train/valid/test text pairs and what loading skipped.

    Attributes:
        name: the spec it came from.
        train, valid, test: lists of `(source, target)` strings.
        skipped: counts of skipped lines by reason (e.g. `{"no_tab": 2}`).
        source_language, target_language: language codes when known.
    """

    name: str
    train: list
    valid: list
    test: list
    skipped: dict = dataclasses.field(default_factory=dict)
    source_language: str = ""
    target_language: str = ""


@dataclasses.dataclass
class TaggedCorpus:
    """Train/valid/test sentences (`(words, tags)` lists) and where they came from."""

    name: str
    train: list
    valid: list
    test: list
