"""Parallel-text sources behind one interface: `load_corpus(spec, ...)`.

Specs:
- `"generated"`: the built-in offline English->German pairs (`generated.py`).
- `"tsv:PATH"`: tab-separated `source<TAB>target[<TAB>ignored...]` lines (the
  ManyThings/Tatoeba format).
- `"tfds:NAME"`: a TensorFlow Datasets translation dataset, e.g.
  `tfds:ted_hrlr_translate/pt_to_en` (its supervised keys give the direction).
- `"ding"`: the English/German example sentences of Debian's `trans-de-en`
  dictionary, read where the package installs them.
"""

import os
import random
import re
import warnings

from keras_seq._optional import optional_import
from keras_seq.data import sources
from keras_seq.data.corpus import Corpus
from keras_seq.data.generated import generate_pairs
from keras_seq.data.text_files import check_encoding, read_lines

DING_PATH = "/usr/share/trans/de-en"


def _tfds():
    return optional_import("tensorflow_datasets", "tensorflow-datasets", "Loading TFDS datasets")


def check_spec(spec, valid_data=None, test_data=None, data_dir=None):
    """Checks a dataset spec and its files before any work, with one clear error.

    Checks the form of `spec` (one of `SPECS`, `keras_seq.data.sources`), that the
    files it names exist,
    that `valid_data`/`test_data` come only with `tsv:`, and for `tfds:` that
    TFDS knows the name and its data is prepared (nothing is downloaded at run
    time).

    Raises:
        ValueError: naming the spec or file and what was expected.
    """
    _check_form(spec)
    if (valid_data or test_data) and not spec.startswith("tsv:"):
        raise ValueError(
            f"Separate validation/test files go with a 'tsv:PATH' dataset. Received: {spec!r}"
        )
    paths = [spec[4:]] if spec.startswith("tsv:") else []
    paths += [p for p in (valid_data, test_data) if p is not None]
    if spec == "ding":
        paths.append(DING_PATH)
    for path in paths:
        if not os.path.isfile(path):
            hint = " Install it with: apt-get install trans-de-en" if path == DING_PATH else ""
            raise ValueError(f"No such data file: {path!r}.{hint}")
    if spec.startswith("tfds:"):
        _tfds_builder(spec[5:], data_dir, require_prepared=True)


def _check_form(spec):
    sources.find(spec, "translation")


def _tfds_builder(name, data_dir=None, require_prepared=False):
    tfds = _tfds()
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(
            f"TensorFlow Datasets has no dataset named {name!r} (see `tfds.list_builders()`)."
        ) from None
    if require_prepared and not builder.is_prepared():
        raise ValueError(_unprepared(name, builder.data_dir))
    return builder


def _unprepared(name, data_dir):
    return (
        f"The TFDS dataset {name!r} is not prepared in {data_dir}, and nothing is downloaded "
        f"at run time. Prepare it where the network is reachable (`tfds build {name}`) and "
        "copy the data folder here, or set TFDS_DATA_DIR to where it is."
    )


def split_pairs(pairs, valid_fraction, test_fraction, seed):
    """Seeded split into train/valid/test with no source sentence in two splits.

    Pairs are grouped by source text so that a source never appears in two
    splits (a repeated source with another translation stays in one split).
    """
    groups = {}
    for source, target in pairs:
        groups.setdefault(source, []).append((source, target))
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    n_test = round(len(keys) * test_fraction)
    n_valid = round(len(keys) * valid_fraction)
    if (
        len(keys) - n_test - n_valid < 1
        or (test_fraction and n_test < 1)
        or (valid_fraction and n_valid < 1)
    ):
        raise ValueError(
            f"{len(pairs)} pairs ({len(keys)} distinct sources) are too few to split into "
            f"train/valid/test with fractions valid={valid_fraction}, test={test_fraction}."
        )

    def collect(selected):
        return [pair for key in selected for pair in groups[key]]

    return (
        collect(keys[n_test + n_valid :]),
        collect(keys[n_test : n_test + n_valid]),
        collect(keys[:n_test]),
    )


def _complete_splits(train, given, valid_fraction, test_fraction, seed):
    """Train/valid/test, splitting off `train` whatever `given` (valid/test) lacks."""
    train, valid, test = split_pairs(
        train,
        0 if "valid" in given else valid_fraction,
        0 if "test" in given else test_fraction,
        seed,
    )
    return train, given.get("valid", valid), given.get("test", test)


def read_tsv(path, encoding="auto"):
    """Reads `source<TAB>target` pairs; returns `(pairs, skipped)`.

    Lines without a tab, with an empty side, or that do not decode are skipped
    and counted by reason; up to five of each are named in one warning
    (`FILE:LINE`). Extra columns are ignored. The encoding is UTF-8, or
    ISO-8859-1 for a file that is plainly not UTF-8 (with a warning); `encoding`
    chooses another (see `keras_seq.data.text_files.read_lines`).

    Raises:
        FileNotFoundError: naming the path, if it does not exist.
        ValueError: if the file holds no pair at all, or for an unknown encoding.
    """
    path = os.fspath(path)
    pairs, skipped, examples = [], {}, {}
    lines, used = read_lines(path, encoding)
    for number, line in lines:
        if line is None:
            reason = "not_utf8" if used == "utf-8" else f"not_{used}"
        elif not line.strip():
            continue
        else:
            columns = line.split("\t")
            if len(columns) < 2:
                reason = "no_tab"
            elif not columns[0].strip() or not columns[1].strip():
                reason = "empty_side"
            else:
                pairs.append((columns[0].strip(), columns[1].strip()))
                continue
        skipped[reason] = skipped.get(reason, 0) + 1
        examples.setdefault(reason, [])
        if len(examples[reason]) < 5:
            examples[reason].append(f"{path}:{number}")
    if skipped:
        details = "; ".join(
            f"{reason}: {count} (e.g. {', '.join(examples[reason])})"
            for reason, count in skipped.items()
        )
        warnings.warn(f"Skipped lines of {path}: {details}", stacklevel=2)
    if not pairs:
        raise ValueError(
            f"{path} holds no source<TAB>target pair"
            + (f" (skipped: {skipped})" if skipped else " (the file is empty)")
        )
    return pairs, skipped


def read_ding(path=DING_PATH):
    """English->German example sentences from the Ding dictionary (`trans-de-en`).

    Entries are `german alternatives :: english alternatives`, alternatives
    separated by `|` in the same order; the pairs kept are whole sentences on both
    sides (at least three words, ending in `.`, `!` or `?`, no dictionary markup).
    The file is GPL-licensed: it is read where Debian installs it, never copied.

    Raises:
        FileNotFoundError: telling how to install the package, if absent.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"The Ding dictionary is not installed ({path} is missing). Install it with: "
            "apt-get install trans-de-en"
        )
    sentence = re.compile(r"[.!?]$")
    markup = re.compile(r"[{}\[\];]")
    pairs = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("#") or " :: " not in line:
                continue
            german, english = line.rstrip("\n").split(" :: ", 1)
            for de, en in zip(german.split(" | "), english.split(" | "), strict=False):
                de, en = de.strip(), en.strip()
                if (
                    sentence.search(de)
                    and sentence.search(en)
                    and len(de.split()) >= 3
                    and len(en.split()) >= 3
                    and not markup.search(de + en)
                ):
                    pairs.append((en, de))
    return list(dict.fromkeys(pairs))


def read_tfds(name, split, data_dir=None):
    """`(source, target)` pairs of one split of a prepared TFDS translation dataset."""
    tfds = _tfds()
    try:
        dataset = tfds.load(
            name,
            split=split,
            as_supervised=True,
            data_dir=data_dir,
            shuffle_files=False,
            download=False,
        )
    except AssertionError:  # how TFDS says the data is not there
        raise ValueError(_unprepared(name, data_dir or tfds.core.constants.DATA_DIR)) from None
    return [(s.decode("utf-8"), t.decode("utf-8")) for s, t in tfds.as_numpy(dataset)]


def _tfds_splits(name, data_dir=None):
    builder = _tfds_builder(name, data_dir)
    keys = builder.info.supervised_keys
    if not keys:
        raise ValueError(f"TFDS dataset {name!r} has no supervised (source, target) keys.")
    return builder, keys


def load_corpus(
    spec="generated",
    valid_data=None,
    test_data=None,
    seed=0,
    num_pairs=120_000,
    valid_fraction=0.05,
    test_fraction=0.05,
    data_dir=None,
    encoding="auto",
):
    """Loads a parallel corpus by spec and splits it into train/valid/test.

    Args:
        spec: `"generated"`, `"tsv:PATH"`, `"tfds:NAME"` or `"ding"`.
        valid_data, test_data: optional TSV paths of separate valid/test files
            (for `tsv:`; otherwise the splits are seeded and disjoint).
        seed: generation and split seed.
        num_pairs: pairs generated by `"generated"`.
        valid_fraction, test_fraction: split fractions when splitting.
        data_dir: TFDS data directory.
        encoding: of the TSV files (`read_tsv`).

    Returns:
        A `Corpus`.

    Raises:
        ValueError: for an unknown spec.
    """
    source, argument = sources.find(spec, "translation")
    check_encoding(encoding)
    return source.load(
        argument,
        spec=spec,
        valid_data=valid_data,
        test_data=test_data,
        seed=seed,
        num_pairs=num_pairs,
        valid_fraction=valid_fraction,
        test_fraction=test_fraction,
        data_dir=data_dir,
        encoding=encoding,
    )


def _load_generated(_, spec, seed, num_pairs, valid_fraction, test_fraction, **unused):
    pairs = generate_pairs(num_pairs, seed=seed)
    train, valid, test = split_pairs(pairs, valid_fraction, test_fraction, seed)
    return Corpus(spec, train, valid, test, {}, "en", "de")


def _load_ding(_, spec, seed, valid_fraction, test_fraction, **unused):
    train, valid, test = split_pairs(read_ding(), valid_fraction, test_fraction, seed)
    return Corpus(spec, train, valid, test, {}, "en", "de")


def _load_tsv(
    path, spec, seed, valid_data, test_data, valid_fraction, test_fraction, encoding, **unused
):
    pairs, skipped = read_tsv(path, encoding)
    given = {}
    for name, other in (("valid", valid_data), ("test", test_data)):
        if other is not None:
            given[name], more_skipped = read_tsv(other, encoding)
            skipped.update({f"{name}_{k}": v for k, v in more_skipped.items()})
    splits = _complete_splits(pairs, given, valid_fraction, test_fraction, seed)
    return Corpus(spec, *splits, skipped)


def _load_tfds(name, spec, seed, valid_fraction, test_fraction, data_dir, **unused):
    builder, (source_key, target_key) = _tfds_splits(name, data_dir)
    # Without recorded metadata (an unprepared builder), try the usual split names.
    available = set(builder.info.splits) or {"validation", "test"}
    given = {
        key: read_tfds(name, split, data_dir)
        for key, split in (("valid", "validation"), ("test", "test"))
        if split in available
    }
    train = read_tfds(name, "train", data_dir)
    splits = _complete_splits(train, given, valid_fraction, test_fraction, seed)
    return Corpus(spec, *splits, {}, source_key, target_key)


sources.register("generated", "translation", "", _load_generated)
sources.register("tsv", "translation", "PATH", _load_tsv)
sources.register("tfds", "translation", "NAME", _load_tfds)
sources.register("ding", "translation", "", _load_ding)
# The translation specs, for messages and --help.
SPECS = sources.forms("translation")
