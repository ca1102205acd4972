"""A tiny trained translator, exported once per test session through `python -m export`."""

import json
import os
import runpy
import sys

import keras
import numpy as np
import pytest

import keras_seq as ks
from keras_seq.data import SubwordTokenizer, load_corpus, make_dataset
from keras_seq.training import compile_seq2seq

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAX_SOURCE, MAX_TARGET = 24, 24


@pytest.fixture(scope="session")
def exported_run(tmp_path_factory):
    """`(run_dir, test_pairs)`: a run folder with model, vocab, saved_model/ and tflite/."""
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(0)
    run = tmp_path_factory.mktemp("run")
    corpus = load_corpus("generated", num_pairs=8000, seed=0)
    source = SubwordTokenizer.train([s for s, _ in corpus.train], 300)
    target = SubwordTokenizer.train([t for _, t in corpus.train], 300)
    os.makedirs(run / "vocab")
    source.save(run / "vocab" / "source")
    target.save(run / "vocab" / "target")
    data, _ = make_dataset(corpus.train, source, target, 64, MAX_SOURCE, MAX_TARGET)
    model = ks.models.build_seq2seq(
        source.vocab_size, target.vocab_size, embedding_dim=48, units=64, attention="luong_general"
    )
    compile_seq2seq(model, learning_rate=5e-3)
    model.fit(data, epochs=10, verbose=0)  # about 30 s: a model that translates well
    model.save(run / "model.keras")
    config = {
        "max_source_length": MAX_SOURCE,
        "max_target_length": MAX_TARGET,
        "beam_size": 3,
        "length_penalty": 0.6,
    }
    (run / "config.json").write_text(json.dumps(config))
    argv = sys.argv
    try:
        sys.argv = ["export", str(run)]
        with pytest.raises(SystemExit) as exit_info:
            runpy.run_path(os.path.join(ROOT, "export", "__main__.py"), run_name="__main__")
        assert exit_info.value.code == 0
    finally:
        sys.argv = argv
    return str(run), corpus.test[:40]


def padded_ids(tokenizer, texts, width):
    """Right-padded `(len(texts), width)` int32 source ids."""
    ids = np.zeros((len(texts), width), np.int32)
    for row, tokens in enumerate(tokenizer.tokenize(texts).to_list()):
        tokens = tokens[:width]
        ids[row, : len(tokens)] = tokens
    return ids


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium, for opening a page as a person would.

    Debian's `chromium` driven by Playwright (no browser download); skips, saying
    why, where either is missing (`.ci/run` installs both).
    """
    from export.web_app import CHROMIUM_ARGS, chromium_path

    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed (pip install playwright)"
    )
    if chromium_path() is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path(), args=list(CHROMIUM_ARGS)
        )
        yield chromium
        chromium.close()
