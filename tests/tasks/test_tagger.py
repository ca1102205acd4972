"""The tagging task a user holds: `tag` gives entities; presets; export."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_seq as ks
from keras_seq.evaluation import entity_spans
from keras_seq.models import build_tagger
from keras_seq.tasks import NotARunFolder, Tagger
from tests.export.test_clients import client

# Its module fixtures are built once: the module runs on one test worker.
pytestmark = pytest.mark.xdist_group("test_tasks_tagger")


@pytest.mark.parametrize(
    ("tags", "spans"),
    [
        (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 2), ("LOC", 3, 4)]),
        (["B-PER", "B-PER", "I-LOC"], [("PER", 0, 1), ("PER", 1, 2), ("LOC", 2, 3)]),
        (["I-ORG", "I-ORG", "O"], [("ORG", 0, 2)]),  # conlleval: a stray I- starts one
        (["S-LOC", "B-PER", "E-PER", "O"], [("LOC", 0, 1), ("PER", 1, 3)]),  # IOBES
        (["O", "O"], []),
        ([], []),
    ],
)
def test_entity_spans_of_iob2_and_iobes_tags(tags, spans):
    assert entity_spans(tags) == spans
    # The on-device client reads entities alike, in its own numpy-only copy.
    assert client("litert_tagger").entity_spans(tags) == spans


def numbers_corpus(count=300, seed=0):
    """Sentences of the words a..i; a run of words after e is a NUM entity."""
    rng = np.random.default_rng(seed)
    sentences = []
    for _ in range(count):
        ids = rng.integers(1, 10, rng.integers(3, 9))
        tags = [
            "O" if k <= 5 else "I-NUM" if i and ids[i - 1] > 5 else "B-NUM"
            for i, k in enumerate(ids)
        ]
        sentences.append(([chr(ord("a") + k - 1) for k in ids], tags))
    return sentences


@pytest.fixture(scope="module")
def tagger():
    keras.utils.set_random_seed(0)
    sentences = numbers_corpus(400)
    vocabularies = ks.data.TagVocabularies.build(sentences)
    model = build_tagger(
        len(vocabularies.words),
        len(vocabularies.tags),
        embedding_dim=8,
        units=16,
        tags=vocabularies.tags,
        constraints="iob2",
    )
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    data = ks.data.make_tagging_dataset(sentences, vocabularies, 32, with_chars=False)
    model.fit(data, epochs=6, verbose=0)
    return Tagger(model, vocabularies)


def test_tag_gives_the_entities_of_text(tagger):
    entities = tagger.tag("g h a i")
    assert [(e["type"], e["start"], e["end"], e["text"]) for e in entities] == [
        ("NUM", 0, 2, "g h"),
        ("NUM", 3, 4, "i"),
    ]
    assert all(0.5 < e["score"] <= 1.0 for e in entities)
    batch = tagger.tag(["a b", ["f", "c"], ""])
    assert batch[0] == [] and batch[2] == []
    assert [(e["text"], e["start"]) for e in batch[1]] == [("f", 0)]


def test_score_counts_entities_as_conlleval_does(tagger):
    sentences = numbers_corpus(60, seed=5)
    scores = tagger.score(sentences)
    assert scores["f1"] > 90 and set(scores["per_type"]) == {"NUM"}
    assert type(scores["f1"]) is float and type(scores["per_type"]["NUM"]["f1"]) is float
    # A gold entity the tagger cannot find (a tag it does not know) counts as missed.
    words, tags = sentences[0]
    missed = tagger.score([(words, ["B-EVT"] + ["O"] * (len(words) - 1))])
    assert missed["recall"] == 0 and missed["per_type"]["EVT"]["support"] == 1


def test_tag_refuses_what_is_not_a_sentence_and_a_tagger_without_vocabularies(tagger):
    with pytest.raises(ValueError, match="sentence 1 is 7"):
        tagger.tag(["a", 7])
    with pytest.raises(ValueError, match="a string or a list of sentences.*Received: 42"):
        tagger.tag(42)
    bare = build_tagger(10, 5, embedding_dim=4, units=4)
    with pytest.raises(ValueError, match="must be a ks.data.TagVocabularies.*None"):
        Tagger(bare, None)
    with pytest.raises(ValueError, match="scores 5 tags but the preprocessor has 3"):
        Tagger(bare, tagger.preprocessor)


def test_preset_round_trip_and_export(tagger, tmp_path):
    preset = tmp_path / "preset"
    tagger.max_words = 12
    tagger.save_to_preset(preset)
    assert json.loads((preset / "config.json").read_text()) == {"max_words": 12}
    loaded = Tagger.from_preset(preset)
    assert loaded.max_words == 12 and loaded.preprocessor.tags == tagger.preprocessor.tags
    text = "g h a i b"
    assert loaded.tag(text) == tagger.tag(text)

    written = loaded.export(tmp_path / "deploy", quantizations=["float32"])
    assert sorted(written["tflite"]) == ["tagger.tflite"]
    served = tf.saved_model.load(written["saved_model"]).signatures["serving_default"]
    out = served(text=tf.constant([text]))
    tags = [t.decode() for t in out["tags"][0].numpy()[: int(out["lengths"][0])]]
    spans = [(e["type"], e["start"], e["end"]) for e in loaded.tag(text)]
    assert entity_spans(tags) == spans
    assert os.path.getsize(written["tflite"]["tagger.tflite"]) > 0


def test_from_preset_names_what_is_missing(tmp_path):
    with pytest.raises(NotARunFolder, match="vocab/words.txt, vocab/tags.txt"):
        (tmp_path / "config.json").write_text("{}")
        Tagger.from_preset(tmp_path)


def test_keras_seq_tag_prints_each_sentences_entities(tagger, tmp_path, capsys, monkeypatch):
    import io

    from keras_seq.__main__ import main

    preset = tagger.save_to_preset(tmp_path / "preset")
    texts = ["g h a i", "a b", ""]
    assert main(["tag", preset, *texts[:2]]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = tagger.tag(texts[:2])
    assert lines[0] == "g h a i\t" + "  ".join(
        f"[NUM {e['text']}] {e['score']:.2f}" for e in expected[0]
    )
    assert [e["text"] for e in expected[0]] == ["g h", "i"]
    assert lines[1] == "a b\t"  # no entity
    monkeypatch.setattr("sys.stdin", io.StringIO("g h a i\n\n"))  # one sentence a line
    assert main(["tag", preset]) == 0
    assert capsys.readouterr().out.splitlines() == [lines[0], "\t"]
