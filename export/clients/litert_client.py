"""On-device reference client: a `.tflite` translator and its vocabularies, text in and out.

Runs the exported greedy or beam model with the LiteRT interpreter
(`ai-edge-litert`); tokenization uses the run's SentencePiece models (on a
phone: the SentencePiece C++ or Kotlin/Swift bindings with the same files).

    python export/clients/litert_client.py RUN/tflite/beam.tflite --vocab RUN/vocab "in 3 days"
"""

import argparse
import os
import sys

import numpy as np

PAD_ID, END_ID = 0, 2


class LiteRTTranslator:
    """Translates text with a keras_seq `.tflite` model.

    Args:
        model_path: a `greedy*.tflite` or `beam*.tflite` file.
        vocab_dir: folder with `source.model` and `target.model`.
        num_threads: interpreter threads; defaults to all cores (batch-1 decoding
            is bound by reading the weights, and a second core nearly halves it).
    """

    def __init__(self, model_path, vocab_dir, num_threads=None):
        import sentencepiece
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(
            model_path=model_path, num_threads=num_threads or os.cpu_count()
        )
        self.runner = self.interpreter.get_signature_runner()
        (self.input_name,) = self.runner.get_input_details()
        self.max_source_length = int(self.runner.get_input_details()[self.input_name]["shape"][1])
        self.source = sentencepiece.SentencePieceProcessor(
            model_file=os.path.join(vocab_dir, "source.model")
        )
        self.target = sentencepiece.SentencePieceProcessor(
            model_file=os.path.join(vocab_dir, "target.model")
        )

    def source_ids(self, text):
        """`(ids (1, max_source_length) int32, truncated)` for one text."""
        tokens = self.source.encode(text)
        ids = np.full((1, self.max_source_length), PAD_ID, np.int32)
        kept = tokens[: self.max_source_length]
        ids[0, : len(kept)] = kept
        return ids, len(tokens) > self.max_source_length

    def translate(self, text):
        """`(translation, score, truncated)`; an empty text gives `("", 0.0, False)`."""
        ids, truncated = self.source_ids(text)
        if not ids[0, 0]:
            return "", 0.0, False
        outputs = self.runner(**{self.input_name: ids})
        length = int(outputs["lengths"][0, 0])
        tokens = [int(t) for t in outputs["ids"][0, 0, :length] if t != END_ID]
        return self.target.decode(tokens), float(outputs["scores"][0, 0]), truncated


def main(argv=None):
    parser = argparse.ArgumentParser(description="Translate with a keras_seq .tflite model.")
    parser.add_argument("model", help="path of greedy.tflite, beam.tflite or a variant")
    parser.add_argument("texts", nargs="+")
    parser.add_argument("--vocab", required=True, help="folder with source.model, target.model")
    args = parser.parse_args(argv)
    translator = LiteRTTranslator(args.model, args.vocab)
    for text in args.texts:
        translation, score, truncated = translator.translate(text)
        note = " (source truncated)" if truncated else ""
        print(f"{text}\t{translation}\t{score:.3f}{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
