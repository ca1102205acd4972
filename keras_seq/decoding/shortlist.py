"""A lexical shortlist: the target ids a sentence's decoding may emit.

The output projection (`feature_dim x target_vocab_size`) is the largest matrix a
decoding step reads. A shortlist, as Marian's lexical shortlists do, restricts
each sentence's output vocabulary to the target ids that co-occur with its source
ids in the training pairs, plus the most frequent target ids: the step then
multiplies by a few hundred columns of the projection instead of all of them.
It is an approximation (a token outside the list cannot be emitted), so it is
an option, not a default: measure its BLEU cost on held-out data.
"""

import numpy as np
import tensorflow as tf
from keras import ops

from keras_seq.data.pipeline import encode_texts
from keras_seq.special_ids import END_ID, PAD_ID, START_ID, UNK_ID

# Ids never co-occurrence-counted: padding, start, end, unknown.
FIRST_WORD_ID = max(PAD_ID, START_ID, END_ID, UNK_ID) + 1
# Always allowed: the end id (or no hypothesis could finish) and the unknown id.
ALWAYS = (END_ID, UNK_ID)
# How a step computes its candidates' logits (`LexicalShortlist(projection=...)`).
PROJECTIONS = ("columns", "logits")


class LexicalShortlist:
    """Per-source-id candidate target ids and the always-allowed frequent ids.

    Build one from training pairs with `from_pairs`, keep it beside the model
    (`save` / `load`), and pass it to `ks.models.generate(..., shortlist=...)`
    or `ks.Translator.export(dir, shortlist=...)`, which exports it with the
    model (SavedModel and TFLite, as constants).

    For a batch, the candidates are the union over its sentences: the
    `frequent_ids`, the end and unknown ids, and `table[s]` for every source id
    `s` in the batch. Decoding then runs unchanged over logits that are the
    model's own for the candidates and `-inf` for every other id, so greedy
    and beam search can only emit candidates, with their probabilities
    renormalised over the candidates.

    Args:
        table: int `(source_vocab_size, per_token)`, the candidate target ids of
            each source id; `-1` fills unused slots.
        frequent_ids: int `(num_frequent,)`, target ids allowed for every sentence.
        target_vocab_size: int, the model's target vocabulary size.
        projection: how each step computes the candidates' logits (the same
            values either way, up to rounding). `"columns"` gathers the output
            projection's candidate columns once and multiplies by them at every
            step: the fewest weights read. `"logits"` runs the whole projection
            and takes the candidates' logits: the projection keeps its own kernel,
            which in an int8 TFLite file is the int8 one, where the gathered
            columns are float32. The TFLite export uses `"logits"` for int8 beam
            search (measured faster there) and the shortlist's own elsewhere. Not
            saved by `save`: an export's choice, not the shortlist's content.

    Raises:
        ValueError: for a table that is not 2-D, ids outside
            `[-1, target_vocab_size)` (table) / `[0, target_vocab_size)` (frequent),
            or an unknown `projection`.
    """

    def __init__(self, table, frequent_ids, target_vocab_size, projection="columns"):
        table = np.asarray(table)
        frequent_ids = np.asarray(frequent_ids).reshape(-1)
        if table.ndim != 2 or not np.issubdtype(table.dtype, np.integer):
            raise ValueError(
                "`table` must be an int array of shape (source_vocab_size, per_token). "
                f"Received dtype={table.dtype}, shape={table.shape}"
            )
        if table.size and (table.min() < -1 or table.max() >= target_vocab_size):
            raise ValueError(
                f"`table` ids must be in [-1, {target_vocab_size}) (target_vocab_size="
                f"{target_vocab_size}). Received ids from {table.min()} to {table.max()}"
            )
        if frequent_ids.size and (
            frequent_ids.min() < 0 or frequent_ids.max() >= target_vocab_size
        ):
            raise ValueError(
                f"`frequent_ids` must be in [0, {target_vocab_size}). Received ids from "
                f"{frequent_ids.min()} to {frequent_ids.max()}"
            )
        if projection not in PROJECTIONS:
            raise ValueError(
                f"`projection` must be one of {PROJECTIONS}. Received: projection={projection!r}"
            )
        self.table = table.astype("int32")
        self.frequent_ids = frequent_ids.astype("int32")
        self.target_vocab_size = int(target_vocab_size)
        self.projection = projection

    def with_projection(self, projection):
        """This shortlist (the same candidates) with another `projection`."""
        return LexicalShortlist(self.table, self.frequent_ids, self.target_vocab_size, projection)

    @property
    def source_vocab_size(self):
        return self.table.shape[0]

    @property
    def per_token(self):
        return self.table.shape[1]

    @classmethod
    def from_pairs(
        cls,
        pairs,
        source_vocab_size,
        target_vocab_size,
        per_token=50,
        frequent=100,
        chunk_size=10_000,
    ):
        """Builds a shortlist from training pairs of id sequences.

        Candidates of a source id are the `per_token` target ids with the highest
        Dice coefficient `2 c(s, t) / (c(s) + c(t))` over the pairs, where
        `c(s, t)` counts the pairs holding both and `c(s)`, `c(t)` the pairs
        holding each; ties go to the more frequent, then the lower id. The
        `frequent` target ids are those with the most occurrences. Special ids
        (padding, start, end, unknown) are not counted.

        Args:
            pairs: an iterable of `(source_ids, target_ids)` int sequences.
            source_vocab_size, target_vocab_size: the model's vocabulary sizes.
            per_token: int >= 1, candidates kept per source id.
            frequent: int >= 0, frequent target ids allowed for every sentence.
            chunk_size: pairs counted at a time (bounds the memory of counting).

        Returns:
            A `LexicalShortlist`.

        Raises:
            ValueError: for a non-positive `per_token`, a negative `frequent`, or
                ids outside the vocabularies (naming the pair).
        """
        for name, value, lowest in (("per_token", per_token, 1), ("frequent", frequent, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
                raise ValueError(f"`{name}` must be an int >= {lowest}. Received: {value!r}")
        source_counts = np.zeros(source_vocab_size, np.int64)
        target_counts = np.zeros(target_vocab_size, np.int64)
        target_totals = np.zeros(target_vocab_size, np.int64)
        keys, counts = np.zeros(0, np.int64), np.zeros(0, np.int64)
        pending = []

        def merge(keys, counts):
            merged, inverse = np.unique(np.concatenate([keys, *pending]), return_inverse=True)
            weights = np.concatenate([counts, np.ones(len(inverse) - len(counts), np.int64)])
            pending.clear()
            return merged, np.bincount(inverse, weights, len(merged)).astype(np.int64)

        for index, (source, target) in enumerate(pairs):
            source = _words(source, source_vocab_size, "source", index)
            target_all = _words(target, target_vocab_size, "target", index, unique=False)
            target = np.unique(target_all)
            source_counts[source] += 1
            target_counts[target] += 1
            np.add.at(target_totals, target_all, 1)
            pending.append((source[:, None] * target_vocab_size + target[None, :]).ravel())
            if len(pending) == chunk_size:
                keys, counts = merge(keys, counts)
        keys, counts = merge(keys, counts)

        sources, targets = keys // target_vocab_size, keys % target_vocab_size
        dice = 2 * counts / (source_counts[sources] + target_counts[targets])
        # Best first within each source id: dice, then frequency, then the lower id.
        order = np.lexsort((targets, -target_totals[targets], -dice, sources))
        sources, targets = sources[order], targets[order]
        starts = np.searchsorted(sources, sources, side="left")
        rank = np.arange(len(sources)) - starts
        keep = rank < per_token
        table = np.full((source_vocab_size, per_token), -1, np.int32)
        table[sources[keep], rank[keep]] = targets[keep]
        by_frequency = np.lexsort((np.arange(target_vocab_size), -target_totals))
        frequent_ids = by_frequency[target_totals[by_frequency] > 0][:frequent]
        return cls(table, frequent_ids, target_vocab_size)

    @classmethod
    def from_text_pairs(cls, text_pairs, source_tokenizer, target_tokenizer, **options):
        """`from_pairs` on `(source text, target text)` pairs, tokenized here.

        Args:
            text_pairs: a sequence of `(source, target)` strings, e.g. a corpus' training pairs.
            source_tokenizer, target_tokenizer: the model's `SubwordTokenizer`s.
            **options: `per_token`, `frequent`, `chunk_size` of `from_pairs`.
        """
        sides = (
            encode_texts(tokenizer, [pair[side] for pair in text_pairs])
            for side, tokenizer in enumerate((source_tokenizer, target_tokenizer))
        )
        return cls.from_pairs(
            zip(*sides, strict=True),
            source_tokenizer.vocab_size,
            target_tokenizer.vocab_size,
            **options,
        )

    # ---------------------------------------------------------------- graph
    def candidates(self, source_ids):
        """The sorted candidate target ids of a batch: int32 `(num_candidates,)`.

        `source_ids` int `(batch_size, source_length)`; ids out of the table's
        range are clipped into it (padding's row is empty).
        """
        source_ids = ops.clip(ops.cast(source_ids, "int32"), 0, self.source_vocab_size - 1)
        listed = ops.reshape(ops.take(ops.convert_to_tensor(self.table), source_ids, axis=0), (-1,))
        always = np.unique(np.concatenate([self.frequent_ids, ALWAYS])).astype("int32")
        ids = ops.concatenate([listed, ops.convert_to_tensor(always)], axis=0)
        # Unused slots (-1) land in one extra bin past the vocabulary, then dropped.
        ids = ops.where(ids < 0, self.target_vocab_size, ids)
        hits = ops.scatter(ids[:, None], ops.ones_like(ids), (self.target_vocab_size + 1,))
        # tf.where, not ops.nonzero: its int64 unstack has no builtin TFLite kernel.
        found = tf.where(hits[: self.target_vocab_size] > 0)
        return tf.cast(tf.reshape(found, [-1]), tf.int32)

    def candidate_step(self, decoder, source_ids):
        """`decoder.step` over the candidates of `source_ids` only.

        With `projection="columns"` the columns of the output projection are
        gathered once, here, and each step multiplies by them only; with
        `"logits"` each step takes the candidates' columns of the whole
        projection's logits. Pass `ids` as the strategies' `vocabulary`, so that
        they map the logits' columns to token ids.

        Args:
            decoder: the model's `AttentionDecoder`.
            source_ids: int `(batch_size, source_length)`.

        Returns:
            `(step_fn, ids)`: `step_fn(token_ids, state) -> (logits (N, C), state)`
            over the `C` candidates `ids` (int32 `(C,)`, sorted).

        Raises:
            ValueError: if the decoder's vocabulary is not the shortlist's.
        """
        if decoder.vocab_size != self.target_vocab_size:
            raise ValueError(
                f"The shortlist is for target_vocab_size={self.target_vocab_size}; the "
                f"decoder's vocabulary has {decoder.vocab_size} ids."
            )
        ids = self.candidates(source_ids)
        if self.projection == "logits":

            def logits_step(token_ids, state):
                logits, state = decoder.step(token_ids, state)
                return ops.take(logits, ids, axis=1), state

            return logits_step, ids
        dense = decoder.output_dense
        # Rows of the transposed kernel: the layout a TFLite FULLY_CONNECTED reads, so the
        # loop body holds no per-step transpose.
        rows = ops.cast(ops.take(ops.transpose(dense.kernel), ids, axis=0), decoder.compute_dtype)
        bias = ops.cast(ops.take(dense.bias, ids, axis=0), decoder.compute_dtype)

        def step(token_ids, state):
            feature, state = decoder.step_feature(token_ids, state)
            return tf.matmul(feature, rows, transpose_b=True) + bias, state

        return step, ids

    # ------------------------------------------------------------------ files
    def save(self, path):
        """Writes the shortlist to `path` (`.npz`)."""
        np.savez(
            path,
            table=self.table,
            frequent_ids=self.frequent_ids,
            target_vocab_size=np.int64(self.target_vocab_size),
        )

    @classmethod
    def load(cls, path):
        """Reads a shortlist written by `save`."""
        with np.load(path) as data:
            return cls(data["table"], data["frequent_ids"], int(data["target_vocab_size"]))

    def __repr__(self):
        return (
            f"LexicalShortlist(source_vocab_size={self.source_vocab_size}, "
            f"per_token={self.per_token}, frequent={len(self.frequent_ids)}, "
            f"target_vocab_size={self.target_vocab_size}, projection={self.projection!r})"
        )


def _words(ids, vocab_size, side, index, unique=True):
    """The non-special ids of one sequence (sorted unique with `unique`), range-checked."""
    ids = np.asarray(ids, np.int64).reshape(-1)
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(
            f"Pair {index}: {side} ids must be in [0, {vocab_size}). Received ids from "
            f"{ids.min()} to {ids.max()}"
        )
    ids = ids[ids >= FIRST_WORD_ID]
    return np.unique(ids) if unique else ids
