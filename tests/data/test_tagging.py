import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

from keras_seq.data.generated_ner import generate_ner_corpus, tokenize
from keras_seq.data.pipeline import EpochShuffle
from keras_seq.data.tagging import (
    TagVocabularies,
    find_conll_files,
    iob2_name,
    load_tagged_corpus,
    make_tagging_dataset,
    read_conll,
    to_iob2,
    to_iobes,
)
from keras_seq.special_ids import PAD_ID, UNK_ID

CONLL_IOB1 = """-DOCSTART- -X- -X- O

EU NNP B-NP I-ORG
rejects VBZ B-VP O
German JJ B-NP I-MISC
call NN I-NP O
. . O O

Peter NNP B-NP I-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

Hapoel NNP I-NP I-ORG
Haifa NNP I-NP I-ORG
Hapoel NNP I-NP B-ORG
"""


def test_read_conll_splits_sentences_skips_docstart_and_converts_iob1(tmp_path):
    path = tmp_path / "eng.train"
    path.write_text(CONLL_IOB1, encoding="utf-8")
    sentences = read_conll(path)
    assert sentences == [
        (["EU", "rejects", "German", "call", "."], ["B-ORG", "O", "B-MISC", "O", "O"]),
        (["Peter", "Blackburn"], ["B-PER", "I-PER"]),
        (["Hapoel", "Haifa", "Hapoel"], ["B-ORG", "I-ORG", "B-ORG"]),
    ]


def test_two_column_files_read_the_same(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text("Peter B-PER\nBlackburn I-PER\nsaid O\n\n", encoding="utf-8")
    assert read_conll(path) == [(["Peter", "Blackburn", "said"], ["B-PER", "I-PER", "O"])]


def test_a_line_with_one_column_is_named(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text("Peter B-PER\nBlackburn\n", encoding="utf-8")
    with pytest.raises(ValueError, match="train.txt:2: one column"):
        read_conll(path)


def test_a_line_with_other_columns_than_the_first_is_named(tmp_path):
    path = tmp_path / "eng.testa"
    path.write_text("EU NNP I-NP I-ORG\n\nNew York I-LOC\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"eng.testa:3: 3 columns .* line 1 has 4"):
        read_conll(path)


def test_to_iob2_leaves_iob2_alone():
    tags = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC"]
    assert to_iob2(tags) == tags
    assert to_iob2(["I-LOC", "I-PER", "O", "I-PER"]) == ["B-LOC", "B-PER", "O", "B-PER"]


@pytest.mark.parametrize(
    "names", [("train.txt", "valid.txt", "test.txt"), ("eng.train", "eng.testa", "eng.testb")]
)
def test_conll_directories_under_either_naming(tmp_path, names):
    for name in names:
        (tmp_path / name).write_text("Paris B-LOC\n\n", encoding="utf-8")
    corpus = load_tagged_corpus(f"conll:{tmp_path}")
    assert corpus.train == corpus.valid == corpus.test == [(["Paris"], ["B-LOC"])]


def test_a_missing_split_file_is_named(tmp_path):
    (tmp_path / "train.txt").write_text("Paris B-LOC\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no valid file: expected one of"):
        find_conll_files(tmp_path)
    with pytest.raises(ValueError, match="Unknown tagging dataset"):
        load_tagged_corpus("conll2003")


def test_tfds_conll2003_loads_offline_through_the_real_loader():
    examples = [
        {
            "tokens": [b"EU", b"rejects", b"German"],
            "ner": [3, 0, 7],
            "pos": [0] * 3,
            "chunks": [0] * 3,
        }
    ]
    with tfds.testing.mock_data(as_dataset_fn=lambda *_, **__: _as_dataset(examples)):
        corpus = load_tagged_corpus("tfds:conll2003")
    names = tfds.builder("conll2003").info.features["ner"].feature.names
    expected = to_iob2([names[i] for i in (3, 0, 7)])
    assert corpus.train == [(["EU", "rejects", "German"], expected)]
    assert corpus.test == corpus.train


def _as_dataset(examples):
    import tensorflow as tf

    return tf.data.Dataset.from_generator(
        lambda: iter(examples),
        output_signature={
            "tokens": tf.TensorSpec([None], tf.string),
            "ner": tf.TensorSpec([None], tf.int64),
            "pos": tf.TensorSpec([None], tf.int64),
            "chunks": tf.TensorSpec([None], tf.int64),
        },
    )


def test_vocabularies_encode_with_the_stated_unknown_word_policy(tmp_path):
    sentences = [(["Paris", "is", "big", "in", "2024"], ["B-LOC", "O", "O", "O", "O"])]
    vocabularies = TagVocabularies.build(sentences, lowercase=True, max_chars=4)
    words, chars, tags = vocabularies.encode(["PARIS", "Rome", "1999"], ["B-LOC", "B-LOC", "O"])
    # Lower-cased lookup; unseen words are unknown; digits map to 0, so unseen years are known.
    assert words[0] == vocabularies.words.index("paris") and words[1] == UNK_ID
    assert words[2] == vocabularies.words.index("0000")
    assert chars.shape == (3, 4) and chars[1, 0] == UNK_ID  # 'R' never seen as written
    assert vocabularies.tags[0] == "O" and list(tags) == [1, 1, 0]
    with pytest.raises(ValueError, match=r"Tags \['B-PER'\] are not in the training tags"):
        vocabularies.encode(["Ann"], ["B-PER"])

    vocabularies.save(tmp_path)
    loaded = TagVocabularies.load(tmp_path)
    assert loaded == vocabularies
    for a, b in zip(
        loaded.encode(["PARIS", "x"]), vocabularies.encode(["PARIS", "x"]), strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_iobes_marks_single_and_last_words_and_reads_back_as_iob2():
    iob2 = ["B-PER", "I-PER", "I-PER", "B-PER", "O", "B-LOC", "B-LOC", "I-LOC", "B-ORG"]
    iobes = to_iobes(iob2)
    assert iobes == ["B-PER", "I-PER", "E-PER", "S-PER", "O", "S-LOC", "B-LOC", "E-LOC", "S-ORG"]
    assert [iob2_name(t) for t in iobes] == iob2
    assert to_iobes([]) == [] and iob2_name("O") == "O"


def test_an_iobes_vocabulary_learns_iobes_and_names_its_tags_in_iob2(tmp_path):
    sentences = [
        (["Ann", "Lee", "met", "Bo"], ["B-PER", "I-PER", "O", "B-PER"]),
        (["in", "New", "York"], ["O", "B-LOC", "I-LOC"]),
    ]
    vocabularies = TagVocabularies.build(sentences, scheme="iobes")
    assert vocabularies.tags == ["O", "B-LOC", "E-LOC", "B-PER", "E-PER", "S-PER"]
    assert vocabularies.output_tags == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER", "B-PER"]
    *_, tags = vocabularies.encode(["Bo", "Lee"], ["B-PER", "B-PER"])
    assert [vocabularies.tags[i] for i in tags] == ["S-PER", "S-PER"]
    # Training never saw a one-word LOC (S-LOC): such a sentence is not one it knows.
    assert vocabularies.knows(["B-PER", "I-PER", "O"]) and not vocabularies.knows(["B-LOC"])
    with pytest.raises(ValueError, match=r"Tags \['S-LOC'\] are not in the training tags"):
        vocabularies.encode(["Rome"], ["B-LOC"])
    with pytest.raises(ValueError, match="`scheme` must be one of .*'bilou'"):
        TagVocabularies.build(sentences, scheme="bilou")

    vocabularies.save(tmp_path)
    assert TagVocabularies.load(tmp_path) == vocabularies
    # Vocabularies saved before the scheme existed were IOB2.
    settings = tmp_path / "settings.txt"
    settings.write_text(settings.read_text().replace("scheme=iobes\n", ""))
    assert TagVocabularies.load(tmp_path).scheme == "iob2"


def test_dataset_batches_are_right_padded_and_bucketed():
    corpus = generate_ner_corpus(300, seed=1)
    vocabularies = TagVocabularies.build(corpus.train)
    dataset = make_tagging_dataset(corpus.train, vocabularies, batch_size=16, shuffle=True)
    count = 0
    for inputs, tags in dataset:
        words = inputs["words"].numpy()
        real = words != PAD_ID
        lengths = real.sum(1)
        assert np.all(real == (np.arange(words.shape[1]) < lengths[:, None]))  # right-padded
        assert lengths.max() - lengths.min() < 4  # one bucket
        assert inputs["chars"].shape[:2] == words.shape and tags.shape == words.shape
        count += len(words)
    assert count == len(corpus.train)


def test_singletons_read_as_unknown_at_the_given_rate_drawn_again_each_epoch():
    once = [f"{x}{y}" for x in "abcdefghijklmnopqrst" for y in "abcdefghijklmnopqrst"]
    sentences = [(["a", "b", word], ["O", "O", "O"]) for word in once]  # 400 singletons
    vocabularies = TagVocabularies.build(sentences)
    repeated = {vocabularies.word_id("a"), vocabularies.word_id("b")}

    def epoch(shuffle):
        rows = {}
        for inputs, _ in make_tagging_dataset(
            sentences, vocabularies, 50, shuffle=shuffle, singleton_unk=0.5
        ):
            for words, chars in zip(inputs["words"].numpy(), inputs["chars"].numpy(), strict=True):
                rows[tuple(chars[2])] = words
        return rows

    shuffle = EpochShuffle(7)
    first, second = epoch(shuffle), epoch(shuffle)
    words = np.array([first[k] for k in sorted(first)])
    assert set(words[:, :2].ravel()) == repeated  # words seen twice or more never change
    unknown = words[:, 2] == UNK_ID
    assert 0.4 < unknown.mean() < 0.6  # the singletons: about half unknown
    again = np.array([second[k] for k in sorted(first)])[:, 2] == UNK_ID
    assert 0.1 < np.mean(unknown != again) < 0.9  # drawn afresh for the next epoch
    resumed = EpochShuffle(7)
    resumed.on_epoch_begin(1)  # a run resumed at the second epoch draws the same
    replay = epoch(resumed)
    assert all(np.array_equal(replay[k], second[k]) for k in first)
    with pytest.raises(ValueError, match="singleton_unk.*probability.*1.5"):
        make_tagging_dataset(sentences, vocabularies, 50, shuffle=True, singleton_unk=1.5)
    with pytest.raises(ValueError, match="needs a `shuffle`"):
        make_tagging_dataset(sentences, vocabularies, 50, singleton_unk=0.5)


def test_words_seen_up_to_unk_max_count_times_read_as_unknown():
    twice = [f"{x}{y}" for x in "abcdefghij" for y in "abcdefghij"]
    sentences = [(["a", "b", word], ["O", "O", "O"]) for word in twice * 2]  # each word twice
    vocabularies = TagVocabularies.build(sentences)

    def unknown_share(**options):
        batches = make_tagging_dataset(
            sentences, vocabularies, 50, shuffle=EpochShuffle(3), singleton_unk=0.5, **options
        )
        words = np.concatenate([inputs["words"].numpy() for inputs, _ in batches])
        assert UNK_ID not in words[:, :2]  # "a" and "b", seen 200 times, never change
        return np.mean(words[:, 2] == UNK_ID)

    assert unknown_share() == 0  # singletons only: none here
    assert 0.4 < unknown_share(unk_max_count=2) < 0.6
    assert 0.4 < unknown_share(unk_max_count=5) < 0.6
    with pytest.raises(ValueError, match="unk_max_count.*positive integer.*0"):
        make_tagging_dataset(sentences, vocabularies, 50, shuffle=True, unk_max_count=0)


def test_generated_corpus_is_deterministic_and_its_splits_share_no_entity():
    corpus = generate_ner_corpus(2000, seed=3)
    assert generate_ner_corpus(2000, seed=3) == corpus
    # The same in every process (a resumed run regenerates it): string hashing differs
    # between this process (randomised) and one started with PYTHONHASHSEED=0.
    from keras_seq.data import generated_ner

    # The generator is pure Python: the child imports it without the packages' __init__
    # files (which start TensorFlow, most of the test's time).
    package = os.path.dirname(os.path.dirname(os.path.abspath(generated_ner.__file__)))
    digest = "import hashlib, json, sys, types\n"
    for name, path in (("keras_seq", package), ("keras_seq.data", f"{package}/data")):
        digest += f"sys.modules[{name!r}] = types.ModuleType({name!r})\n"
        digest += f"sys.modules[{name!r}].__path__ = [{path!r}]\n"
    digest += "from keras_seq.data.generated_ner import entity_pools\n"
    digest += "print(hashlib.sha256(json.dumps(entity_pools(3)).encode()).hexdigest())\n"
    digest += "assert 'tensorflow' not in sys.modules\n"
    other = subprocess.run(
        [sys.executable, "-c", digest],
        env={**os.environ, "PYTHONHASHSEED": "0"},
        capture_output=True, text=True, check=True,
    ).stdout.split()[-1]  # fmt: skip
    assert other == hashlib.sha256(json.dumps(generated_ner.entity_pools(3)).encode()).hexdigest()
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (1600, 200, 200)

    def entities(sentences):
        found = set()
        for words, tags in sentences:
            current = None
            for word, tag in zip(words, tags, strict=True):
                if tag.startswith("B-"):
                    current = [tag[2:], word]
                    found.add(tuple(current))
                elif tag.startswith("I-"):
                    found.discard(tuple(current))
                    current.append(word)
                    found.add(tuple(current))
        return found

    # Every word is one whitespace token, as CoNLL files and the SavedModel split text.
    assert all(len(w.split()) == 1 for words, _ in corpus.train for w in words)
    train, test = entities(corpus.train), entities(corpus.test)
    assert {kind for kind, *_ in train} == {"PER", "ORG", "LOC", "MISC"}
    assert not {tuple(e[1:]) for e in train} & {tuple(e[1:]) for e in test}
    assert len(test) > 100


def test_tokenize_splits_punctuation():
    assert tokenize('Smith, Jones and Brown "Ltd"') == [
        "Smith",
        ",",
        "Jones",
        "and",
        "Brown",
        '"',
        "Ltd",
        '"',
    ]
