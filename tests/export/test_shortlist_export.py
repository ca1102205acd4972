import os
import shutil

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer ops the SavedModel uses)

from export.__main__ import main
from keras_seq.data import load_corpus
from keras_seq.decoding import LexicalShortlist
from keras_seq.evaluation import corpus_scores
from keras_seq.tasks import RunFolder, Translator


def copy_of(run_dir, tmp_path):
    """The trained part of a run (model, vocab, config), without its exports."""
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("saved_model", "tflite"))
    return RunFolder(copy)


def test_export_with_the_shortlist_translates_as_well_as_without(exported_run, tmp_path):
    run_dir, pairs = exported_run
    run = copy_of(run_dir, tmp_path)
    translator = Translator.from_preset(run.path).module()
    train = load_corpus("generated", num_pairs=8000, seed=0).train  # the fixture's pairs
    shortlist = LexicalShortlist.from_text_pairs(
        train,
        translator.source_tokenizer,
        translator.target_tokenizer,
        per_token=20,
        frequent=20,
    )
    shortlist.save(run[RunFolder.SHORTLIST])
    assert main([run.path, "--shortlist", "--no-tflite"]) == 0

    sources, references = [s for s, _ in pairs], [t for _, t in pairs]
    full = tf.saved_model.load(os.path.join(run_dir, "saved_model"))
    listed = tf.saved_model.load(run[RunFolder.SAVED_MODEL])
    hypotheses = {}
    for name, loaded in (("full", full), ("shortlist", listed)):
        out = loaded.signatures["serving_default"](text=tf.constant(sources))
        hypotheses[name] = [t.decode() for t in out["translation"].numpy()]
    bleu = {name: corpus_scores(h, references)["bleu"] for name, h in hypotheses.items()}
    assert bleu["shortlist"] >= bleu["full"] - 1.0, bleu
    # It is restricted: a sentence's candidates are far fewer than the vocabulary.
    ids = np.zeros((1, 24), np.int32)
    encoded = translator.source_tokenizer.tokenize([sources[0]]).to_list()[0]
    ids[0, : len(encoded)] = encoded
    assert len(shortlist.candidates(ids)) < translator.target_tokenizer.vocab_size / 2


def test_export_with_the_shortlist_names_the_missing_file(exported_run, tmp_path, capsys):
    run = copy_of(exported_run[0], tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main([run.path, "--shortlist"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "has no vocab/shortlist.npz" in err and "Traceback" not in err
    assert not os.path.exists(run[RunFolder.SAVED_MODEL])
