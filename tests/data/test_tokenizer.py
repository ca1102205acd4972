import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from keras_seq.data import SubwordTokenizer, generate_pairs

TEXTS = [e for e, _ in generate_pairs(1500, seed=0)] + ["Hello, World! (It's 3:45.)"]


@pytest.fixture(scope="module")
def tokenizer():
    return SubwordTokenizer.train(TEXTS, 300)


def test_special_ids(tokenizer):
    assert tokenizer.pieces[:4] == ["<pad>", "<s>", "</s>", "<unk>"]


def test_round_trip(tokenizer):
    texts = ["saturday, september 11, 2077", "$1,234.50", "in 3 days", "Hello, World!"]
    ids = tokenizer.tokenize(texts)
    assert ids.dtype == tf.int32
    decoded = [t.decode("utf-8") for t in tokenizer.detokenize(ids).numpy()]
    assert decoded == texts


def test_detokenize_drops_end_and_padding(tokenizer):
    ids = tokenizer.tokenize(["in 3 days"]).to_list()[0]
    padded = np.array([ids + [2, 0, 0]], np.int32)
    assert tokenizer.detokenize(padded).numpy()[0] == b"in 3 days"


def test_punctuation_and_digits_are_their_own_pieces(tokenizer):
    pieces = tokenizer.id_to_piece(tokenizer.tokenize(["1,234."]).to_list()[0])
    assert [p.lstrip("\u2581") for p in pieces if p != "\u2581"] == ["1", ",", "2", "3", "4", "."]


def test_lowercase_option(tokenizer, tmp_path):
    lower = SubwordTokenizer.train(TEXTS, 300, lowercase=True)
    assert lower.detokenize(lower.tokenize(["Hello World"])).numpy()[0] == b"hello world"
    # It knows it case-folds (its translations are scored case-insensitively), reloaded too.
    lower.save(tmp_path / "lower")
    assert lower.lowercase and SubwordTokenizer.load(tmp_path / "lower").lowercase
    assert not tokenizer.lowercase


def test_unknown_characters_map_to_unk(tokenizer):
    ids = tokenizer.tokenize(["日本"]).to_list()[0]
    assert 3 in ids


def test_saved_and_reloaded_identically(tokenizer, tmp_path):
    tokenizer.save(tmp_path / "source")
    again = SubwordTokenizer.load(tmp_path / "source")
    assert again.model_proto == tokenizer.model_proto
    lines = (tmp_path / "source.vocab").read_text(encoding="utf-8").splitlines()
    assert lines == tokenizer.pieces
    np.testing.assert_array_equal(
        again.tokenize(TEXTS[:50]).to_tensor(), tokenizer.tokenize(TEXTS[:50]).to_tensor()
    )


def test_training_is_deterministic():
    assert (
        SubwordTokenizer.train(TEXTS, 200).model_proto
        == SubwordTokenizer.train(TEXTS, 200).model_proto
    )


def test_runs_inside_tf_function_and_tf_data(tokenizer):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def round_trip(texts):
        return tokenizer.detokenize(tokenizer.tokenize(texts))

    assert round_trip(tf.constant(["in 3 days"])).numpy()[0] == b"in 3 days"
    dataset = tf.data.Dataset.from_tensor_slices(["in 3 days", "3 days ago"]).map(
        tokenizer.tokenize
    )
    assert [len(x) for x in dataset.as_numpy_iterator()] == [
        len(tokenizer.tokenize(["in 3 days"]).to_list()[0]),
        len(tokenizer.tokenize(["3 days ago"]).to_list()[0]),
    ]


def test_bad_input():
    with pytest.raises(ValueError, match="no text"):
        SubwordTokenizer.train(["", "  "], 100)
    with pytest.raises(FileNotFoundError, match="nowhere.model"):
        SubwordTokenizer.load("/nowhere")


def test_load_or_train_learns_once_then_reuses(tmp_path):
    prefix = tmp_path / "vocab" / "source"
    texts = ["in 3 days", "5 minutes ago", "tuesday, may 23, 1978"] * 20
    learned = SubwordTokenizer.load_or_train(prefix, texts, 100)
    assert (tmp_path / "vocab" / "source.model").is_file()
    again = SubwordTokenizer.load_or_train(prefix, ["other text entirely"], 100)
    assert again.model_proto == learned.model_proto  # read back, not learned again


def test_bpe_dropout_samples_are_seeded_and_round_trip(tokenizer):
    texts = ["saturday, september 11, 2077", "in 3 days", "Hello, World!"] * 20
    drawn = tokenizer.sample(texts, 0.3, seed=7)
    assert drawn == tokenizer.sample(texts, 0.3, seed=7)  # the same seed, the same pieces
    assert drawn != tokenizer.sample(texts, 0.3, seed=8)
    usual = tokenizer.tokenize(texts).to_list()
    assert sum(map(len, drawn)) > sum(map(len, usual))  # skipped merges: smaller pieces
    assert len({tuple(ids) for ids in drawn[::3]}) > 1  # one sentence, several splits
    decoded = tokenizer.detokenize(tf.ragged.constant(drawn, dtype=tf.int32)).numpy()
    assert [t.decode() for t in decoded] == texts
    assert tokenizer.sample(texts, 0.0, seed=7) == usual


@pytest.mark.slow
def test_bpe_dropout_samples_are_the_same_in_another_process(tokenizer, tmp_path):
    # A resumed run is a new process: it must draw what the first one drew.
    # (SentencePiece 0.2.1+ salts its seeded generator per process; the pin is 0.2.0.)
    texts = ["saturday, september 11, 2077", "in 3 days", "Hello, World!"] * 20
    tokenizer.save(tmp_path / "vocab")
    script = (
        "import json, sys; from keras_seq.data import SubwordTokenizer; "
        f"t = SubwordTokenizer.load({str(tmp_path / 'vocab')!r}); "
        f"print(json.dumps(t.sample({texts!r}, 0.3, seed=7)))"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout.splitlines()[-1]) == tokenizer.sample(texts, 0.3, seed=7)
