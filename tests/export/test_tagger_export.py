import json
import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq.data.generated_ner import generate_ner_corpus
from keras_seq.data.tagging import TagVocabularies, make_tagging_dataset
from keras_seq.evaluation import SentenceTagger
from keras_seq.export import (
    TaggerModule,
    check_builtins_only,
    export_tagger_saved_model,
    export_tagger_tflite,
)
from keras_seq.layers import character_classes
from keras_seq.models import build_tagger
from tests.export.conftest import ROOT
from tests.export.test_clients import client

# Its module fixtures are built once: the module runs on one test worker.
pytestmark = pytest.mark.xdist_group("test_tagger_export")

SENTENCES = [
    "Anna Schmidt joined Müller GmbH in Berlin on Monday .",
    "PARIS said 1987 sales rose 12 percent",
    "x",
    "Zyxwv Qqq visited Ulan Bator and the Côte d'Ivoire twice in 2031 .",
]


# A model with character and casing features learning IOBES tags, one without either
# learning IOB2 tags.
@pytest.fixture(scope="module", params=["chars", "words"])
def trained(request):
    keras.utils.set_random_seed(5)
    corpus = generate_ner_corpus(400, seed=5)
    scheme = "iobes" if request.param == "chars" else "iob2"
    vocabularies = TagVocabularies.build(corpus.train, lowercase=True, max_chars=8, scheme=scheme)
    model = build_tagger(
        len(vocabularies.words),
        len(vocabularies.tags),
        embedding_dim=16,
        units=16,
        num_layers=1 if request.param == "chars" else 2,
        char_vocab_size=len(vocabularies.chars) if request.param == "chars" else None,
        char_classes=character_classes(vocabularies.chars) if request.param == "chars" else None,
        tags=vocabularies.tags,
        constraints=scheme,
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    data = make_tagging_dataset(corpus.train, vocabularies, 32, with_chars=request.param == "chars")
    model.fit(data, epochs=4, verbose=0)
    return model, vocabularies


def python_tags(model, vocabularies, texts):
    return SentenceTagger(model, [t.split() for t in texts], vocabularies)()


def test_saved_model_tags_text_as_the_python_pipeline_does(trained, tmp_path):
    model, vocabularies = trained
    path = export_tagger_saved_model(TaggerModule(model, vocabularies), tmp_path / "sm")
    moved = tmp_path / "moved"
    shutil.move(path, moved)
    assert sorted(p.name for p in (moved / "assets").iterdir()) == [
        "chars.txt",
        "settings.txt",
        "tags.txt",
        "words.txt",
    ]
    loaded = tf.saved_model.load(str(moved))
    serve = loaded.signatures["serving_default"]
    out = serve(text=tf.constant(SENTENCES))
    expected_tags, expected_scores = python_tags(model, vocabularies, SENTENCES)
    if vocabularies.scheme == "iobes":  # entities found, and returned in IOB2
        assert {t[:2] for tags in expected_tags for t in tags} == {"O", "B-", "I-"}
    for row, text in enumerate(SENTENCES):
        n = int(out["lengths"][row])
        assert n == len(text.split())
        assert [w.decode() for w in out["words"][row, :n].numpy()] == text.split()
        assert [t.decode() for t in out["tags"][row, :n].numpy()] == expected_tags[row]
        assert all(t == b"" for t in out["tags"][row, n:].numpy())
        np.testing.assert_allclose(out["scores"][row, :n], expected_scores[row], atol=1e-5)
    # Empty sentences, alone or beside others, tag as nothing.
    for texts in ([""], ["", "  "], ["", SENTENCES[0]]):
        out = serve(text=tf.constant(texts))
        assert out["lengths"].numpy().tolist() == [len(t.split()) for t in texts]
        assert all(t == b"" for t in out["tags"][0].numpy())


def test_tflite_is_builtins_only_and_equals_the_saved_model(trained, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    model, vocabularies = trained
    module = TaggerModule(model, vocabularies, max_words=16)
    written = export_tagger_tflite(module, tmp_path, quantizations=("float32", "int8"))
    assert sorted(written) == ["tagger.tflite", "tagger_int8.tflite"]
    expected_tags, expected_scores = python_tags(model, vocabularies, SENTENCES)
    for name, path in written.items():
        content = open(path, "rb").read()
        assert "WHILE" in check_builtins_only(content)  # the Viterbi loop, as a builtin
        runner = Interpreter(model_content=content).get_signature_runner()
        agree = 0
        for row, text in enumerate(SENTENCES):
            words, chars = vocabularies.encode(text.split())
            n = len(words)
            feed = {"words": np.pad(words, (0, 16 - n))[None]}
            if "chars" in model.input:
                feed["chars"] = np.pad(chars, ((0, 16 - n), (0, 0)))[None]
            out = runner(**feed)
            tags = [vocabularies.output_tags[k] for k in out["tags"][0, :n]]
            assert np.all(out["tags"][0, n:] == 0)
            if name == "tagger.tflite":
                assert tags == expected_tags[row]
                np.testing.assert_allclose(out["scores"][0, :n], expected_scores[row], atol=1e-5)
            agree += tags == expected_tags[row]
        assert agree >= len(SENTENCES) - 1, name  # int8 weights may flip a close call


def test_export_command_and_litert_client_on_a_tag_run(trained, tmp_path):
    from export.__main__ import main

    model, vocabularies = trained
    run = tmp_path / "run"
    run.mkdir()
    model.save(run / "model.keras")
    vocabularies.save(run / "vocab")
    (run / "config.json").write_text(json.dumps({"max_words": 16}))
    assert main([str(run), "--quantizations", "float32"]) == 0
    assert (run / "saved_model" / "saved_model.pb").is_file()
    assert sorted(p.name for p in (run / "tflite").iterdir()) == ["tagger.tflite"]

    tagger = client("litert_tagger").LiteRTTagger(
        str(run / "tflite" / "tagger.tflite"), run / "vocab"
    )
    assert tagger.max_words == 16 and tagger.context == 2
    for length in range(60):  # windows cover every word once, within the model's input
        spans = tagger.windows(length)
        assert [i for _, a, b in spans for i in range(a, b)] == list(range(length))
        assert all(s <= a and b <= s + 16 for s, a, b in spans)
        assert all(a - s >= 2 for s, a, _ in spans if s > 0)  # context before the kept words

    # Sentences that fit the input tag exactly as the model does.
    expected, _ = python_tags(model, vocabularies, SENTENCES)
    assert [tagger.tag(text.split())[0] for text in SENTENCES] == expected
    # A 62-word sentence, four windows: context-limited tags still mostly agree.
    long_text = " ".join(SENTENCES * 2)
    (full,), _ = python_tags(model, vocabularies, [long_text])
    tags, scores = tagger.tag(long_text.split())
    assert len(tags) == len(scores) == 62
    assert np.mean([a == b for a, b in zip(tags, full, strict=True)]) >= 0.9

    entities = tagger.entities(SENTENCES[0])
    words = SENTENCES[0].split()
    for entity in entities:
        assert entity.text == " ".join(words[entity.start : entity.end])
        assert expected[0][entity.start] in (f"B-{entity.type}", f"I-{entity.type}")
        assert 0 < entity.score <= 1
    assert tagger.entities("") == [] and tagger.entities("   ") == []

    # The client's own (numpy) lookup is the training lookup.
    for text in SENTENCES:
        ours, theirs = tagger.vocabularies.encode(text.split()), vocabularies.encode(text.split())
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(a, b)


BLOCK_TENSORFLOW = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "keras_seq", "seqeval", "sklearn"):
            raise ImportError(f"{name} is blocked: an on-device client runs without it")
sys.meta_path.insert(0, Block())
sys.argv = sys.argv[1:]
import runpy
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_the_litert_tagger_client_runs_without_tensorflow(trained, tmp_path):
    model, vocabularies = trained
    module = TaggerModule(model, vocabularies, max_words=16)
    written = export_tagger_tflite(module, tmp_path / "tflite", ["float32"])
    vocabularies.save(tmp_path / "vocab")
    script = os.path.join(ROOT, "export", "clients", "litert_tagger.py")
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            BLOCK_TENSORFLOW,
            script,
            written["tagger.tflite"],
            "--vocab",
            str(tmp_path / "vocab"),
            SENTENCES[0],
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    tagger = client("litert_tagger").LiteRTTagger(written["tagger.tflite"], tmp_path / "vocab")
    expected = [f"  {e.type}\t{e.text}\t{e.score:.3f}" for e in tagger.entities(SENTENCES[0])]
    assert completed.stdout.splitlines() == [SENTENCES[0], *expected]
