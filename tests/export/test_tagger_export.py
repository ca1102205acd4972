import shutil

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
from keras_seq.models import build_tagger

SENTENCES = [
    "Anna Schmidt joined Müller GmbH in Berlin on Monday .",
    "PARIS said 1987 sales rose 12 percent",
    "x",
    "Zyxwv Qqq visited Ulan Bator and the Côte d'Ivoire twice in 2031 .",
]


@pytest.fixture(scope="module", params=["chars", "words"])
def trained(request):
    corpus = generate_ner_corpus(400, seed=5)
    vocabularies = TagVocabularies.build(corpus.train, lowercase=True, max_chars=8)
    model = build_tagger(
        len(vocabularies.words),
        len(vocabularies.tags),
        embedding_dim=16,
        units=16,
        char_vocab_size=len(vocabularies.chars) if request.param == "chars" else None,
        tags=vocabularies.tags,
        constraints="iob2",
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    data = make_tagging_dataset(corpus.train, vocabularies, 32, with_chars=request.param == "chars")
    model.fit(data, epochs=2, verbose=0)
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
            tags = [vocabularies.tags[k] for k in out["tags"][0, :n]]
            assert np.all(out["tags"][0, n:] == 0)
            if name == "tagger.tflite":
                assert tags == expected_tags[row]
                np.testing.assert_allclose(out["scores"][0, :n], expected_scores[row], atol=1e-5)
            agree += tags == expected_tags[row]
        assert agree >= len(SENTENCES) - 1, name  # int8 weights may flip a close call
