import pytest

from keras_seq.data import generate_pairs
from keras_seq.presets import (
    FEWEST_EPOCHS,
    LONG_RUN_DROPOUT,
    LONG_RUN_EPOCHS,
    NARROW,
    PRESETS,
    CorpusStats,
    auto_settings,
    choose_preset,
    dropout_for_epochs,
    length_limit,
    narrow_for_budget,
    vocab_size_for,
)


def stats(pairs=10_000, words=200_000, types=10_000):
    return CorpusStats(pairs, words // 2, words - words // 2, types, types // 2, types * 3 // 2)


def test_stats_count_words_and_distinct_words():
    counted = CorpusStats.of([("a b a", "x"), ("b c", "y y a")])
    assert counted == CorpusStats(2, 5, 4, 3, 3, joint_types=5)
    assert counted.words == 9 and counted.types == 3
    with pytest.raises(ValueError, match="empty"):
        CorpusStats.of([])


def test_the_rule_picks_the_preset_by_distinct_words_then_size():
    assert choose_preset(CorpusStats.of(generate_pairs(3000, seed=0))) == "tiny"
    assert choose_preset(stats(types=1_999)) == "tiny"
    assert choose_preset(stats(types=2_000)) == "small"
    assert choose_preset(stats(words=1_999_999)) == "small"
    assert choose_preset(stats(words=2_000_000)) == "base"


def test_vocabulary_is_a_third_of_the_distinct_words_within_bounds():
    assert vocab_size_for(stats(types=300)) == 1_000
    assert vocab_size_for(stats(types=25_949)) == 9_000
    assert vocab_size_for(stats(types=10_000_000)) == 32_000
    shared = CorpusStats(10_000, 300_000, 300_000, 12_000, 15_000, joint_types=25_000)
    assert vocab_size_for(shared) == 5_000 and vocab_size_for(shared, joint=True) == 8_000


def test_a_joint_vocabulary_has_at_most_one_entry_per_64_training_words():
    ding = CorpusStats(15_575, 127_535, 122_411, 20_862, 25_949, joint_types=46_124)
    assert vocab_size_for(ding, joint=True) == 4_000  # 249,946 / 64, not 46,124 / 3
    assert vocab_size_for(ding) == 9_000  # one per language: a third of 25,949


def test_auto_settings_take_the_preset_asked_for_or_the_rules():
    settings, preset = auto_settings(stats(types=20_000))
    assert preset == "small" and settings == {**PRESETS["small"], "vocab_size": 3_000}
    assert settings["joint_vocab"] and settings["precision"] == "auto"
    settings, _ = auto_settings(stats(types=20_000), joint=False)  # --no-joint-vocab
    assert not settings["joint_vocab"] and settings["vocab_size"] == 7_000
    settings, _ = auto_settings(stats(types=20_000), preset="tiny")
    assert settings["vocab_size"] == 1_000  # tiny's own
    settings, preset = auto_settings(stats(types=20_000), preset="base")
    assert preset == "base" and settings["units"] == PRESETS["base"]["units"]
    with pytest.raises(ValueError, match="'huge'"):
        auto_settings(stats(), preset="huge")


def test_length_limit_is_the_995th_percentile_within_bounds():
    lengths = list(range(1, 201))  # 1..200
    assert length_limit(lengths) == 200  # ceil(199.005)
    assert length_limit([3] * 100) == 16
    assert length_limit([1000] * 10) == 256
    assert length_limit(list(range(1, 1001)), low=1, high=2000) == 996


def test_a_long_run_of_the_small_preset_gets_more_dropout():
    small = PRESETS["small"]["dropout"]
    assert dropout_for_epochs("small", small, LONG_RUN_EPOCHS - 1) == small
    assert dropout_for_epochs("small", small, LONG_RUN_EPOCHS) == LONG_RUN_DROPOUT["small"] > small
    assert dropout_for_epochs("base", 0.2, 40) == 0.2  # not measured: the preset's own


def test_the_narrow_model_replaces_a_wider_one_that_fits_too_few_epochs_in_the_budget():
    small, tiny = PRESETS["small"], PRESETS["tiny"]
    minute = 60.0
    assert narrow_for_budget(small, 45 * minute / (FEWEST_EPOCHS - 1), 45)  # 7 epochs fit
    assert not narrow_for_budget(small, 45 * minute / FEWEST_EPOCHS, 45)  # 8 fit
    assert not narrow_for_budget(small, 1e6, 0)  # no budget: no limit
    assert not narrow_for_budget(tiny, 1e6, 45)  # as narrow as the narrow model already
    assert NARROW["units"] < small["units"] and NARROW["embedding_dim"] < small["embedding_dim"]
