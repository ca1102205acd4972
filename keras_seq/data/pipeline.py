"""tf.data pipelines from text pairs to padded id batches."""

import dataclasses
import itertools
import math

import keras
import numpy as np
import tensorflow as tf

from keras_seq.checks import check_positive_int, check_rate
from keras_seq.special_ids import END_ID, PAD_ID, START_ID

OVERLONG_POLICIES = ("filter", "truncate")
SUBWORD_SAMPLES = 16  # BPE-dropout segmentations drawn per pair (`make_dataset`)


@dataclasses.dataclass
class PipelineReport:
    """What a pipeline did to its pairs, for the run's metrics.

    Attributes:
        pairs: pairs given.
        kept: pairs in the dataset.
        overlong: pairs whose source or target was over the limit (removed with
            `"filter"`, cut with `"truncate"`).
        policy: the over-long policy.
        empty: pairs removed because their source has no token (a row of padding
            only, which cuDNN's fused kernels reject).
        batches: batches in one pass over all kept pairs.
        target_tokens: label tokens (end ids included) in one pass over the data.
        padding_fraction: fraction of pad positions in the batches (source and
            target together), None until `measure_padding` runs.
    """

    pairs: int
    kept: int
    overlong: int
    policy: str
    empty: int = 0
    batches: int = 0
    target_tokens: int = 0
    padding_fraction: float | None = None


class LengthCurriculum(keras.callbacks.Callback):
    """Short pairs first, the length limit widening each epoch to the full one.

    Pass it to `make_dataset(..., curriculum=...)` (the training set) and to
    `model.fit(callbacks=[...])`: at the start of epoch `e` the dataset keeps the
    pairs whose longer side has at most
    `ceil(max_length * (start_fraction + (1 - start_fraction) * min(e / epochs, 1)))`
    tokens (and never less than the length that lets one full batch through: an
    epoch with no pair in it would train nothing); from epoch `epochs` on, all of
    them. The limit is a variable read by the dataset, so nothing is rebuilt; a
    resumed run starts its epoch at the right limit.

    Args:
        epochs: positive int, epochs until the full length limit.
        start_fraction: float in (0, 1], the first epoch's share of the limit.
    """

    def __init__(self, epochs, start_fraction=0.25):
        super().__init__()
        check_positive_int("epochs", epochs)
        if not isinstance(start_fraction, (int, float)) or not 0 < start_fraction <= 1:
            raise ValueError(
                f"`start_fraction` must be in (0, 1]. Received: start_fraction={start_fraction!r}"
            )
        self.epochs = epochs
        self.start_fraction = float(start_fraction)
        self.max_length = None
        self.shortest = 1
        self.limit = tf.Variable(0, dtype=tf.int32, trainable=False, name="curriculum_limit")

    def length_at(self, epoch):
        """The length limit of `epoch` (tokens of the longer side, end id included)."""
        share = self.start_fraction + (1 - self.start_fraction) * min(epoch / self.epochs, 1.0)
        return max(self.shortest, math.ceil(self.max_length * share))

    def attach(self, max_length, sizes=(), batch_size=1):
        """Called by `make_dataset`: the full limit, and the first epoch's.

        `sizes` (the pairs' lengths) and `batch_size` set the lowest limit: the
        one that lets `batch_size` pairs through.
        """
        self.max_length = max_length
        if len(sizes):
            k = min(batch_size, len(sizes)) - 1
            self.shortest = int(np.partition(sizes, k)[k])
        self.limit.assign(self.length_at(0))

    def on_epoch_begin(self, epoch, logs=None):
        self.limit.assign(self.length_at(epoch))


class EpochShuffle(keras.callbacks.Callback):
    """A shuffle whose order is a function of the seed and the epoch alone.

    `tf.data`'s own reshuffling draws each pass's order from a generator that
    lives in the process, so a resumed run would see the orders of a fresh run's
    first epochs again and end with other weights. Here epoch `e` is a
    stateless permutation keyed by `(seed, e)` of each window of consecutive
    pairs (`make_dataset` uses windows of 100,000: the whole set below that).
    Pass this object to `make_dataset(shuffle=...)`
    and to `model.fit(callbacks=[...])`, which sets `e` at the start of each
    epoch, and a run resumed by `BackupAndRestore` at epoch `e` sees the order
    an uninterrupted run saw. Iterated outside `fit`, each pass moves on to the
    next epoch's order by itself.

    Args:
        seed: int, the shuffle seed.
    """

    def __init__(self, seed=0):
        super().__init__()
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"`seed` must be a non-negative integer. Received: seed={seed!r}")
        self.seed = seed
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="shuffle_epoch")

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch.assign(epoch)

    def apply(self, dataset, window):
        """`dataset` in this epoch's order: each run of `window` elements permuted.

        Stateless permutations keyed by `(seed, epoch, window index)`, so the
        order does not depend on TensorFlow's global seed either.
        """
        return self.each_epoch(lambda epoch: self.permute(dataset, window, epoch))

    def each_epoch(self, make):
        """A dataset whose pass `e` is `make(e)` (`e` an int64 scalar tensor)."""

        def this_epochs(_):
            return make(self.epoch.assign_add(1) - 1)  # read, then move on for the next pass

        return tf.data.Dataset.from_tensors(0).flat_map(this_epochs)

    def permute(self, dataset, window, epoch):
        """`dataset` in the order of `epoch`: each run of `window` elements permuted."""

        def this_windows_order(index, elements):
            key = tf.stack([tf.constant(self.seed, tf.int64), epoch * 1_000_003 + index])
            count = tf.shape(tf.nest.flatten(elements)[0], out_type=tf.int64)[0]
            return tf.random.experimental.stateless_shuffle(tf.range(count), seed=key)

        return _reordered_runs(dataset, window, this_windows_order)


def _reordered_runs(dataset, size, order_of):
    """`dataset` with each run of `size` elements in the order `order_of(index, run)` gives."""

    def reorder(index, elements):
        order = order_of(index, elements)
        return tf.nest.map_structure(lambda x: tf.gather(x, order), elements)

    def as_tensors(*element):  # unbatched ragged rows, back to plain tensors
        return tf.nest.map_structure(tf.identity, element[0] if len(element) == 1 else element)

    return dataset.ragged_batch(size).enumerate().map(reorder).unbatch().map(as_tensors)


def sorted_batches(dataset, batch_size, key, drop_remainder=False, pool_batches=64):
    """Batches of similar lengths, as many as `ceil(elements / batch_size)`.

    Each run of `pool_batches * batch_size` elements is sorted by its `"length"`
    and cut into batches, which come out in a stateless permutation keyed by
    `key` (an int64 pair) and the run's index. Unlike length buckets, the
    batch count does not depend on the lengths.
    """

    def this_pools_order(index, elements):
        order = tf.argsort(elements["length"], stable=True)
        full = tf.shape(order)[0] // batch_size  # the last pool's remainder stays last
        seed = tf.stack([key[0], key[1] * 1_000_003 + index])
        batches = tf.random.experimental.stateless_shuffle(tf.range(full), seed=seed)
        rows = tf.reshape(order[: full * batch_size], [full, batch_size])
        return tf.concat(
            [tf.reshape(tf.gather(rows, batches), [-1]), order[full * batch_size :]], 0
        )

    pools = _reordered_runs(dataset, pool_batches * batch_size, this_pools_order)
    return pools.padded_batch(batch_size, padding_values=PAD_ID, drop_remainder=drop_remainder)


def _check_pairs(pairs):
    if not pairs:
        raise ValueError("No text pairs were given: the dataset is empty.")


def encode_texts(tokenizer, texts, batch_size=4096):
    """Tokenizes `texts` in batches; returns a list of int32 numpy arrays."""
    out = []
    for start in range(0, len(texts), batch_size):
        out.extend(
            np.asarray(x, np.int32)
            for x in tokenizer.tokenize(texts[start : start + batch_size]).to_list()
        )
    return out


def epoch_shuffle(shuffle, seed):
    """`shuffle` as an `EpochShuffle` (`True`: a new one of `seed`), or None for no shuffle.

    Raises:
        ValueError: for anything but None, a bool or an `EpochShuffle`.
    """
    if shuffle is not None and not isinstance(shuffle, (bool, EpochShuffle)):
        raise ValueError(
            f"`shuffle` must be True, False or an `EpochShuffle`. Received: shuffle={shuffle!r}"
        )
    if shuffle is True:
        return EpochShuffle(seed)
    return shuffle or None


def shuffle_and_bucket(
    dataset, length, longest, batch_size, bucket_width, shuffle, seed, window, **options
):
    """A cached dataset shuffled every epoch, then batched in length buckets.

    Args:
        dataset: the examples.
        length: a function of an example's components -> its length (a scalar).
        longest: the greatest length.
        batch_size: examples per batch.
        bucket_width: bucket boundaries every this many tokens.
        shuffle: `True` (an `EpochShuffle(seed)`), an `EpochShuffle`, or
            `False`/None for the order given.
        seed: the seed of `shuffle=True`.
        window: elements permuted together (`EpochShuffle.apply`).
        **options: of `bucket_by_sequence_length` (`drop_remainder`, ...).

    Returns:
        `(dataset, boundaries)`: batches right-padded with `PAD_ID`, and the
        bucket boundaries.
    """
    shuffle = epoch_shuffle(shuffle, seed)
    if shuffle:
        dataset = shuffle.apply(dataset, window)
    boundaries = list(range(bucket_width + 1, longest + 1, bucket_width))
    dataset = dataset.bucket_by_sequence_length(
        length,
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        padding_values=PAD_ID,
        **options,
    )
    return dataset, boundaries


def bucket_batch_count(lengths, boundaries, batch_size, drop_remainder=False):
    """How many batches `shuffle_and_bucket` makes of examples of these `lengths`.

    Known from the lengths alone; stating it (`assert_cardinality`) gives Keras a sized
    epoch: a progress bar with its end instead of `1/Unknown`, and no "ran out of
    data" warnings.
    """
    counts = np.bincount(np.searchsorted(boundaries, lengths, side="right"))
    return int(np.sum(counts // batch_size if drop_remainder else -(-counts // batch_size)))


def make_dataset(
    pairs,
    source_tokenizer,
    target_tokenizer,
    batch_size,
    max_source_length=64,
    max_target_length=64,
    overlong="filter",
    shuffle=True,
    seed=0,
    bucket_width=2,
    drop_remainder=False,
    curriculum=None,
    subword_dropout=0.0,
    subword_samples=SUBWORD_SAMPLES,
):
    """Builds the training/evaluation `tf.data.Dataset` of a list of text pairs.

    Steps: tokenize (inside the pipeline, in batches), apply the over-long
    policy, make the decoder input `[start] + target` and the labels
    `target + [end]`, cache, shuffle, bucket by length so that batches hold
    sentences of similar length (`bucket_by_sequence_length`), right-pad with 0,
    prefetch.

    Over-long policy (counted in the returned report, never silent): a source
    longer than `max_source_length` or a target longer than `max_target_length`
    (end id included) is dropped (`"filter"`) or cut to the limit
    (`"truncate"`; a cut target keeps no end id, as the text did not end there).
    A pair whose source has no token is always dropped (counted as `empty`):
    every batch row holds at least one real source token.

    Args:
        pairs: list of `(source_text, target_text)`.
        source_tokenizer, target_tokenizer: `SubwordTokenizer`s.
        batch_size: positive int.
        max_source_length, max_target_length: positive ints, in tokens.
        overlong: `"filter"` or `"truncate"`.
        shuffle: shuffle each epoch (training): `True` (with `seed`), an
            `EpochShuffle` (pass it to `fit`'s callbacks as well, for runs
            that resume in the order they left off), or `False`.
        seed: shuffle seed, when `shuffle=True`.
        bucket_width: bucket boundaries every this many tokens.
        drop_remainder: drop the last, smaller batch of each bucket.
        curriculum: optional `LengthCurriculum` (training data only): the batches
            of an epoch hold only the pairs within its length limit, and the
            number of batches is then known only after an epoch.
        subword_dropout: float in [0, 1) (training data only, with `shuffle`):
            with more than 0, each epoch sees the pairs in another segmentation,
            drawn with BPE-dropout at this rate (`SubwordTokenizer.sample`);
            `subword_samples` of them are drawn before training, keyed by the
            shuffle's seed, and epoch `e` uses number `e % subword_samples`, so
            a resumed run sees what an uninterrupted one did. The pairs kept are
            those of the usual segmentation (a sample is cut to the length
            limits as `"truncate"` cuts), batched by their length in the
            epoch's sample (`sorted_batches`): `ceil(pairs / batch_size)` batches.
        subword_samples: positive int, segmentations drawn per pair (all held in
            memory: this many times the usual segmentation's ids, and a little more).

    Returns:
        `(dataset, report)`: the dataset yields
        `({"source_ids": int32 (B, S), "target_ids": int32 (B, T)}, labels int32 (B, T))`;
        the report is a `PipelineReport`.

    Raises:
        ValueError: for an unknown policy, no pairs, or fewer kept pairs than
            `batch_size`.
    """
    if overlong not in OVERLONG_POLICIES:
        raise ValueError(
            f"`overlong` must be one of {OVERLONG_POLICIES}. Received: overlong={overlong!r}"
        )
    _check_pairs(pairs)
    _check_subword_dropout(subword_dropout, subword_samples, shuffle)
    shuffle = epoch_shuffle(shuffle, seed)
    sources = [s for s, _ in pairs]
    targets = [t for _, t in pairs]
    dataset = tf.data.Dataset.from_tensor_slices((sources, targets))

    def tokenize(source, target):
        return (source_tokenizer.tokenize(source), target_tokenizer.tokenize(target))

    dataset = dataset.batch(1024).map(tokenize, num_parallel_calls=tf.data.AUTOTUNE).unbatch()

    lengths = _lengths(dataset)
    too_long = (lengths[:, 0] > max_source_length) | (lengths[:, 1] + 1 > max_target_length)
    empty = lengths[:, 0] == 0  # no source token: an all-padding row (cuDNN rejects it)
    keep = ~empty & (~too_long if overlong == "filter" else True)
    kept = int(keep.sum())
    if kept < batch_size:
        raise ValueError(
            f"The dataset has {kept} usable pairs ({len(pairs)} given, {int(too_long.sum())} "
            f"over the length limits, {int(empty.sum())} with an empty source), fewer than "
            f"batch_size={batch_size}. Use more data or a smaller batch size."
        )

    def usable(source_ids, target_ids):
        ok = tf.size(source_ids) > 0
        if overlong == "filter":
            ok = ok & (tf.size(source_ids) <= max_source_length)
            ok = ok & (tf.size(target_ids) + 1 <= max_target_length)
        return ok

    source_sizes = np.minimum(lengths[:, 0], max_source_length)[keep]
    target_sizes = np.minimum(lengths[:, 1] + 1, max_target_length)[keep]
    sizes = np.maximum(source_sizes, target_sizes)

    def to_example(source_ids, target_ids):
        source_ids = source_ids[:max_source_length]
        ended = tf.concat([target_ids, [END_ID]], axis=0)[:max_target_length]
        decoder_in = tf.concat([[START_ID], ended[:-1]], axis=0)
        length = tf.maximum(tf.size(source_ids), tf.size(ended))  # what batching sorts by
        return {
            "source_ids": source_ids,
            "target_ids": decoder_in,
            "labels": ended,
            "length": length,
        }

    within_limit = None
    if curriculum is not None:
        curriculum.attach(max(max_source_length, max_target_length), sizes, batch_size)

        def within_limit(example):
            return example["length"] <= curriculum.limit

    window = min(kept, 100_000)
    if subword_dropout:
        kept_pairs = [pairs[i] for i in np.flatnonzero(keep)]
        tokenizers = (source_tokenizer, target_tokenizer)
        samples = _sampled_segmentations(
            kept_pairs, tokenizers, subword_dropout, subword_samples, shuffle.seed
        )
        # The curriculum goes by the usual segmentation's length, as it does without samples.
        samples = tf.data.Dataset.from_tensor_slices({**samples, "length": sizes.astype(np.int32)})

        def this_epoch(epoch):
            number = epoch % subword_samples
            examples = shuffle.permute(samples, window, epoch)
            if within_limit is not None:
                examples = examples.filter(within_limit)
            examples = examples.map(lambda x: to_example(x["source"][number], x["target"][number]))
            key = tf.stack([tf.constant(shuffle.seed, tf.int64), -1 - epoch])
            return sorted_batches(examples, batch_size, key, drop_remainder)

        dataset = shuffle.each_epoch(this_epoch)
        batches = kept // batch_size if drop_remainder else -(-kept // batch_size)
    else:
        dataset = dataset.filter(usable)
        dataset = dataset.map(to_example, num_parallel_calls=tf.data.AUTOTUNE).cache()
        if within_limit is not None:
            dataset = dataset.filter(within_limit)
        dataset, boundaries = shuffle_and_bucket(
            dataset,
            lambda x: x["length"],
            longest=max(max_source_length, max_target_length),
            batch_size=batch_size,
            bucket_width=bucket_width,
            shuffle=shuffle,
            seed=seed,
            window=window,
            drop_remainder=drop_remainder,
        )
        batches = bucket_batch_count(sizes, boundaries, batch_size, drop_remainder)
    dataset = dataset.map(
        lambda x: ({"source_ids": x["source_ids"], "target_ids": x["target_ids"]}, x["labels"])
    )
    if curriculum is None:
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches))
    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    report = PipelineReport(
        pairs=len(pairs),
        kept=kept,
        overlong=int(too_long.sum()),
        empty=int(empty.sum()),
        batches=batches,
        policy=overlong,
        target_tokens=int(target_sizes.sum()),
    )
    return dataset, report


def _check_subword_dropout(rate, samples, shuffle):
    check_rate("subword_dropout", rate)
    check_positive_int("subword_samples", samples)
    if rate and not shuffle:
        raise ValueError(
            "`subword_dropout` is for training data, which is shuffled each epoch; "
            f"received shuffle={shuffle!r}."
        )


def _sampled_segmentations(pairs, tokenizers, dropout, samples, seed):
    """`samples` BPE-dropout segmentations of each pair (`make_dataset(subword_dropout=)`).

    Returns:
        `{"source": ..., "target": ...}`: int32 `tf.RaggedTensor`s of shape
        `(pairs, samples, None)`; sample `k` of side `j` is drawn with the seed
        `(seed, k, j)`.
    """
    rows = {}
    for side, (name, tokenizer) in enumerate(zip(("source", "target"), tokenizers, strict=True)):
        texts = [pair[side] for pair in pairs]
        drawn = [
            tokenizer.sample(
                texts, dropout, int(np.random.SeedSequence([seed, k, side]).generate_state(1)[0])
            )
            for k in range(samples)
        ]
        ids = [drawn[k][i] for i in range(len(pairs)) for k in range(samples)]
        sizes = np.fromiter(map(len, ids), np.int64, len(ids))
        flat = np.fromiter(itertools.chain.from_iterable(ids), np.int32, int(sizes.sum()))
        rows[name] = tf.RaggedTensor.from_nested_row_lengths(
            flat, [np.full(len(pairs), samples, np.int64), sizes]
        )
    return rows


def _lengths(tokenized):
    """(N, 2) numpy array of source and target token counts of a tokenized dataset."""
    sizes = tokenized.map(lambda s, t: tf.stack([tf.size(s), tf.size(t)])).batch(8192)
    return np.concatenate([b.numpy() for b in sizes], axis=0)


def measure_padding(dataset, curriculum=None):
    """Fraction of pad positions over all source and target positions of `dataset`.

    With the `LengthCurriculum` the dataset was made with, one pass at the full
    length limit is measured (what every epoch from the curriculum's last on
    holds, not the first epoch's few short pairs); the first epoch's limit is
    set again afterwards.
    """
    if curriculum is not None:
        curriculum.limit.assign(curriculum.max_length)
    pads = total = 0
    try:
        for inputs, _ in dataset:
            for ids in (inputs["source_ids"], inputs["target_ids"]):
                pads += int(tf.reduce_sum(tf.cast(ids == PAD_ID, tf.int64)))
                total += int(tf.size(ids))
    finally:
        if curriculum is not None:
            curriculum.limit.assign(curriculum.length_at(0))
    return pads / max(total, 1)


def make_source_batches(texts, source_tokenizer, batch_size, max_source_length):
    """Right-padded source id batches for decoding, in the order of `texts`.

    Returns:
        A list of `(indices, source_ids)`; sentences are grouped by length to cut
        padding and `indices` say where each row belongs. Over-long sources are
        truncated to `max_source_length`.
    """
    _check_pairs(texts)
    encoded = [ids[:max_source_length] for ids in encode_texts(source_tokenizer, list(texts))]
    order = np.argsort([len(ids) for ids in encoded], kind="stable")
    batches = []
    for start in range(0, len(order), batch_size):
        indices = order[start : start + batch_size]
        width = max(1, max(len(encoded[i]) for i in indices))
        source_ids = np.zeros((len(indices), width), np.int32)
        for row, i in enumerate(indices):
            source_ids[row, : len(encoded[i])] = encoded[i]
        batches.append((indices, source_ids))
    return batches
