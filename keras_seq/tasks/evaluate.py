"""Scores a finished run's model and exports on a test set, without retraining.

Used by `keras-seq evaluate RUN FILE` and the benchmarks: each variant (the Keras
model, the SavedModel, each TFLite file) translates the same sources, and
sacreBLEU scores them against the same references, so a user can see what an
export costs in quality on their own data.
"""

import os
import time

from keras_seq import evaluation
from keras_seq.data import read_tsv
from keras_seq.export.evaluate import saved_model_translate, tflite_translate
from keras_seq.tasks.preset import RunFolder
from keras_seq.tasks.translator import Translator

TFLITE_VARIANTS = ("greedy", "beam", "greedy_int8", "beam_int8")


def evaluate_run(run_dir, pairs):
    """Scores every variant of a finished run on `pairs`.

    Returns:
        dict from variant name (`keras greedy`, `keras beam`, `saved_model greedy`,
        `saved_model beam`, `tflite greedy_int8`, ...; exports that are missing
        are left out) to its `corpus_scores` dict plus `seconds` and, for TFLite,
        `bytes`.
    """
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
    pairs, _ = read_tsv(test_data)
    print(f"Scoring {run_dir} on {len(pairs)} pairs of {test_data}:")
    results = evaluate_run(run_dir, pairs)
    name = os.path.join("evaluations", os.path.basename(test_data) + ".json")
    run = RunFolder(run_dir)
    run.write_json(name, {"test_data": os.path.abspath(test_data), "results": results})
    return run[name]
