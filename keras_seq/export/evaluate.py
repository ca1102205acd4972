"""Scores a finished run's model and exports on a test set, without retraining.

Used by `keras-seq evaluate RUN FILE` (`recipes/translate.py --evaluate RUN --test-data FILE`)
and the benchmarks: each variant
(the Keras model, the SavedModel, each TFLite file) translates the same
sources, and sacreBLEU scores them against the same references, so a user can
see what an export costs in quality on their own data.
"""

import os
import time

import numpy as np
import tensorflow as tf

from keras_seq.run_folder import RunFolder

TFLITE_VARIANTS = ("greedy", "beam", "greedy_int8", "beam_int8")


def saved_model_translate(path, preprocessor, sources, signature, batch_size=64):
    """Translations of `sources` by an exported SavedModel's ids `signature`."""
    import tensorflow_text  # noqa: F401  (the tokenizer ops of the SavedModel)

    from keras_seq.data import make_source_batches

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
    from ai_edge_litert.interpreter import Interpreter

    from keras_seq.data import encode_texts

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


def evaluate_run(run_dir, pairs):
    """Scores every variant of a finished run on `pairs`.

    Returns:
        dict from variant name (`keras greedy`, `keras beam`, `saved_model greedy`,
        `saved_model beam`, `tflite greedy_int8`, ...; exports that are missing
        are left out) to its `corpus_scores` dict plus `seconds` and, for TFLite,
        `bytes`.
    """
    from keras_seq import evaluation
    from keras_seq.models import Translator

    run = RunFolder(run_dir)
    translator = Translator.from_preset(run_dir, compile=False)
    preprocessor = translator.preprocessor
    sources, references = [s for s, _ in pairs], [t for _, t in pairs]
    variants = {
        "keras greedy": lambda: translator.translate(sources, "greedy"),
        "keras beam": lambda: translator.translate(sources),
    }
    saved = run[RunFolder.SAVED_MODEL]
    if os.path.isdir(saved):
        for signature in ("greedy", "beam"):
            variants[f"saved_model {signature}"] = lambda s=signature: saved_model_translate(
                saved, preprocessor, sources, s
            )
    tflite = {}
    for name in TFLITE_VARIANTS:
        path = os.path.join(run[RunFolder.TFLITE], f"{name}.tflite")
        if os.path.exists(path):
            tflite[f"tflite {name}"] = path
            variants[f"tflite {name}"] = lambda p=path: tflite_translate(p, preprocessor, sources)
    results = {}
    for name, translate in variants.items():
        start = time.perf_counter()
        hypotheses = translate()
        seconds = time.perf_counter() - start
        scores = evaluation.corpus_scores(
            hypotheses, references, preprocessor.target_tokenizer.lowercase
        )
        results[name] = {**scores, "seconds": seconds}
        if name in tflite:
            results[name]["bytes"] = os.path.getsize(tflite[name])
        print(f"  {name:<24} BLEU {results[name]['bleu']:6.2f}  chrF {results[name]['chrf']:6.2f}")
    return results


def evaluate_file(run_dir, test_data):
    """Scores a run on the pairs of the TSV file `test_data` (see `evaluate_run`).

    Writes the results to `RUN/evaluations/FILE.json`; returns that path.

    Raises:
        ValueError, OSError: an unreadable file, or a folder that is not a finished run.
    """
    from keras_seq.data import read_tsv

    pairs, _ = read_tsv(test_data)
    print(f"Scoring {run_dir} on {len(pairs)} pairs of {test_data}:")
    results = evaluate_run(run_dir, pairs)
    name = os.path.join("evaluations", os.path.basename(test_data) + ".json")
    run = RunFolder(run_dir)
    run.write_json(name, {"test_data": os.path.abspath(test_data), "results": results})
    return run[name]
