"""Decoding latency, measured batch-64 throughput and model size: Keras, SavedModel, TFLite.

The standard configuration with Bahdanau attention, one 16-token sentence and 30
output steps (random weights never emit the end id early, so every run decodes
all 30 steps). Each decoder is timed for one sentence (median over repeats after
a warm-up) and for 64 different 16-token sentences (sentences per second,
measured):

- `keras`: `ks.models.generate` inside a `tf.function` (greedy, beam-5), one
  batch of 64;
- `reference`: the built-in reference's greedy loop (`benchmarks/reference.py`),
  one batch of 64;
- `reference_architecture`: keras_seq's greedy search, in Keras and through the
  SavedModel, on a model of the reference's own architecture (the attention after
  the cell, an attentional layer, Bahdanau scores: `attend_before_cell=False`),
  with `step_flops` of both architectures. The standard Bahdanau-style decoder
  feeds the context into the cell and projects `[h; context]` (1,024 wide) onto
  the vocabulary: about 1.6x the reference's FLOPs a step (the encoder's share
  included), so its sentences/s against the reference's compare two models, not
  two loops; `keras_greedy_over_reference` and `saved_model_greedy_over_reference`
  compare the loops on the same model;
- `saved_model`: the exported ids signatures, reloaded, one batch of 64;
- `tflite`: greedy and beam-5 in float32, float16 and int8 (`--quick`: int8),
  with one thread and with all cores; its input is one sentence, so the 64
  sentences are 64 calls;
- `tflite_shortlist`: greedy and beam-5 in float32 and int8 decoding with a
  lexical shortlist (`ks.decoding.LexicalShortlist`): for the standard
  configuration a random one of `PER_TOKEN` ids per source id and `FREQUENT`
  frequent ids (the one sentence's candidate count is reported);
- `tflite_tied`: greedy and beam-5 in float32 and int8 (`--quick`: int8), one
  thread, of a translator of the `small` preset's shape (`TIED_CONFIG`: a joint
  vocabulary of 10,000, Luong attention, the output tied to the target embedding),
  with `beam_over_greedy_tied`.

With `--run RUN_DIR` (a trained run folder) the model is the run's (and the
shortlist its `vocab/shortlist.npz`, when it has one), and each TFLite
variant's BLEU on the run's first `--bleu-sentences` test sentences is reported.

Usage: python -m benchmarks.decoding [--run RUN_DIR] [--repeats 20] [--output out.json]
"""

import argparse
import csv
import os
import tempfile
import time

import numpy as np

from benchmarks.common import (
    QUICK_CONFIG,
    QUICK_TIED_CONFIG,
    STANDARD_CONFIG,
    TIED_CONFIG,
    TIED_OPTIONS,
    ceilings,
    machine,
    median_ms,
    progress,
    standard_model,
    write_json,
)
from benchmarks.flops import forward_flops
from benchmarks.reference import reference_greedy, reference_model
from keras_seq.tasks import RunFolder, Translator

SOURCE_TOKENS, STEPS, BEAM, BATCH = 16, 30, 5, 64
PER_TOKEN, FREQUENT = 50, 100


def decode_every_step(model):
    """`model` (a `build_seq2seq` model, built here) with the end token forbidden.

    An untrained model may end a sentence early, and more so in one precision than
    in another: without the end token every variant decodes all its steps."""
    from keras_seq.models import seq2seq_parts
    from keras_seq.special_ids import END_ID

    model({"source_ids": np.ones((1, 4), "int32"), "target_ids": np.ones((1, 4), "int32")})
    output = seq2seq_parts(model).decoder.output_dense
    bias = output.bias.numpy()
    bias[END_ID] = -1e4  # float32 weights, whatever the compute policy
    output.bias.assign(bias)
    return model


def standard_translator(
    config=STANDARD_CONFIG,
    steps=STEPS,
    source_tokens=SOURCE_TOKENS,
    attention="bahdanau",
    **options,
):
    """An untrained translator of `config`, beam-5, `steps` output tokens at most
    (`options`: more `build_seq2seq` arguments)."""
    from keras_seq.decoding import BeamSearch
    from keras_seq.export import TranslatorModule

    model = decode_every_step(standard_model(attention, config=config, **options))
    return TranslatorModule(
        model, max_source_length=source_tokens, max_target_length=steps, strategy=BeamSearch(BEAM)
    )


def random_shortlist(translator, seed=0):
    """A `LexicalShortlist` of `PER_TOKEN` random ids per source id and `FREQUENT` ids."""
    from keras_seq.decoding import LexicalShortlist
    from keras_seq.models import seq2seq_parts

    vocab = seq2seq_parts(translator.model).decoder.vocab_size
    rng = np.random.default_rng(seed)
    table = rng.integers(4, vocab, (translator.source_vocab_size, PER_TOKEN))
    return LexicalShortlist(table, rng.permutation(np.arange(4, vocab))[:FREQUENT], vocab)


def with_shortlist(translator, shortlist):
    """`translator` decoding with `shortlist`."""
    from keras_seq.export import TranslatorModule

    return TranslatorModule(
        translator.model,
        translator.source_tokenizer,
        translator.target_tokenizer,
        translator.max_source_length,
        translator.max_target_length,
        translator.strategy,
        shortlist=shortlist,
    )


def ids_function(translator, strategy, name=None):
    """A `tf.function` from source ids to the named outputs of `strategy`'s decoding."""
    import tensorflow as tf

    from keras_seq.export.inference import result_outputs

    return tf.function(
        lambda ids: result_outputs(translator.decode_ids(ids, strategy)),
        input_signature=[tf.TensorSpec([None, None], tf.int32, name=name)],
    )


def sentences(translator, count, tokens, seed=0):
    """`(count, max_source_length)` int32 ids: `tokens` random ids each, then padding."""
    rng = np.random.default_rng(seed)
    ids = np.zeros((count, translator.max_source_length), np.int32)
    ids[:, :tokens] = rng.integers(4, translator.source_vocab_size, (count, tokens))
    return ids


def seconds(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def timings(single, batch, repeats):
    """Median one-sentence latency and batch throughput of `single()` and `batch()`."""
    batch()  # warm up
    return {
        "latency_ms": median_ms(single, repeats),
        "batch64_sentences_per_second": BATCH / min(seconds(batch) for _ in range(3)),
    }


def tflite_timings(path, one, many, repeats, threads):
    """Latency of one sentence and sentences/s over `many`, one call per sentence."""
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=path, num_threads=threads).get_signature_runner()
    result = timings(
        lambda: runner(source_ids=one),
        lambda: [runner(source_ids=many[i : i + 1]) for i in range(len(many))],
        repeats,
    )
    result["decoded_steps"] = int(runner(source_ids=one)["lengths"][0, 0])
    return result


def run(folder, quick=False, repeats=None, translator=None, config=None, shortlist=None):
    """The decoding part of the harness, exporting into `folder`. Returns `(part, tflite
    paths)`; `shortlist` defaults to `random_shortlist`."""
    from keras import ops

    from keras_seq.export import export_tflite

    config = config or (QUICK_CONFIG if quick else STANDARD_CONFIG)
    repeats = repeats or (2 if quick else 20)
    steps, tokens = (8, 6) if quick else (STEPS, SOURCE_TOKENS)
    translator = translator or standard_translator(config, steps, tokens)
    strategies = translator.ids_strategies()
    many = sentences(translator, BATCH, tokens)
    one = many[:1]
    results = {"keras": {}, "reference": {}, "saved_model": {}}

    for method, strategy in strategies.items():
        progress(f"decoding: Keras {method}")
        fn = ids_function(translator, strategy)
        results["keras"][method] = timings(lambda f=fn: f(one), lambda f=fn: f(many), repeats)
        results["keras"][method]["decoded_steps"] = int(fn(one)["lengths"][0, 0])

    progress("decoding: the built-in reference's greedy loop")
    greedy = reference_greedy(reference_model(**config), translator.max_target_length)
    results["reference"]["greedy"] = timings(lambda: greedy(one), lambda: greedy(many), repeats)

    saved = os.path.join(folder, "saved_model")
    loaded = save_and_load(translator, strategies, saved)
    for method in strategies:
        progress(f"decoding: SavedModel {method}")
        results["saved_model"][method] = signature_timings(loaded, method, one, many, repeats)
    results["saved_model"]["size_bytes"] = folder_bytes(saved)

    progress("decoding: Keras and SavedModel greedy on a model of the reference's architecture")
    same = standard_translator(config, steps, tokens, attend_before_cell=False)
    greedy_only = {"greedy": same.ids_strategies()["greedy"]}
    fn = ids_function(same, greedy_only["greedy"])
    loaded = save_and_load(same, greedy_only, os.path.join(folder, "saved_model_reference"))
    lengths = {"source_lengths": [tokens], "target_lengths": [steps]}
    results["reference_architecture"] = {
        "keras_greedy": timings(lambda: fn(one), lambda: fn(many), repeats),
        "saved_model_greedy": signature_timings(loaded, "greedy", one, many, repeats),
        "step_flops": {
            style: forward_flops(style, config, **lengths) / steps
            for style in ("bahdanau", "reference")
        },
    }

    # A smoke run converts int8 alone: the one conversion each path needs (the float32
    # graph is its first step), and the rule's on-device default.
    quantizations = ("int8",) if quick else ("float32", "float16", "int8")
    progress(f"decoding: converting to TFLite ({', '.join(quantizations)})")
    paths = export_tflite(translator, os.path.join(folder, "tflite"), quantizations)
    results["tflite"] = tflite_entries(paths, one, many, repeats)
    shortlist = shortlist or random_shortlist(translator)
    progress(f"decoding: converting to TFLite with {shortlist!r}")
    shortlisted = export_tflite(
        with_shortlist(translator, shortlist),
        os.path.join(folder, "tflite_shortlist"),
        ("int8",) if quick else ("float32", "int8"),
    )
    results["tflite_shortlist"] = tflite_entries(shortlisted, one, many, repeats, "shortlist ")
    results["shortlist_candidates"] = int(ops.shape(shortlist.candidates(one))[0])
    paths.update({f"shortlist_{name}": path for name, path in shortlisted.items()})
    progress("decoding: TFLite of a tied-output translator (the small preset's shape)")
    tied = standard_translator(
        QUICK_TIED_CONFIG if quick else TIED_CONFIG, steps, tokens, **TIED_OPTIONS
    )
    tied_quantizations = ("int8",) if quick else ("float32", "int8")
    tied_paths = export_tflite(tied, os.path.join(folder, "tflite_tied"), tied_quantizations)
    results["tflite_tied"] = tflite_entries(tied_paths, one, many, repeats, "tied ", (1,))
    # Not in `paths`: an untrained model of its own vocabulary, not the run's (no BLEU).
    one_thread = {n: e["threads_1"]["latency_ms"] for n, e in results["tflite"].items()}
    suffix = "" if "greedy.tflite" in one_thread else "_int8"  # float32, but int8 alone quick
    results["beam_over_greedy_tflite"] = (
        one_thread[f"beam{suffix}.tflite"] / one_thread[f"greedy{suffix}.tflite"]
    )
    tied_ms = {n: e["threads_1"]["latency_ms"] for n, e in results["tflite_tied"].items()}
    results["beam_over_greedy_tied"] = tied_ms["beam_int8.tflite"] / tied_ms["greedy_int8.tflite"]
    reference_rate = results["reference"]["greedy"]["batch64_sentences_per_second"]
    same_model = results["reference_architecture"]
    results["keras_greedy_over_reference"] = (
        same_model["keras_greedy"]["batch64_sentences_per_second"] / reference_rate
    )
    results["saved_model_greedy_over_reference"] = (
        same_model["saved_model_greedy"]["batch64_sentences_per_second"] / reference_rate
    )
    results["standard_greedy_over_reference"] = (
        results["keras"]["greedy"]["batch64_sentences_per_second"] / reference_rate
    )
    part = {
        "config": {**config, "attention": "bahdanau", "beam_size": BEAM},
        "source_tokens": tokens,
        "max_steps": translator.max_target_length,
        "results": results,
    }
    return part, paths


def save_and_load(translator, strategies, path):
    """`translator` saved with an ids signature per strategy, loaded back."""
    import tensorflow as tf

    signatures = {
        name: ids_function(translator, strategy, "source_ids")
        for name, strategy in strategies.items()
    }
    tf.saved_model.save(translator, path, signatures=signatures)
    return tf.saved_model.load(path)


def signature_timings(loaded, method, one, many, repeats):
    import tensorflow as tf

    signature = loaded.signatures[method]
    return timings(
        lambda: signature(source_ids=tf.constant(one)),
        lambda: signature(source_ids=tf.constant(many)),
        repeats,
    )


def tflite_entries(paths, one, many, repeats, label="", thread_counts=None):
    """`{file name: size and timings}`, with one thread and with all cores by default."""
    entries = {}
    for name, path in paths.items():
        entry = {"size_bytes": os.path.getsize(path)}
        for threads in thread_counts or sorted({1, os.cpu_count() or 1}):
            progress(f"decoding: TFLite {label}{name}, {threads} thread(s)")
            entry[f"threads_{threads}"] = tflite_timings(path, one, many, repeats, threads)
        entries[name] = entry
    return entries


def folder_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def tflite_bleu(run_dir, translator, paths, count):
    """BLEU of each TFLite variant on the run's first `count` test sentences."""
    from keras_seq.evaluation import corpus_scores
    from keras_seq.export.evaluate import tflite_translate

    with open(RunFolder(run_dir)[RunFolder.TRANSLATIONS], encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))[:count]
    references = [r["reference"] for r in rows]
    sources = [r["source"] for r in rows]
    return {
        name: corpus_scores(tflite_translate(path, translator, sources), references)["bleu"]
        for name, path in paths.items()
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", help="a trained run folder (else the standard configuration)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--bleu-sentences", type=int, default=300)
    parser.add_argument("--output")
    args = parser.parse_args()

    import tensorflow_text  # noqa: F401  (a run's tokenizer ops)

    from keras_seq.decoding import LexicalShortlist

    translator, shortlist = None, None
    if args.run:
        run_folder = RunFolder(args.run)
        translator = Translator.from_preset(run_folder.path).module()
        if os.path.exists(run_folder[RunFolder.SHORTLIST]):
            shortlist = LexicalShortlist.load(run_folder[RunFolder.SHORTLIST])
    with tempfile.TemporaryDirectory() as folder:
        part, paths = run(folder, repeats=args.repeats, translator=translator, shortlist=shortlist)
        if args.run:
            part["tflite_bleu"] = tflite_bleu(args.run, translator, paths, args.bleu_sentences)
    write_json(
        {
            "benchmark": "decoding",
            "model": args.run or "standard configuration",
            "machine": machine(),
            "ceilings": ceilings(),
            **part,
        },
        args.output,
    )


if __name__ == "__main__":
    main()
