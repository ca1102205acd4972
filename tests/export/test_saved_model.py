import os
import shutil
import subprocess

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer ops the SavedModel uses)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import keras_seq as ks
from keras_seq.data import SubwordTokenizer
from keras_seq.evaluation import corpus_scores
from tests.export.conftest import MAX_SOURCE, MAX_TARGET, padded_ids
from tests.shared import copy_of

# Its module fixtures are built once: the module runs on one test worker.
pytestmark = pytest.mark.xdist_group("test_saved_model")


@pytest.fixture(scope="module")
def moved(exported_run, tmp_path_factory):
    """The SavedModel copied elsewhere and loaded while the run folder it came from is gone.

    A private copy of the shared run (other workers read the shared one) exports its
    SavedModel, then is renamed away for the module, so any path into it that the
    SavedModel kept would fail. Yields `(loaded, run_files, pairs, destination)`,
    `run_files` being where the run folder's files are meanwhile.
    """
    shared, pairs = exported_run
    run = str(copy_of(shared, tmp_path_factory.mktemp("private")))
    destination = tmp_path_factory.mktemp("moved") / "translator"
    shutil.copytree(os.path.join(run, "saved_model"), destination)
    for folder, _, names in os.walk(destination):  # nor a path into the shared run
        for name in names:
            with open(os.path.join(folder, name), "rb") as f:
                assert shared.encode() not in f.read(), name
    away = run + ".away"
    os.rename(run, away)
    assert not os.path.exists(run)
    loaded = tf.saved_model.load(str(destination))  # keep a reference while calling it
    yield loaded, away, pairs, destination


def test_saved_model_cli_lists_the_signatures(moved):
    _, _, _, path = moved
    shown = subprocess.run(
        ["saved_model_cli", "show", "--dir", str(path), "--all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in ("serving_default", "greedy", "beam"):
        assert f"signature_def['{name}']" in shown
    assert "inputs['text'] tensor_info:\n        dtype: DT_STRING" in shown
    assert "outputs['translation'] tensor_info:\n        dtype: DT_STRING" in shown
    assert "inputs['source_ids'] tensor_info:\n        dtype: DT_INT32" in shown


def test_no_python_or_custom_ops_beyond_tensorflow_text(moved):
    _, _, _, path = moved
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((path / "saved_model.pb").read_bytes())
    graph = proto.meta_graphs[0].graph_def
    ops = {n.op for n in graph.node} | {n.op for f in graph.library.function for n in f.node_def}
    assert not ops & {"PyFunc", "EagerPyFunc", "PyFuncStateless"}
    non_core = {op for op in ops if op.startswith("Sentencepiece")}
    assert non_core <= {"SentencepieceOp", "SentencepieceTokenizeOp", "SentencepieceDetokenizeOp"}


def test_assets_are_packaged(moved):
    _, run, _, path = moved
    assert (path / "assets" / "decoding.json").is_file()
    for name in ("source.model", "source.vocab", "target.model", "target.vocab"):
        assert (path / "assets" / name).read_bytes() == open(
            os.path.join(run, "vocab", name), "rb"
        ).read()


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_ids_signatures_equal_keras_generate(moved, method):
    loaded, run, pairs, _ = moved
    import keras

    model = keras.models.load_model(os.path.join(run, "model.keras"))
    source = SubwordTokenizer.load(os.path.join(run, "vocab", "source"))
    ids = padded_ids(source, [s for s, _ in pairs], MAX_SOURCE)
    strategy = {"greedy": ks.decoding.GreedySearch(), "beam": ks.decoding.BeamSearch(3, 0.6)}
    expected = ks.models.generate(
        model, ids, MAX_TARGET, strategy=strategy[method], return_attention=True
    )
    got = loaded.signatures[method](source_ids=tf.constant(ids))
    np.testing.assert_array_equal(got["ids"], expected.ids)
    np.testing.assert_array_equal(got["lengths"], expected.lengths)
    np.testing.assert_allclose(got["scores"], expected.scores, rtol=1e-5, atol=1e-5)
    # The attention weights of each hypothesis' steps, as Keras records them.
    np.testing.assert_allclose(got["attention"], expected.attention, atol=1e-5)


def test_text_signature_translates_like_keras(moved):
    loaded, run, pairs, _ = moved
    import keras

    model = keras.models.load_model(os.path.join(run, "model.keras"))
    target = SubwordTokenizer.load(os.path.join(run, "vocab", "target"))
    source = SubwordTokenizer.load(os.path.join(run, "vocab", "source"))
    texts = [s for s, _ in pairs]
    out = loaded.signatures["serving_default"](text=tf.constant(texts))
    expected = ks.models.generate(
        model,
        padded_ids(source, texts, MAX_SOURCE),
        MAX_TARGET,
        strategy=ks.decoding.BeamSearch(3, length_penalty=0.6),  # the run's config
    )
    translations = target.detokenize(expected.ids[:, 0]).numpy()
    np.testing.assert_array_equal(out["translation"].numpy(), translations)
    np.testing.assert_allclose(out["score"], expected.scores[:, 0], rtol=1e-5)
    hypotheses = [t.decode() for t in translations]
    assert corpus_scores(hypotheses, [t for _, t in pairs])["bleu"] > 20  # it translates


def test_decoding_strategies_are_recorded(moved):
    _, _, _, path = moved
    beam = ks.decoding.BeamSearch(3, length_penalty=0.6)
    assert ks.export.saved_model_strategies(str(path)) == {
        "serving_default": beam,
        "greedy": ks.decoding.GreedySearch(),
        "beam": beam,
    }


def test_bad_input_rows_get_defined_outputs(moved):
    loaded, *_ = moved
    rows = [
        b"in 3 days",
        b"",
        b"   \t ",
        "\u65e5\u672c \u00fc\u00df".encode(),
        b"\xff\xfe\x80 x",
        b"nine " * 100,
        b"zzqx qxzz",
    ]
    out = loaded.signatures["serving_default"](text=tf.constant(rows))
    translation, score, truncated = (out[k].numpy() for k in ("translation", "score", "truncated"))
    assert len(translation) == len(rows) and np.all(np.isfinite(score))
    assert translation[1] == b"" and translation[2] == b"" and score[1] == score[2] == 0.0
    assert truncated.tolist() == [False, False, False, False, False, True, False]
    for t in translation:
        t.decode("utf-8")  # valid UTF-8 out, whatever came in
    # The same rows alone give the same outputs as in the mixed batch.
    for i, row in enumerate(rows):
        alone = loaded.signatures["serving_default"](text=tf.constant([row]))
        assert alone["translation"].numpy()[0] == translation[i]


def test_empty_batch(moved):
    loaded, *_ = moved
    out = loaded.signatures["serving_default"](text=tf.constant([], tf.string))
    assert out["translation"].shape == (0,)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.binary(max_size=60) | st.text(max_size=60).map(str.encode), min_size=1, max_size=4)
)
def test_fuzzed_text_never_crashes_or_gives_nan(moved, rows):
    loaded, *_ = moved
    out = loaded.signatures["serving_default"](text=tf.constant(rows))
    assert out["translation"].shape == (len(rows),)
    assert np.all(np.isfinite(out["score"].numpy()))
