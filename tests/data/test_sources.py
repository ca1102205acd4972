"""One registry of dataset sources for both tasks."""

import pytest

from keras_seq.data import SPECS, TAGGING_SPECS, Corpus, load_corpus, sources


def test_each_task_lists_its_own_forms():
    assert SPECS == ("generated", "tsv:PATH", "tfds:NAME", "ding")
    assert TAGGING_SPECS == ("generated", "conll:DIR", "tfds:NAME")


@pytest.mark.parametrize("spec", ["csv:x", "tsv", "ding:extra", "conll:dir", 3])
def test_a_spec_of_no_source_names_what_the_task_accepts(spec):
    with pytest.raises(ValueError, match=r"Unknown dataset spec\. Expected one of .*tsv:PATH"):
        sources.find(spec, "translation")


def test_a_registered_source_is_loaded_by_its_spec():
    def load(argument, spec, seed, **unused):
        pairs = [(f"{argument} {i}", f"{i} {argument}") for i in range(30)]
        return Corpus(spec, pairs[:20], pairs[20:25], pairs[25:])

    sources.register("mine", "translation", "WORD", load)
    try:
        corpus = load_corpus("mine:hello", seed=4)
        assert corpus.name == "mine:hello" and corpus.train[0] == ("hello 0", "0 hello")
        assert "mine:WORD" in sources.forms("translation")
        assert "mine:WORD" not in sources.forms("tagging")
    finally:
        sources._SOURCES.pop(("translation", "mine"))
    with pytest.raises(ValueError, match="`task` must be one of"):
        sources.register("x", "parsing", "", load)
