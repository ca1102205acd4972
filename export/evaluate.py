"""Scores a finished run's model and exports on a test set, without retraining.

Used by `recipes/translate.py --evaluate RUN --test-data FILE`: each variant
(the Keras model, the SavedModel, each TFLite file) translates the same
sources, and sacreBLEU scores them against the same references, so a user can
see what an export costs in quality on their own data.
"""

import os
import time

import numpy as np

from export.run_folder import RunFolder

TFLITE_VARIANTS = ("greedy", "beam", "greedy_int8", "beam_int8")


def _keras(translator, sources, strategy):
    from keras_seq import evaluation

    hypotheses, _ = evaluation.translate_texts(
        translator.model,
        sources,
        translator.source_tokenizer,
        translator.target_tokenizer,
        translator.max_source_length,
        translator.max_target_length,
        strategy=strategy,
    )
    return hypotheses


def _saved_model(path, translator, sources, signature, batch_size=64):
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (the tokenizer ops of the SavedModel)

    from keras_seq.data import make_source_batches

    loaded = tf.saved_model.load(path)
    hypotheses = [""] * len(sources)
    for indices, ids in make_source_batches(
        sources, translator.source_tokenizer, batch_size, translator.max_source_length
    ):
        out = loaded.signatures[signature](source_ids=tf.constant(ids))
        texts = translator.target_tokenizer.detokenize(out["ids"][:, 0]).numpy()
        for row, i in enumerate(indices):
            hypotheses[i] = texts[row].decode("utf-8")
    return hypotheses


def _tflite(path, translator, sources):
    from ai_edge_litert.interpreter import Interpreter

    from keras_seq.data import encode_texts

    runner = Interpreter(model_path=path).get_signature_runner()
    width = translator.max_source_length
    hypotheses = []
    for ids in encode_texts(translator.source_tokenizer, sources):
        row = np.zeros((1, width), np.int32)
        row[0, : min(len(ids), width)] = ids[:width]
        out = runner(source_ids=row)
        best = out["ids"][0, 0, : out["lengths"][0, 0]]
        hypotheses.append(translator.target_tokenizer.detokenize([best]).numpy()[0].decode())
    return hypotheses


def evaluate_run(run_dir, pairs):
    """Scores every variant of a finished run on `pairs`.

    Returns:
        dict from variant name (`keras greedy`, `keras beam`, `saved_model greedy`,
        `saved_model beam`, `tflite greedy_int8`, ...; exports that are missing
        are left out) to its `corpus_scores` dict plus `seconds` and, for TFLite,
        `bytes`.
    """
    from keras_seq import decoding, evaluation

    run = RunFolder(run_dir)
    translator = run.load_translator()
    sources, references = [s for s, _ in pairs], [t for _, t in pairs]
    variants = {
        "keras greedy": lambda: _keras(translator, sources, decoding.GreedySearch()),
        "keras beam": lambda: _keras(translator, sources, translator.strategy),
    }
    saved = run[RunFolder.SAVED_MODEL]
    if os.path.isdir(saved):
        for signature in ("greedy", "beam"):
            variants[f"saved_model {signature}"] = lambda s=signature: _saved_model(
                saved, translator, sources, s
            )
    tflite = {}
    for name in TFLITE_VARIANTS:
        path = os.path.join(run[RunFolder.TFLITE], f"{name}.tflite")
        if os.path.exists(path):
            tflite[f"tflite {name}"] = path
            variants[f"tflite {name}"] = lambda p=path: _tflite(p, translator, sources)
    results = {}
    for name, translate in variants.items():
        start = time.perf_counter()
        hypotheses = translate()
        seconds = time.perf_counter() - start
        results[name] = {**evaluation.corpus_scores(hypotheses, references), "seconds": seconds}
        if name in tflite:
            results[name]["bytes"] = os.path.getsize(tflite[name])
        print(f"  {name:<24} BLEU {results[name]['bleu']:6.2f}  chrF {results[name]['chrf']:6.2f}")
    return results
