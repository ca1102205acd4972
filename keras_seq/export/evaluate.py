"""Translating with the exported files themselves: a SavedModel's ids signature, a `.tflite`.

`keras_seq.tasks.evaluate` scores a run's model and each of its exports with these
(`keras-seq evaluate RUN FILE`), so a user sees what an export costs in quality.
"""

import numpy as np
import tensorflow as tf

from keras_seq.data import encode_texts, make_source_batches


def saved_model_translate(path, preprocessor, sources, signature, batch_size=64):
    """Translations of `sources` by an exported SavedModel's ids `signature`."""
    import tensorflow_text  # noqa: F401  (deferred, heavy: the SavedModel's tokenizer ops)

    loaded = tf.saved_model.load(path)
    hypotheses = [""] * len(sources)
    for indices, ids in make_source_batches(
        sources, preprocessor.source_tokenizer, batch_size, preprocessor.max_source_length
    ):
        out = loaded.signatures[signature](source_ids=tf.constant(ids))
        texts = preprocessor.target_tokenizer.detokenize(out["ids"][:, 0]).numpy()
        for row, i in enumerate(indices):
            hypotheses[i] = texts[row].decode("utf-8")
    return hypotheses


def tflite_translate(path, preprocessor, sources):
    """Translations of `sources` by a `.tflite` model (one sentence at a time, as on a phone).

    The run's tokenizers encode and decode; the model sees `max_source_length`
    right-padded ids. (`export/clients/litert_client.py` is the same path without
    TensorFlow, for devices.)
    """
    from ai_edge_litert.interpreter import Interpreter  # deferred: optional ai-edge-litert

    runner = Interpreter(model_path=path).get_signature_runner()
    width = preprocessor.max_source_length
    best = []
    for ids in encode_texts(preprocessor.source_tokenizer, list(sources)):
        row = np.zeros((1, width), np.int32)
        row[0, : min(len(ids), width)] = ids[:width]
        out = runner(source_ids=row)
        best.append(out["ids"][0, 0, : out["lengths"][0, 0]].tolist())
    if not best:
        return []
    ragged = tf.ragged.constant(best, dtype=tf.int32, ragged_rank=1)
    return [
        text.decode("utf-8") for text in preprocessor.target_tokenizer.detokenize(ragged).numpy()
    ]
