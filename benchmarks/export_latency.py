"""Decoding latency, throughput and model size: Keras, SavedModel and TFLite variants.

Standard configuration (issue 4): vocabularies 8000/8000, embedding 256, BiLSTM
2x256 encoder, LSTM 512 decoder, Bahdanau 512, 16 source tokens, 30 output steps
(random weights never emit the end id early, so every run decodes 30 steps).
Single-sentence latency is the median over repeats; batch-64 throughput is
sentences per second (TFLite runs 64 single-sentence invocations: its input is
`[1, max_source_length]`). TFLite is timed with 1 thread and with all cores.

With `--run RUN_DIR` (a trained run folder), the model is the run's and the
quantized variants' BLEU on the first `--bleu-sentences` test sentences is
reported next to float32's.

Usage: python benchmarks/export_latency.py [--run RUN_DIR] [--repeats 20] [--output out.json]
"""

import argparse
import csv
import os
import sys
import tempfile

import numpy as np
from common import machine, matmul_gflops, median_ms, standard_model, write_json

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from export.run_folder import RunFolder  # noqa: E402  (the run folder's layout)

SOURCE_TOKENS, STEPS, BEAM = 16, 30, 5


def standard_translator():
    from keras_seq.decoding import BeamSearch
    from keras_seq.export import Translator

    model = standard_model("bahdanau")
    model({"source_ids": np.ones((1, 4), "int32"), "target_ids": np.ones((1, 4), "int32")})
    return Translator(
        model,
        max_source_length=SOURCE_TOKENS,
        max_target_length=STEPS,
        strategy=BeamSearch(BEAM),
    )


def ids_function(translator, strategy, name=None):
    """A `tf.function` from source ids to the named outputs of `strategy`'s decoding."""
    import tensorflow as tf

    from keras_seq.export.inference import result_outputs

    return tf.function(
        lambda ids: result_outputs(translator.decode_ids(ids, strategy)),
        input_signature=[tf.TensorSpec([None, None], tf.int32, name=name)],
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", help="a trained run folder (else the standard configuration)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--bleu-sentences", type=int, default=300)
    parser.add_argument("--output")
    args = parser.parse_args()

    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (the SavedModel's tokenizer ops)
    from ai_edge_litert.interpreter import Interpreter

    from keras_seq import decoding
    from keras_seq.export import export_saved_model, export_tflite

    translator = RunFolder(args.run).load_translator() if args.run else standard_translator()
    strategies = translator.ids_strategies()
    rng = np.random.default_rng(0)
    vocab = translator.source_vocab_size
    one = np.zeros((1, translator.max_source_length), np.int32)
    one[0, :SOURCE_TOKENS] = rng.integers(4, vocab, SOURCE_TOKENS)
    batch = np.repeat(one, 64, axis=0)
    results = {"keras": {}, "saved_model": {}, "tflite": {}}

    for method, strategy in strategies.items():
        fn = ids_function(translator, strategy)
        single = median_ms(lambda f=fn: f(one), args.repeats)
        batched = median_ms(lambda f=fn: f(batch), max(3, args.repeats // 4))
        steps = int(fn(one)["lengths"][0, 0])
        results["keras"][method] = {
            "latency_ms": single,
            "batch64_sentences_per_second": 64 / batched * 1000,
            "decoded_steps": steps,
        }

    with tempfile.TemporaryDirectory() as tmp:
        saved = os.path.join(tmp, "saved_model")
        ids_only = not args.run
        if ids_only:
            tf.saved_model.save(
                translator,
                saved,
                signatures={
                    name: ids_function(translator, strategy, "source_ids")
                    for name, strategy in strategies.items()
                },
            )
        else:
            export_saved_model(translator, saved)
        loaded = tf.saved_model.load(saved)
        for method in strategies:
            signature = loaded.signatures[method]
            single = median_ms(lambda s=signature: s(source_ids=tf.constant(one)), args.repeats)
            batched = median_ms(
                lambda s=signature: s(source_ids=tf.constant(batch)), max(3, args.repeats // 4)
            )
            results["saved_model"][method] = {
                "latency_ms": single,
                "batch64_sentences_per_second": 64 / batched * 1000,
            }
        results["saved_model"]["size_bytes"] = sum(
            os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(saved) for f in fs
        )

        paths = export_tflite(translator, os.path.join(tmp, "tflite"))
        for name, path in paths.items():
            entry = {"size_bytes": os.path.getsize(path)}
            for threads in sorted({1, os.cpu_count() or 1}):
                runner = Interpreter(model_path=path, num_threads=threads).get_signature_runner()
                single = median_ms(lambda r=runner: r(source_ids=one), args.repeats)
                entry[f"threads_{threads}"] = {
                    "latency_ms": single,
                    "batch64_sentences_per_second": 1000 / single,
                }
            entry["decoded_steps"] = int(runner(source_ids=one)["lengths"][0, 0])
            results["tflite"][name] = entry
        if args.run:
            results["tflite_bleu"] = tflite_bleu(args, translator, paths)

    one_thread = {name: e["threads_1"]["latency_ms"] for name, e in results["tflite"].items()}
    results["beam_over_greedy_tflite"] = one_thread["beam.tflite"] / one_thread["greedy.tflite"]
    write_json(
        {
            "benchmark": "export_latency",
            "model": args.run or "standard configuration",
            "source_tokens": SOURCE_TOKENS,
            "max_steps": translator.max_target_length,
            "strategy": decoding.serialize(translator.strategy),
            "machine": machine(),
            "matmul_gflops_float32": matmul_gflops(),
            "results": results,
        },
        args.output,
    )


def tflite_bleu(args, translator, paths):
    """BLEU of each TFLite variant on the run's first test sentences."""
    from ai_edge_litert.interpreter import Interpreter

    from keras_seq.evaluation import corpus_scores

    with open(RunFolder(args.run)[RunFolder.TRANSLATIONS], encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))[: args.bleu_sentences]
    sources = [r["source"] for r in rows]
    references = [r["reference"] for r in rows]
    encoded = translator.source_tokenizer.tokenize(sources).to_list()
    scores = {}
    for name, path in paths.items():
        runner = Interpreter(model_path=path).get_signature_runner()
        hypotheses = []
        for tokens in encoded:
            ids = np.zeros((1, translator.max_source_length), np.int32)
            tokens = tokens[: translator.max_source_length]
            ids[0, : len(tokens)] = tokens
            out = runner(source_ids=ids)
            hypotheses.append(
                translator.target_tokenizer.detokenize(out["ids"][:, 0]).numpy()[0].decode()
            )
        scores[name] = corpus_scores(hypotheses, references)["bleu"]
    return scores


if __name__ == "__main__":
    main()
