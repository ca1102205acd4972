import pytest

from keras_seq.data import generate_pairs, load_corpus


def test_deterministic_by_seed():
    assert generate_pairs(300, seed=4) == generate_pairs(300, seed=4)
    assert generate_pairs(300, seed=4) != generate_pairs(300, seed=5)


def test_distinct_pairs_from_every_family():
    pairs = generate_pairs(2000, seed=0)
    assert len(set(pairs)) == 2000
    english = " ".join(e for e, _ in pairs)
    german = " ".join(d for _, d in pairs)
    for word in ("thousand", "ago", "monday"):
        assert word in english
    for word in ("tausend", "vor", "montag", "€"):
        assert word in german


def test_real_word_order_changes():
    pairs = dict(generate_pairs(4000, seed=1))
    numbers = [(e, d) for e, d in pairs.items() if e.startswith("thirty four thousand")]
    for english, german in numbers:
        assert german.startswith("vier und dreißig tausend"), (english, german)
    dates = [(e, d) for e, d in pairs.items() if e.startswith("saturday,")]
    assert dates and all(d.startswith("samstag,") for _, d in dates)
    # "saturday, september 11, 2077" -> "samstag, 11. september 2077": day before month.
    english, german = dates[0]
    day = english.split(", ")[1].split()[1]
    assert german.split(", ")[1].startswith(f"{day}.")


def test_splits_are_disjoint_and_cover_the_pairs():
    corpus = load_corpus("generated", num_pairs=3000, seed=2)
    train, valid, test = (set(p) for p in (corpus.train, corpus.valid, corpus.test))
    assert len(train) + len(valid) + len(test) == 3000
    sources = [{s for s, _ in split} for split in (train, valid, test)]
    assert not (sources[0] & sources[1] or sources[0] & sources[2] or sources[1] & sources[2])
    assert len(test) == 150 and len(valid) == 150


def test_bad_arguments():
    with pytest.raises(ValueError, match="Unknown families"):
        generate_pairs(10, families=("poems",))
    with pytest.raises(ValueError, match="positive integer"):
        generate_pairs(0)
