import numpy as np
import pytest

from keras_seq.evaluation import corpus_scores, plot_attention


def test_perfect_and_partial_scores():
    references = ["samstag, 11. september 2077", "vor 3 tagen"]
    perfect = corpus_scores(references, references)
    assert perfect["bleu"] == pytest.approx(100.0) and perfect["exact_match"] == 1.0
    partial = corpus_scores(["samstag, 11. september 2078", "vor 3 tagen"], references)
    assert 0 < partial["bleu"] < 100 and partial["exact_match"] == 0.5
    assert 0 < partial["chrf"] < 100 and "tok:13a" in partial["bleu_signature"]


def test_mismatched_lengths_are_an_error():
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        corpus_scores(["a", "b"], ["a"])


def test_heat_map_png(tmp_path):
    path = tmp_path / "map.png"
    plot_attention(
        ["▁in", "▁3", "▁days"],
        ["▁in", "▁3", "▁tagen", "</s>"],
        np.eye(4, 3),
        path,
        title="in 3 days",
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
