import numpy as np
import pytest

from keras_seq.evaluation import corpus_scores
from keras_seq.plots import plot_attention


def test_perfect_and_partial_scores():
    references = ["samstag, 11. september 2077", "vor 3 tagen"]
    perfect = corpus_scores(references, references)
    assert perfect["bleu"] == pytest.approx(100.0) and perfect["exact_match"] == 1.0
    partial = corpus_scores(["samstag, 11. september 2078", "vor 3 tagen"], references)
    assert 0 < partial["bleu"] < 100 and partial["exact_match"] == 0.5
    assert 0 < partial["chrf"] < 100 and "tok:13a" in partial["bleu_signature"]


def test_a_lower_cased_model_is_scored_case_insensitively():
    references = ["Ein Mann spielt im Park.", "Vor 3 Tagen"]
    hypotheses = [r.lower() for r in references]  # what a model trained with --lowercase says
    cased = corpus_scores(hypotheses, references)
    assert cased["bleu"] < 50 and cased["exact_match"] == 0.0
    folded = corpus_scores(hypotheses, references, lowercase=True)
    assert folded["bleu"] == pytest.approx(100.0) and folded["exact_match"] == 1.0
    assert folded["chrf"] == pytest.approx(100.0) and "case:lc" in folded["bleu_signature"]


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


def test_alignment_criterion_on_hand_made_maps():
    from keras_seq.evaluation import alignment_summary

    identity = alignment_summary(np.eye(6))
    assert identity == {"tau": 1.0, "crossings": 0, "monotonic": True, "entropy": 0.0}
    reversed_ = alignment_summary(np.eye(6)[::-1])
    assert reversed_["tau"] == pytest.approx(-1.0) and not reversed_["monotonic"]
    # "thirty four" -> "vier und dreissig": the number's two words cross.
    swap = np.eye(4)[[0, 2, 1, 3]]
    assert alignment_summary(swap)["tau"] == pytest.approx(4 / 6)
    assert alignment_summary(swap)["crossings"] == 1
    assert not alignment_summary(swap)["monotonic"]
    # One crossing among ten tokens is still a monotonic translation (tau 43/45).
    nearly = alignment_summary(np.eye(10)[[0, 1, 2, 3, 5, 4, 6, 7, 8, 9]])
    assert nearly["tau"] == pytest.approx(43 / 45) and nearly["monotonic"]
    uniform = alignment_summary(np.full((3, 5), 0.2))
    assert uniform["entropy"] == pytest.approx(np.log(5)) and uniform["tau"] == 1.0
    # Several output tokens on one source token (ties) do not cross.
    assert alignment_summary(np.eye(3)[[0, 0, 1, 2, 2]])["monotonic"]
    with pytest.raises(ValueError, match=r"shape \(target, source\).*\(0, 4\)"):
        alignment_summary(np.zeros((0, 4)))


def test_attention_maps_of_a_batch_equal_those_of_single_sentences():
    import keras_seq as ks
    from keras_seq.data import SubwordTokenizer
    from keras_seq.evaluation import AttentionMaps, translate_texts

    texts = ["in 3 days", "tuesday, may 23, 1978", "two weeks ago", "x"]
    tokenizer = SubwordTokenizer.train(texts * 20, 80)
    model = ks.models.build_seq2seq(tokenizer.vocab_size, tokenizer.vocab_size, 8, 8, seed=1)
    translations, batched = AttentionMaps(model, texts, tokenizer, tokenizer, 16, 6)()
    assert translations == translate_texts(model, texts, tokenizer, tokenizer, 16, 6)[0]
    for text, (source, target, weights) in zip(texts, batched, strict=True):
        _, ((one_source, one_target, one_weights),) = AttentionMaps(
            model, [text], tokenizer, tokenizer, 16, 6
        )()
        assert (
            source
            == one_source
            == tokenizer.id_to_piece(tokenizer.tokenize([text])[0].numpy().tolist())
        )
        assert target == one_target and 1 <= len(target) <= 6
        assert weights.shape == (len(target), len(source))
        np.testing.assert_allclose(weights, one_weights, atol=1e-6)
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)


def test_entity_scores_of_a_hand_counted_example():
    from keras_seq.evaluation import entity_scores

    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"], ["O", "B-PER"]]
    predicted = [["B-PER", "I-PER", "O", "O"], ["B-ORG", "B-LOC"], ["O", "B-PER"]]
    # Gold: PER, LOC, ORG, PER (4); predicted: PER, ORG, LOC, PER (4); right: PER, ORG, PER.
    scores = entity_scores(gold, predicted)
    assert scores["precision"] == pytest.approx(75.0)
    assert scores["recall"] == pytest.approx(75.0)
    assert scores["f1"] == pytest.approx(75.0)
    assert scores["accuracy"] == pytest.approx(100 * 6 / 8)  # tags right, of 8
    assert scores["per_type"]["PER"] == {"f1": 100.0, "precision": 100.0, "recall": 100.0,
                                         "support": 2}  # fmt: skip
    assert scores["per_type"]["LOC"] == {"f1": 0.0, "precision": 0.0, "recall": 0.0,
                                         "support": 1}  # fmt: skip
    # A span cut short is a miss and a false alarm (conlleval counts exact spans).
    short = entity_scores([["B-PER", "I-PER"]], [["B-PER", "O"]])
    assert (short["precision"], short["recall"]) == (0.0, 0.0)
    with pytest.raises(ValueError, match="pair up"):
        entity_scores(gold, predicted[:2])
