"""Settings that follow the data: named presets, and the rule that picks one for a corpus.

The rule (also in the README), from the training pairs split on whitespace:

- preset: `tiny` when the larger side has fewer than 2,000 distinct words (a
  narrow or generated language, like the built-in data); else `small` below
  2 million words (both sides together: Multi30k, Tatoeba, Ding); else `base`.
- subword vocabulary: `small` learns one joint vocabulary from both languages,
  `tiny` and `base` one per language. Its size: 1,000 for `tiny`; else a third
  of the distinct words it covers (the larger side's, or both sides' for a joint
  one), and for a joint one no more than one entry per 64 training words (both
  sides), so that a small corpus still sees each subword often enough to learn
  it; rounded to a thousand, within [1,000, 32,000].
- output projection: tied to the target embedding for `small` (Press & Wolf,
  2017: fewer parameters to fit on a small corpus; +1.6 test BLEU on Ding),
  its own matrix for `tiny` and `base`.
- a moving average of the weights (momentum 0.998, about one epoch of a
  Multi30k-sized corpus) for `small`: ahead on every validation figure of an
  8-epoch Multi30k run, for 1 % of a step; off for `tiny` and `base`.
- precision: `auto` for `small` and `base` (bfloat16 on a CPU that computes it,
  float16 on a GPU, else float32), float32 for `tiny`.
- the built-in generated data (`recipes/translate.py --dataset generated`) is
  `tiny` by definition: its numbers and dates make tens of thousands of distinct
  "words" from a few hundred subwords, which the word counts above misread.
- model size on a slow machine (`narrow_for_budget`, applied by
  `recipes/translate.py` when the rule chose the size and a time budget is set):
  one timed probe of the preset's model; when its training steps would fit fewer
  than `FEWEST_EPOCHS` epochs in the budget, the narrow model (`NARROW`: 128/128,
  a GRU) takes its place. On Ding with a budget that held 5 epochs of the
  256/256 LSTM, the narrow model's 13 epochs gave 6.19 test BLEU against 5.02;
  with 11 epochs of it, the LSTM gave 7.72 against the narrow model's best, 6.86.
- maximum lengths (`length_limits`, once the tokenizers exist): the 99.5th
  percentile of the training pairs' subword counts (end token included on the
  target side), within [16, 256], so that about 0.5 % of pairs are over-long.

Every setting a user gives explicitly wins over the rule.
"""

import dataclasses
import math

import numpy as np

# Model size, regularisation and the training budget of each preset.
PRESETS = {
    "tiny": {
        "vocab_size": 1_000,
        "embedding_dim": 96,
        "units": 128,
        "cell": "lstm",
        "encoder_layers": 1,
        "decoder_layers": 1,
        "dropout": 0.1,
        "word_dropout": 0.0,
        "subword_dropout": 0.0,
        "batch_size": 128,
        "epochs": 5,
        "learning_rate": 3e-3,
        "label_smoothing": 0.0,
        "ema_momentum": 0.0,
        "average_checkpoints": 0,
        "time_budget": 0,
        "joint_vocab": False,
        "tie_embeddings": False,
        "precision": "float32",
    },
    "small": {
        "embedding_dim": 256,
        "units": 256,
        "cell": "lstm",
        "encoder_layers": 1,
        "decoder_layers": 1,
        # 0.3: on Multi30k (8 epochs) ahead of 0.5 in validation perplexity at every epoch
        # (6.05 against 6.24 at the end) and in BLEU at 7 of 8 (docs/translation-quality.md).
        "dropout": 0.3,
        "word_dropout": 0.0,
        "subword_dropout": 0.0,
        "batch_size": 64,
        "epochs": 20,
        "learning_rate": 3e-3,
        "label_smoothing": 0.1,
        "ema_momentum": 0.998,
        "average_checkpoints": 5,
        # Training minutes: 8 epochs of Multi30k on the slower 2-core CPU (about 5.7 min
        # each), the rest of the hour left to the beam grid, the test set and the export.
        "time_budget": 50,
        "joint_vocab": True,
        "tie_embeddings": True,
        "precision": "auto",
    },
    "base": {
        "embedding_dim": 512,
        "units": 512,
        "cell": "lstm",
        "encoder_layers": 2,
        "decoder_layers": 1,
        "dropout": 0.2,
        "word_dropout": 0.0,
        "subword_dropout": 0.0,
        "batch_size": 128,
        "epochs": 10,
        "learning_rate": 1e-3,
        "label_smoothing": 0.1,
        "ema_momentum": 0.0,
        "average_checkpoints": 5,
        "time_budget": 0,
        "joint_vocab": False,
        "tie_embeddings": False,
        "precision": "auto",
    },
}
# The model that buys epochs on a slow machine: half the width, a GRU (three gates'
# products where an LSTM has four). On Ding it learns more per epoch than the 128/128 LSTM
# (best validation BLEU 6.42 against 5.41), and the 128/128 LSTM already trains 2.7x the
# target tokens/s of the 256/256 one on a 2-core CPU. The 256/256 model keeps its LSTM:
# with all 20 of its epochs (Ding, bfloat16, two splits) it is 0.5-0.8 test BLEU (beam)
# ahead of a 256/256 GRU, which trains only 1.1-1.2x faster there.
NARROW = {"embedding_dim": 128, "units": 128, "cell": "gru"}
# Fewer epochs than this in the time budget: the narrow model instead of the preset's.
FEWEST_EPOCHS = 8
# A run that trains this many epochs or more gets `LONG_RUN_DROPOUT`'s dropout for its
# preset instead of the preset's own: on Multi30k the `small` model was best with 0.3 over
# 8 epochs (0.2 and 0.5 behind) and with 0.4 over a 20-epoch plan, where 0.3 overfitted
# from the 10th epoch (docs/translation-quality.md). Between 8 and 15 epochs: not measured.
LONG_RUN_EPOCHS = 15
LONG_RUN_DROPOUT = {"small": 0.4}
TINY_BELOW_TYPES = 2_000
SMALL_BELOW_WORDS = 2_000_000
WORDS_PER_JOINT_ENTRY = 64


@dataclasses.dataclass(frozen=True)
class CorpusStats:
    """Size of a parallel corpus in whitespace-separated words."""

    pairs: int
    source_words: int
    target_words: int
    source_types: int
    target_types: int
    joint_types: int = 0  # distinct words of both sides together (a joint vocabulary's)

    @classmethod
    def of(cls, pairs):
        """The statistics of a list of `(source, target)` texts."""
        if not pairs:
            raise ValueError("No training pairs: the corpus is empty.")
        counts, vocabularies = [], []
        for side in (0, 1):
            words = [pair[side].split() for pair in pairs]
            vocabularies.append({w for ws in words for w in ws})
            counts += [sum(map(len, words)), len(vocabularies[-1])]
        joint = len(vocabularies[0] | vocabularies[1])
        return cls(len(pairs), counts[0], counts[2], counts[1], counts[3], joint)

    @property
    def words(self):
        return self.source_words + self.target_words

    @property
    def types(self):
        return max(self.source_types, self.target_types)

    def describe(self):
        return (
            f"{self.pairs:,} pairs, {self.words:,} words, "
            f"{self.source_types:,}/{self.target_types:,} distinct source/target words"
        )


def choose_preset(stats):
    """The preset the rule picks for `stats` (a `CorpusStats`)."""
    if stats.types < TINY_BELOW_TYPES:
        return "tiny"
    return "small" if stats.words < SMALL_BELOW_WORDS else "base"


def vocab_size_for(stats, joint=False):
    """Subword vocabulary size of each language for `stats` (of the one shared vocabulary
    when `joint`: from both sides' distinct words, at most one entry per 64 words)."""
    size = (stats.joint_types if joint else stats.types) / 3
    if joint:
        size = min(size, stats.words / WORDS_PER_JOINT_ENTRY)
    return int(min(max(round(size, -3), 1_000), 32_000))


def auto_settings(stats, preset=None, joint=None):
    """`(settings, preset)`: the preset's settings, with the rule's `vocab_size` if it has none.

    Args:
        stats: a `CorpusStats`.
        preset: a name of `PRESETS`, or None for the rule's choice.
        joint: size the vocabulary for one subword model shared by both languages
            (None: as the preset does).

    Raises:
        ValueError: for an unknown preset.
    """
    if preset is None:
        preset = choose_preset(stats)
    if preset not in PRESETS:
        raise ValueError(f"Unknown preset {preset!r}. Expected one of {sorted(PRESETS)}.")
    settings = dict(PRESETS[preset])
    if joint is not None:
        settings["joint_vocab"] = joint
    return {"vocab_size": vocab_size_for(stats, settings["joint_vocab"]), **settings}, preset


def length_limit(lengths, low=16, high=256):
    """The 99.5th percentile of token counts `lengths`, within `[low, high]`."""
    return int(min(max(math.ceil(np.percentile(lengths, 99.5)), low), high))


def dropout_for_epochs(preset, dropout, epochs):
    """The dropout of a run of `preset` that trains `epochs` epochs: the preset's `dropout`,
    or `LONG_RUN_DROPOUT`'s for a run of `LONG_RUN_EPOCHS` or more (the presets measured)."""
    longer = LONG_RUN_DROPOUT.get(preset)
    return longer if longer is not None and epochs >= LONG_RUN_EPOCHS else dropout


def narrow_for_budget(settings, seconds_per_epoch, budget_minutes):
    """Whether the `NARROW` model should replace the one `settings` describe.

    True when an epoch of `settings`' model (`seconds_per_epoch` of training steps,
    timed on this machine) fits fewer than `FEWEST_EPOCHS` times in `budget_minutes`
    and the narrow model is narrower (a preset already that narrow keeps its size).
    """
    if not budget_minutes or seconds_per_epoch <= 0:
        return False
    narrower = all(settings[k] > NARROW[k] for k in ("embedding_dim", "units"))
    return narrower and budget_minutes * 60 / seconds_per_epoch < FEWEST_EPOCHS
