"""Data files in UTF-8 or Latin-1: read right, or stopped at the line, never replaced."""

import pytest

from keras_seq.data import load_tagged_corpus, read_conll, read_tsv
from keras_seq.data.text_files import read_lines

SPANISH = [("La", "O"), ("página", "O"), ("de", "O"), ("Peñíscola", "B-LOC"), ("cerró", "O")]


def conll_text(rows):
    return "".join(f"{word} {tag}\n" for word, tag in rows) + "\n"


def test_a_latin1_conll_file_reads_as_latin1_with_a_warning(tmp_path):
    path = tmp_path / "esp.train"
    path.write_bytes(conll_text(SPANISH).encode("iso-8859-1"))
    with pytest.warns(UserWarning, match=r"esp.train is not UTF-8 .* read as ISO-8859-1"):
        sentences = read_conll(path)
    assert sentences == [([w for w, _ in SPANISH], [t for _, t in SPANISH])]
    assert read_conll(path, encoding="latin-1") == sentences  # chosen: no warning needed
    with pytest.raises(ValueError, match=r"esp.train:2: not valid utf-8 .*--encoding"):
        read_conll(path, encoding="utf-8")


def test_a_utf8_file_with_one_broken_line_is_stopped_at_that_line(tmp_path):
    path = tmp_path / "broken.txt"
    path.write_bytes(
        conll_text(SPANISH).encode("utf-8") + "Córdoba B-LOC\n".encode("iso-8859-1")
    )
    with pytest.raises(ValueError, match=r"broken.txt:7: not valid utf-8"):
        read_conll(path)
    lines, encoding = read_lines(path)
    assert encoding == "utf-8" and lines[1] == (2, "página O") and lines[6] == (7, None)


def test_tsv_pairs_in_latin1_keep_their_umlauts(tmp_path):
    path = tmp_path / "deu.tsv"
    text = "Good morning.\tGuten Morgen.\nThe bridge.\tDie Brücke.\nTo eat.\tEssen.\n"
    path.write_bytes((text + "Five.\tFünf.\n").encode("latin-1"))
    with pytest.warns(UserWarning, match="read as ISO-8859-1"):
        pairs, skipped = read_tsv(path)
    assert pairs[1] == ("The bridge.", "Die Brücke.") and skipped == {}
    mixed = tmp_path / "mixed.tsv"
    mixed.write_bytes("a\tä\n".encode() + "b\tö\n".encode("latin-1"))
    with pytest.warns(UserWarning, match=r"not_utf8: 1 \(e.g. .*mixed.tsv:2\)"):
        pairs, skipped = read_tsv(mixed)
    assert pairs == [("a", "ä")] and skipped == {"not_utf8": 1}


def test_the_encoding_reaches_the_corpus_loader_and_is_checked(tmp_path):
    for name in ("esp.train", "esp.testa", "esp.testb"):  # the CoNLL-2002 release's names
        (tmp_path / name).write_bytes(conll_text(SPANISH).encode("latin-1"))
    corpus = load_tagged_corpus(f"conll:{tmp_path}", encoding="iso-8859-1")
    assert corpus.train[0][0][1] == "página"
    with pytest.raises(ValueError, match="Unknown text encoding 'latin-9000'"):
        load_tagged_corpus(f"conll:{tmp_path}", encoding="latin-9000")
