"""On-device reference client for taggers: a `tagger*.tflite` model and its vocabularies,
sentence in, entities out.

Runs the exported tagger with the LiteRT interpreter (`ai-edge-litert`) and numpy
alone: no TensorFlow, no keras_seq, as on a device. Words are looked up as in
training (`keras_seq.data.TagVocabularies.encode`, written again here in numpy and
tested against it: the same files a phone app reads from the run's `vocab/`). The
model's input holds a fixed number of words (`max_words`, 128 by default); a longer
sentence is tagged in overlapping windows,
each word taking its tag from a window where it has context on both sides.

    python export/clients/litert_tagger.py RUN/tflite/tagger.tflite --vocab RUN/vocab \\
        "Anna Schmidt flew from Oslo to Lagos ."
"""

import argparse
import dataclasses
import os
import re
import sys

import numpy as np

UNK_ID = 3
DIGITS = re.compile("[0-9]")
IOBES_IN_IOB2 = {"S-": "B-", "E-": "I-"}


class Vocabularies:
    """A run's `vocab/` folder (`words.txt`, `chars.txt`, `tags.txt`, `settings.txt`)."""

    def __init__(self, directory):
        def lines(name):
            with open(os.path.join(directory, f"{name}.txt"), encoding="utf-8") as f:
                return [line.rstrip("\n") for line in f]

        settings = dict(line.split("=") for line in lines("settings"))
        self.lowercase = bool(int(settings["lowercase"]))
        self.normalize_digits = bool(int(settings["normalize_digits"]))
        self.max_chars = int(settings["max_chars"])
        # What the model learnt; read as IOB2 (an IOBES model's S-X is B-X, E-X is I-X).
        iobes = settings.get("scheme") == "iobes"
        self.tags = [IOBES_IN_IOB2.get(t[:2], t[:2]) + t[2:] if iobes else t for t in lines("tags")]
        self.word_ids = {w: i for i, w in enumerate(lines("words"))}
        self.char_ids = {c: i for i, c in enumerate(lines("chars"))}

    def word_id(self, word):
        word = DIGITS.sub("0", word) if self.normalize_digits else word
        word = word.lower() if self.lowercase else word
        return self.word_ids.get(word, self.word_ids.get(word.lower(), UNK_ID))

    def encode(self, words):
        """`(word_ids (T,), char_ids (T, max_chars))` int32, as in training."""
        word_ids = np.array([self.word_id(w) for w in words], dtype=np.int32)
        char_ids = np.zeros((len(words), self.max_chars), dtype=np.int32)
        for i, word in enumerate(words):
            ids = [self.char_ids.get(c, UNK_ID) for c in word[: self.max_chars]]
            char_ids[i, : len(ids)] = ids
        return word_ids, char_ids


def entity_spans(tags):
    """`(type, start, end)` of the entities in IOB2 / IOBES tags (`end` exclusive)."""
    spans, kind, start = [], None, 0
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, name = tag.partition("-")
        continues = prefix in ("I", "E") and name == kind
        if kind is not None and not continues:
            spans.append((kind, start, i))
            kind = None
        if prefix in ("B", "S") or (prefix in ("I", "E") and not continues):
            kind, start = name, i
        if prefix in ("E", "S") and kind is not None:
            spans.append((kind, start, i + 1))
            kind = None
    return spans


@dataclasses.dataclass
class Entity:
    """One entity of a sentence: its type, word span `[start, end)`, text and mean tag score."""

    type: str
    start: int
    end: int
    text: str
    score: float


class LiteRTTagger:
    """Tags whitespace-tokenised sentences with a keras_seq `tagger*.tflite` model.

    Args:
        model_path: `tagger.tflite`, `tagger_float16.tflite` or `tagger_int8.tflite`.
        vocab_dir: the run's `vocab/` folder (`words.txt`, `chars.txt`, `tags.txt`,
            `settings.txt`).
        num_threads: interpreter threads; defaults to all cores.
        context: words of context kept on each side of a window's tagged words, for
            sentences longer than the model's input; default an eighth of it.
    """

    def __init__(self, model_path, vocab_dir, num_threads=None, context=None):
        from ai_edge_litert.interpreter import Interpreter

        self.vocabularies = Vocabularies(vocab_dir)
        interpreter = Interpreter(model_path=model_path, num_threads=num_threads or os.cpu_count())
        self.runner = interpreter.get_signature_runner()
        inputs = self.runner.get_input_details()
        self.max_words = int(inputs["words"]["shape"][1])
        self.uses_chars = "chars" in inputs
        self.context = self.max_words // 8 if context is None else context
        if not 0 <= 2 * self.context < self.max_words:
            raise ValueError(
                f"context must be in [0, {(self.max_words - 1) // 2}] for a model of "
                f"{self.max_words} words. Received: {context}"
            )

    def windows(self, length):
        """`(start, keep_from, keep_to)` of the windows that tag `length` words.

        A window feeds words `[start, start + max_words)` and keeps the tags of
        `[keep_from, keep_to)`; the kept spans cover every word once.
        """
        spans, keep_from = [], 0
        while keep_from < length:
            start = max(0, min(keep_from - self.context, length - self.max_words))
            last = start + self.max_words >= length
            keep_to = length if last else start + self.max_words - self.context
            spans.append((start, keep_from, keep_to))
            keep_from = keep_to
        return spans

    def tag(self, words):
        """`(tags, scores)` of a list of words: tag strings and their probabilities."""
        word_ids, char_ids = self.vocabularies.encode(words)
        tags = np.zeros(len(words), np.int64)
        scores = np.zeros(len(words), np.float32)
        for start, keep_from, keep_to in self.windows(len(words)):
            stop = min(len(words), start + self.max_words)
            pad = self.max_words - (stop - start)
            feed = {"words": np.pad(word_ids[start:stop], (0, pad))[None]}
            if self.uses_chars:
                feed["chars"] = np.pad(char_ids[start:stop], ((0, pad), (0, 0)))[None]
            out = self.runner(**feed)
            kept = slice(keep_from - start, keep_to - start)
            tags[keep_from:keep_to] = out["tags"][0, kept]
            scores[keep_from:keep_to] = out["scores"][0, kept]
        return [self.vocabularies.tags[k] for k in tags], scores.tolist()

    def entities(self, text):
        """The `Entity` list of one sentence (split on whitespace)."""
        words = text.split()
        tags, scores = self.tag(words)
        return [
            Entity(kind, start, end, " ".join(words[start:end]), float(np.mean(scores[start:end])))
            for kind, start, end in entity_spans(tags)
        ]


def main(argv=None):
    parser = argparse.ArgumentParser(description="Find entities with a keras_seq tagger model.")
    parser.add_argument("model", help="path of tagger.tflite or a variant")
    parser.add_argument("texts", nargs="+", help="sentences, words separated by spaces")
    parser.add_argument("--vocab", required=True, help="the run's vocab/ folder")
    args = parser.parse_args(argv)
    tagger = LiteRTTagger(args.model, args.vocab)
    for text in args.texts:
        print(text)
        for entity in tagger.entities(text):
            print(f"  {entity.type}\t{entity.text}\t{entity.score:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
