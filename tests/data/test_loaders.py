import os

import pytest

from keras_seq.data import check_spec, load_corpus, read_ding, read_tsv
from keras_seq.data.loaders import DING_PATH
from tests.shared import missing


def write(path, data):
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return str(path)


def tsv_lines(n, offset=0):
    return "".join(f"source {i}\ttarget {i}\tattribution {i}\n" for i in range(offset, offset + n))


def test_tsv_pairs_ignore_extra_columns(tmp_path):
    pairs, skipped = read_tsv(write(tmp_path / "a.tsv", tsv_lines(3)))
    assert pairs == [("source 0", "target 0"), ("source 1", "target 1"), ("source 2", "target 2")]
    assert skipped == {}


def test_tsv_bad_lines_are_counted_and_located(tmp_path):
    data = tsv_lines(2).encode() + b"no tab here\n" + b"\xff\xfe bad\tbytes\n" + b"\tempty\n"
    path = write(tmp_path / "bad.tsv", data)
    with pytest.warns(UserWarning, match=r"bad\.tsv:3.*") as record:
        pairs, skipped = read_tsv(path)
    assert len(pairs) == 2
    assert skipped == {"no_tab": 1, "not_utf8": 1, "empty_side": 1}
    assert f"{path}:4" in str(record[0].message) and f"{path}:5" in str(record[0].message)


def test_tsv_missing_and_empty_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.tsv"):
        read_tsv(tmp_path / "missing.tsv")
    with pytest.raises(ValueError, match="empty"):
        read_tsv(write(tmp_path / "empty.tsv", ""))
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="no_tab"):
        read_tsv(write(tmp_path / "notabs.tsv", "one\ntwo\n"))


def test_tsv_corpus_with_separate_valid_and_test(tmp_path):
    train = write(tmp_path / "train.tsv", tsv_lines(100))
    valid = write(tmp_path / "valid.tsv", tsv_lines(5, 1000))
    test = write(tmp_path / "test.tsv", tsv_lines(7, 2000))
    corpus = load_corpus(f"tsv:{train}", valid_data=valid, test_data=test)
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (100, 5, 7)
    only_test = load_corpus(f"tsv:{train}", test_data=test)
    assert len(only_test.test) == 7 and len(only_test.valid) == 5
    assert len(only_test.train) == 95


def test_tsv_corpus_seeded_split(tmp_path):
    path = write(tmp_path / "all.tsv", tsv_lines(200))
    a = load_corpus(f"tsv:{path}", seed=1)
    b = load_corpus(f"tsv:{path}", seed=1)
    assert a.test == b.test and len(a.test) == 10
    assert not {s for s, _ in a.train} & {s for s, _ in a.test}


def test_too_few_pairs_to_split(tmp_path):
    with pytest.raises(ValueError, match="too few"):
        load_corpus(f"tsv:{write(tmp_path / 'tiny.tsv', tsv_lines(2))}")


def test_unknown_spec_names_the_value():
    with pytest.raises(ValueError, match="'csv:x'"):
        load_corpus("csv:x")


def test_check_spec_names_the_problem_before_any_work(tmp_path):
    check_spec("generated")
    present = write(tmp_path / "pairs.tsv", tsv_lines(3))
    check_spec(f"tsv:{present}", valid_data=present)
    with pytest.raises(ValueError, match="Expected one of .*Received: 'csv:x'"):
        check_spec("csv:x")
    with pytest.raises(ValueError, match="No such data file: .*absent.tsv"):
        check_spec(f"tsv:{tmp_path / 'absent.tsv'}")
    with pytest.raises(ValueError, match="No such data file: .*valid.tsv"):
        check_spec(f"tsv:{present}", valid_data=str(tmp_path / "valid.tsv"))
    with pytest.raises(ValueError, match="go with a 'tsv:PATH' dataset. Received: 'generated'"):
        check_spec("generated", test_data=present)
    with pytest.raises(ValueError, match="no dataset named 'does_not_exist'"):
        check_spec("tfds:does_not_exist")


def test_unprepared_tfds_dataset_is_refused_without_downloading(tmp_path):
    spec = "tfds:ted_hrlr_translate/pt_to_en"
    with pytest.raises(ValueError, match="not prepared in .*nothing is downloaded"):
        check_spec(spec, data_dir=str(tmp_path))
    with pytest.raises(ValueError, match="not prepared"):
        load_corpus(spec, data_dir=str(tmp_path))


def test_tfds_loading_code_offline():
    import tensorflow_datasets as tfds

    examples = {
        "train": [{"pt": f"olá {i}".encode(), "en": f"hello {i}".encode()} for i in range(40)],
        "validation": [{"pt": b"bom dia", "en": b"good morning"}],
        "test": [{"pt": b"obrigado", "en": b"thank you"}, {"pt": b"sim", "en": b"yes"}],
    }

    def as_dataset(self, split, *args, **kwargs):
        import tensorflow as tf

        rows = examples[str(split)]
        return tf.data.Dataset.from_tensor_slices(
            {"pt": [r["pt"] for r in rows], "en": [r["en"] for r in rows]}
        ).map(lambda x: (x["pt"], x["en"]) if kwargs.get("as_supervised") else x)

    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        corpus = load_corpus("tfds:ted_hrlr_translate/pt_to_en")
    assert (corpus.source_language, corpus.target_language) == ("pt", "en")
    assert len(corpus.train) == 40 and corpus.train[0] == ("olá 0", "hello 0")
    assert corpus.valid == [("bom dia", "good morning")]
    assert corpus.test == [("obrigado", "thank you"), ("sim", "yes")]


def test_ding_format(tmp_path):
    path = write(
        tmp_path / "de-en",
        (
            "# Version :: test\n"
            "Haus {n} | Das Haus ist alt. :: house | The house is old.\n"
            "Er kam spät nach Hause. | Er kam. :: He came home late. | He came.\n"
            "Das ist [ugs.] gut. :: That is good.\n"
        ),
    )
    assert read_ding(path) == [
        ("The house is old.", "Das Haus ist alt."),
        ("He came home late.", "Er kam spät nach Hause."),
    ]


def test_ding_missing_package_says_how_to_install(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install trans-de-en"):
        read_ding(str(tmp_path / "absent"))


def test_ding_installed_has_about_twenty_thousand_sentences():
    if not os.path.isfile(DING_PATH):
        missing("Debian's trans-de-en is not installed (apt-get install trans-de-en)")
    pairs = read_ding()
    assert 12_000 < len(pairs) < 30_000
    assert all(s.rstrip()[-1] in ".!?" for s, _ in pairs[:100])
