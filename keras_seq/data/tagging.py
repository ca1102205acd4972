"""Tagged text for sequence taggers: CoNLL files, TFDS, vocabularies, tf.data batches.

A sentence is a `(words, tags)` pair of equal-length lists of strings. Tags are
IOB2 (`B-X` starts an entity, `I-X` continues it); readers convert IOB1 input. A
tagger may learn IOBES tags instead (`TagVocabularies(scheme="iobes")`): they are
made from the IOB2 tags when a sentence is encoded, and read back as IOB2.
"""

import collections
import dataclasses
import os
import re

import numpy as np
import tensorflow as tf

from keras_seq import files
from keras_seq.checks import check_positive_int
from keras_seq.data import sources
from keras_seq.data.corpus import TaggedCorpus
from keras_seq.data.generated_ner import generate_ner_corpus
from keras_seq.data.loaders import _tfds, _tfds_builder, _unprepared
from keras_seq.data.pipeline import bucket_batch_count, epoch_shuffle, shuffle_and_bucket
from keras_seq.data.text_files import check_encoding, read_lines
from keras_seq.special_ids import UNK_ID

# The names of the CoNLL-2003 (eng, deu) and CoNLL-2002 (esp, ned) releases, and plain ones.
CONLL_FILES = {
    split: (*plain, *(f"{language}.{suffix}" for language in ("eng", "deu", "esp", "ned")))
    for split, plain, suffix in (
        ("train", ("train.txt",), "train"),
        ("valid", ("valid.txt", "dev.txt"), "testa"),
        ("test", ("test.txt",), "testb"),
    )
}
# Ids 0-3 as in every keras_seq vocabulary (PAD_ID, START_ID, END_ID, UNK_ID).
SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]


def to_iob2(tags):
    """IOB1 (or IOB2) tags as IOB2: an `I-X` that starts an entity becomes `B-X`.

    An entity starts at an `I-X` that follows `O`, the sentence start, or a tag of
    another type; IOB2 input is returned unchanged.
    """
    converted = []
    for i, tag in enumerate(tags):
        if tag.startswith("I-"):
            previous = converted[i - 1] if i else "O"
            if previous == "O" or previous[2:] != tag[2:]:
                tag = "B-" + tag[2:]
        converted.append(tag)
    return converted


# The tag schemes a tagger can learn; sentences are read and scored in IOB2 either way.
TAG_SCHEMES = ("iob2", "iobes")
# An IOBES tag's prefix in IOB2 (S- and E- mark an entity's only and last words).
_IOB2_PREFIX = {"S": "B", "E": "I"}


def to_iobes(tags):
    """IOB2 tags as IOBES: a one-word entity's `B-X` becomes `S-X`, and the last word
    of a longer one `E-X`."""
    converted = []
    for i, tag in enumerate(tags):
        following = tags[i + 1] if i + 1 < len(tags) else "O"
        if tag[:2] in ("B-", "I-") and following != "I-" + tag[2:]:
            tag = {"B": "S", "I": "E"}[tag[0]] + tag[1:]
        converted.append(tag)
    return converted


def iob2_name(tag):
    """The IOB2 name of an IOB2 or IOBES tag (`S-X` is `B-X`, `E-X` is `I-X`)."""
    prefix = _IOB2_PREFIX.get(tag[:1]) if tag[1:2] == "-" else None
    return tag if prefix is None else prefix + tag[1:]


def read_conll(path, encoding="auto"):
    """Sentences of a CoNLL-format file, tags converted to IOB2.

    One token per line, the word in the first column and the tag in the last
    (2-column and 4-column CoNLL-2003 files both work, but every line of one file
    has the same number of columns); blank lines end sentences; `-DOCSTART-` lines
    are skipped.

    The encoding is UTF-8, or ISO-8859-1 for a file that is plainly not UTF-8 (as the
    CoNLL-2002 and CoNLL-2003 German releases), with a warning; `encoding` chooses
    another (see `keras_seq.data.text_files.read_lines`).

    Returns:
        A list of `(words, tags)`.

    Raises:
        ValueError: naming `FILE:LINE` for a line with one column, with another
            number of columns than the file's first token line, or that does not
            decode (never replaced: a model would learn `p\ufffdgina`).
    """
    sentences, words, tags = [], [], []
    expected = None  # (columns, line number) of the first token line

    def flush():
        if words:
            sentences.append((list(words), to_iob2(tags)))
        words.clear()
        tags.clear()

    lines, used = read_lines(path, encoding)
    for line_number, line in lines:
        if line is None:
            raise ValueError(
                f"{path}:{line_number}: not valid {used} text. Pass the file's encoding "
                "with --encoding (recipes) or encoding= (e.g. iso-8859-1, the CoNLL-2002 and "
                "CoNLL-2003 German releases' encoding)."
            )
        columns = line.split()
        if not columns:
            flush()
        elif columns[0] == "-DOCSTART-":
            flush()
        elif len(columns) < 2:
            raise ValueError(
                f"{path}:{line_number}: one column ({line.strip()!r}); CoNLL lines hold "
                "a word, optional columns, and the tag last, separated by spaces."
            )
        elif expected and len(columns) != expected[0]:
            raise ValueError(
                f"{path}:{line_number}: {len(columns)} columns ({line.strip()!r}), but "
                f"line {expected[1]} has {expected[0]}; every token line of a CoNLL file "
                "has the same columns (a word with a space in it splits into two)."
            )
        else:
            expected = expected or (len(columns), line_number)
            words.append(columns[0])
            tags.append(columns[-1])
    flush()
    return sentences


def find_conll_files(directory):
    """`{"train": path, "valid": path, "test": path}` of a CoNLL-2003 directory.

    Raises:
        ValueError: naming the directory and the names looked for when a split's
            file is missing.
    """
    if not os.path.isdir(directory):
        raise ValueError(f"No such directory: {directory!r} (expected CoNLL-2003 files).")
    found = {}
    for split, names in CONLL_FILES.items():
        path = next(
            (
                os.path.join(directory, n)
                for n in names
                if os.path.isfile(os.path.join(directory, n))
            ),
            None,
        )
        if path is None:
            raise ValueError(f"{directory!r} has no {split} file: expected one of {list(names)}.")
        found[split] = path
    return found


def read_tfds_tagging(name, split, data_dir=None, tag_feature="ner"):
    """Sentences of a prepared TFDS tagging dataset (e.g. `conll2003`), tags as IOB2."""
    tfds = _tfds()
    builder = _tfds_builder(name, data_dir)
    names = builder.info.features[tag_feature].feature.names
    try:
        dataset = tfds.load(name, split=split, data_dir=data_dir, download=False)
    except (AssertionError, tfds.core.DatasetNotFoundError) as error:
        raise ValueError(_unprepared(name, builder.data_dir)) from error
    return [
        (
            [w.decode("utf-8") for w in example["tokens"]],
            to_iob2([names[i] for i in example[tag_feature]]),
        )
        for example in tfds.as_numpy(dataset)
    ]


def load_tagged_corpus(spec, data_dir=None, seed=0, num_sentences=None, encoding="auto"):
    """A `TaggedCorpus` by spec: `"generated"`, `"conll:DIR"` or `"tfds:NAME"`
    (`keras_seq.data.sources`).

    `encoding` is the CoNLL files' (`read_conll`).

    Raises:
        ValueError: for an unknown spec or encoding, a missing directory or file, or
            an unprepared TFDS dataset (nothing is downloaded at run time).
    """
    source, argument = sources.find(spec, "tagging")
    check_encoding(encoding)
    return source.load(
        argument,
        spec=spec,
        data_dir=data_dir,
        seed=seed,
        num_sentences=num_sentences,
        encoding=encoding,
    )


def _load_generated(_, seed, num_sentences, **unused):
    return generate_ner_corpus(num_sentences or 12_000, seed=seed)


def _load_conll(directory, spec, encoding, **unused):
    files = find_conll_files(directory)
    return TaggedCorpus(spec, *(read_conll(files[s], encoding) for s in ("train", "valid", "test")))


def _load_tfds(name, spec, data_dir, **unused):
    # Without recorded metadata (an unprepared builder), CoNLL-2003's split names.
    valid = "validation" if "validation" in _tfds_builder(name, data_dir).info.splits else "dev"
    return TaggedCorpus(
        spec, *(read_tfds_tagging(name, s, data_dir) for s in ("train", valid, "test"))
    )


sources.register("generated", "tagging", "", _load_generated)
sources.register("conll", "tagging", "DIR", _load_conll)
sources.register("tfds", "tagging", "NAME", _load_tfds)
# The tagging specs, for messages and --help.
TAGGING_SPECS = sources.forms("tagging")


_DIGITS = re.compile("[0-9]")


# The vocabulary files of `TagVocabularies.save`, besides `settings.txt`.
LISTS = ("words", "chars", "tags")


@dataclasses.dataclass
class TagVocabularies:
    """Word, character and tag vocabularies of a tagger, and how words are looked up.

    Ids: `words` and `chars` start with the keras_seq special ids (0 padding,
    3 `UNK_ID`); `tags` has `"O"` first. Unknown-word policy: a word is looked up as written, then
    lower-cased; digits are mapped to `0` first when `normalize_digits` (so that
    unseen numbers share the vectors of seen ones); a word still not found is
    unknown. Characters are looked up as written, so capitalisation reaches the
    character features even when `lowercase` folds the word vocabulary.

    Tags: the model learns the tags of `scheme`. Sentences come in IOB2 and `encode`
    converts their tags; `output_tags` names each tag id in IOB2, as everything the
    tagger returns is (an IOBES tag's probability is its own, `S-X` read as `B-X`).

    Attributes:
        words, chars, tags: lists of strings by id (`tags` in `scheme`).
        lowercase: whether the word vocabulary is lower-cased.
        normalize_digits: whether digits are mapped to 0 before lookup.
        max_chars: characters kept per word (longer words are cut).
        scheme: `"iob2"` or `"iobes"`, the tags the model learns.
    """

    words: list
    chars: list
    tags: list
    lowercase: bool = False
    normalize_digits: bool = True
    max_chars: int = 20
    scheme: str = "iob2"

    @classmethod
    def build(
        cls,
        sentences,
        min_count=1,
        lowercase=False,
        normalize_digits=True,
        max_chars=20,
        extra_words=(),
        scheme="iob2",
    ):
        """Vocabularies of training `sentences` (words seen `min_count` times or more;
        IOB2 tags, learnt as `scheme`'s).

        `extra_words` (for example the vocabulary of pretrained vectors restricted to
        the dev/test words) are added after the training words.
        """
        vocabularies = cls([], [], [], lowercase, normalize_digits, max_chars, scheme)
        normal = vocabularies.normal
        counts = collections.Counter(normal(w) for words, _ in sentences for w in words)
        words = sorted(
            (w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w)
        )
        seen = set(words)
        words += [w for w in dict.fromkeys(map(normal, extra_words)) if w not in seen]
        chars = collections.Counter(c for words_, _ in sentences for w in words_ for c in w)
        tags = {t for _, sentence_tags in sentences for t in vocabularies.learnt(sentence_tags)}
        return cls(
            [*SPECIALS, *words],
            [*SPECIALS, *sorted(chars, key=lambda c: (-chars[c], c))],
            ["O", *sorted(tags - {"O"}, key=lambda t: (t[2:], t))],
            lowercase,
            normalize_digits,
            max_chars,
            scheme,
        )

    def normal(self, word):
        word = _DIGITS.sub("0", word) if self.normalize_digits else word
        return word.lower() if self.lowercase else word

    def __post_init__(self):
        if self.scheme not in TAG_SCHEMES:
            raise ValueError(f"`scheme` must be one of {TAG_SCHEMES}. Received: {self.scheme!r}")
        self._word_ids = {w: i for i, w in enumerate(self.words)}
        self._char_ids = {c: i for i, c in enumerate(self.chars)}
        self._tag_ids = {t: i for i, t in enumerate(self.tags)}

    @property
    def output_tags(self):
        """Each tag id's IOB2 name: what the tagger returns."""
        return [iob2_name(t) for t in self.tags]

    def learnt(self, tags):
        """A sentence's IOB2 tags as the model learns them (in `scheme`)."""
        return to_iobes(tags) if self.scheme == "iobes" else list(tags)

    def knows(self, tags):
        """Whether a sentence's IOB2 tags are all among those the model learnt."""
        return all(t in self._tag_ids for t in self.learnt(tags))

    def word_id(self, word):
        word = self.normal(word)
        return self._word_ids.get(word, self._word_ids.get(word.lower(), UNK_ID))

    def encode(self, words, tags=None):
        """Ids of one sentence: `(word_ids (T,), char_ids (T, max_chars)[, tag_ids (T,)])`.

        Raises:
            ValueError: for a tag the vocabulary does not have.
        """
        word_ids = np.array([self.word_id(w) for w in words], dtype="int32")
        char_ids = np.zeros((len(words), self.max_chars), dtype="int32")
        for i, word in enumerate(words):
            ids = [self._char_ids.get(c, UNK_ID) for c in word[: self.max_chars]]
            char_ids[i, : len(ids)] = ids
        if tags is None:
            return word_ids, char_ids
        tags = self.learnt(tags)
        unknown = sorted(set(tags) - set(self._tag_ids))
        if unknown:
            raise ValueError(
                f"Tags {unknown} are not in the training tags {self.tags} (sentence: "
                f"{' '.join(words)!r})."
            )
        return word_ids, char_ids, np.array([self._tag_ids[t] for t in tags], dtype="int32")

    def save(self, directory):
        """Writes `words.txt`, `chars.txt`, `tags.txt` and `settings.txt` in `directory`."""
        os.makedirs(directory, exist_ok=True)
        texts = {name: "".join(f"{item}\n" for item in getattr(self, name)) for name in LISTS}
        texts["settings"] = (
            f"lowercase={int(self.lowercase)}\nnormalize_digits={int(self.normalize_digits)}\n"
            f"max_chars={self.max_chars}\nscheme={self.scheme}\n"
        )
        for name, text in texts.items():
            files.write_bytes(os.path.join(directory, f"{name}.txt"), text.encode("utf-8"))

    @classmethod
    def load(cls, directory):
        def lines(name):
            with open(os.path.join(directory, f"{name}.txt"), encoding="utf-8") as f:
                return [line.rstrip("\n") for line in f]

        settings = dict(line.split("=") for line in lines("settings"))
        return cls(
            lines("words"),
            lines("chars"),
            lines("tags"),
            lowercase=settings["lowercase"] == "1",
            normalize_digits=settings["normalize_digits"] == "1",
            max_chars=int(settings["max_chars"]),
            scheme=settings.get("scheme", "iob2"),  # vocabularies saved before IOBES: IOB2
        )


def make_tagging_dataset(
    sentences,
    vocabularies,
    batch_size,
    shuffle=None,
    bucket_width=4,
    with_chars=True,
    singleton_unk=0.0,
    unk_max_count=1,
):
    """Batches `({"words", "chars"}, tags)` for `Tagger.fit`, bucketed by length.

    Sentences of similar length share a batch (buckets `bucket_width` words wide),
    padded on the right with 0.

    Args:
        sentences: list of `(words, tags)`.
        vocabularies: a `TagVocabularies`.
        batch_size: sentences per batch.
        shuffle: None, or an `EpochShuffle` (or True): the order of sentences
            and of batches changes every epoch, reproducibly.
        bucket_width: words per length bucket.
        with_chars: include `"chars"` (for a model with character features).
        singleton_unk: probability in [0, 1) that a word seen once in `sentences`
            reads as the unknown word (Lample et al. 2016), drawn again each epoch,
            so that the unknown word's vector learns what unseen words look like.
            Its characters stay. Needs a `shuffle` (the draws are keyed by its seed
            and epoch, so a resumed run sees the same ones).
        unk_max_count: positive int; words seen at most this many times in
            `sentences` are the ones `singleton_unk` replaces (1: the singletons).

    Raises:
        ValueError: for a `singleton_unk` outside [0, 1) or without a shuffle, or
            an `unk_max_count` that is not a positive int.
    """
    if not 0 <= singleton_unk < 1:
        raise ValueError(
            f"`singleton_unk` must be a probability in [0, 1). Received: {singleton_unk!r}"
        )
    check_positive_int("unk_max_count", unk_max_count)
    shuffle = epoch_shuffle(shuffle, seed=0)
    if singleton_unk and not shuffle:
        raise ValueError("`singleton_unk` needs a `shuffle` (training batches); got none.")
    encoded = [vocabularies.encode(words, tags) for words, tags in sentences if words]
    max_length = max(len(w) for w, _, _ in encoded)
    counts = np.bincount(
        np.concatenate([w for w, _, _ in encoded]), minlength=len(vocabularies.words)
    )
    rare = tf.constant((counts >= 1) & (counts <= unk_max_count))  # by word id, as seen here

    def rows():
        for index, (words, chars, tags) in enumerate(encoded):
            inputs = {"words": words, "chars": chars} if with_chars else {"words": words}
            yield inputs, tags, index

    def unknown_singletons(inputs, tags, index):
        if singleton_unk:
            words = inputs["words"]
            key = tf.stack([tf.constant(shuffle.seed, tf.int64), shuffle.epoch * 1_000_003 + index])
            draw = tf.random.stateless_uniform(tf.shape(words), seed=key)
            replace = tf.gather(rare, words) & (draw < singleton_unk)
            inputs = {**inputs, "words": tf.where(replace, UNK_ID, words)}
        return inputs, tags

    inputs_signature = {"words": tf.TensorSpec((None,), tf.int32)}
    if with_chars:
        inputs_signature["chars"] = tf.TensorSpec((None, vocabularies.max_chars), tf.int32)
    signature = (inputs_signature, tf.TensorSpec((None,), tf.int32), tf.TensorSpec((), tf.int64))
    dataset = tf.data.Dataset.from_generator(rows, output_signature=signature).cache()
    if shuffle:
        dataset = shuffle.apply(dataset, min(len(encoded), 100_000))
    dataset = dataset.map(unknown_singletons, num_parallel_calls=tf.data.AUTOTUNE)
    dataset, boundaries = shuffle_and_bucket(
        dataset,
        lambda inputs, tags: tf.shape(tags)[0],
        longest=max_length,
        batch_size=batch_size,
        bucket_width=bucket_width,
        shuffle=None,
        seed=0,
        window=0,
    )
    batches = bucket_batch_count([len(w) for w, _, _ in encoded], boundaries, batch_size)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches))
    return dataset.prefetch(tf.data.AUTOTUNE)
