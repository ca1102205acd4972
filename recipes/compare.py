"""What each architecture costs and gives, on the same data, budget and CPU: a comparison.

Trains each variant for the same number of epochs on the same pairs with the same
vocabulary: encoder cells simple RNN / GRU / LSTM, unidirectional and
bidirectional, Bahdanau / Luong / multi-head attention, and keras-hub's
Transformer. For each: parameters, training target tokens per second, peak
memory (each variant trains in a process of its own), validation and test BLEU
(sacreBLEU, greedy and beam), the greedy TFLite model's size and one-sentence
latency (float32 and int8, one thread).

    python recipes/compare.py                          # built-in data
    python recipes/compare.py --dataset ding           # Debian's trans-de-en, where installed
    python recipes/compare.py --quick --variants lstm_bi_luong transformer

Writes comparison.md (the table), comparison.json and comparison.png (test BLEU
against training time) into its run folder, and each variant as a preset in
variants/NAME/ (`ks.Translator.from_preset`; with multi-head attention,
heads.png: one test sentence's attention, the mean and each head). The same
command again resumes: finished variants are kept.
"""

import argparse
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_seq as ks  # noqa: E402
from keras_seq import cli, files  # noqa: E402

# name: (architecture, options); an RNN's `units` is per encoder direction.
VARIANTS = {
    "rnn_uni_luong": ("rnn", {"cell": "rnn", "bidirectional": False, "attention": "luong_general"}),
    "gru_uni_luong": ("rnn", {"cell": "gru", "bidirectional": False, "attention": "luong_general"}),
    "lstm_uni_luong": (
        "rnn",
        {"cell": "lstm", "bidirectional": False, "attention": "luong_general"},
    ),
    "lstm_bi_luong": ("rnn", {"cell": "lstm", "attention": "luong_general"}),
    "lstm_bi_bahdanau": ("rnn", {"cell": "lstm", "attention": "bahdanau"}),
    # Before the cell, as Bahdanau's: it learns faster there than after the cell.
    "lstm_bi_multihead": (
        "rnn",
        {"cell": "lstm", "attention": "multihead", "attend_before_cell": True},
    ),
    "transformer": ("transformer", {}),
}
# The Transformer (post-LN) trains at half the RNNs' learning rate; all warm up.
TRANSFORMER_LEARNING_RATE_SCALE = 0.5
WARMUP_STEPS = 200
SETTINGS = ("dataset", "num_pairs", "epochs", "batch_size", "vocab_size", "units",
            "layers", "learning_rate", "seed")  # fmt: skip
QUICK = {"num_pairs": 1500, "epochs": 2, "units": 32, "vocab_size": 300}
COLUMNS = [
    ("variant", "variant", "{}"),
    ("parameters", "parameters", "{:,}"),
    ("train tok/s", "target_tokens_per_second", "{:,.0f}"),
    ("train min", "train_seconds", "{:.1f}", 1 / 60),
    ("peak MB", "peak_rss_bytes", "{:,.0f}", 1e-6),
    ("val BLEU", "valid_bleu", "{:.2f}"),
    ("test BLEU greedy", "test_bleu_greedy", "{:.2f}"),
    ("test BLEU beam", "test_bleu_beam", "{:.2f}"),
    ("TFLite MB f32", "tflite_bytes_float32", "{:.2f}", 1e-6),
    ("TFLite MB int8", "tflite_bytes_int8", "{:.2f}", 1e-6),
    ("1-sentence ms f32", "latency_ms_float32", "{:.1f}"),
    ("1-sentence ms int8", "latency_ms_int8", "{:.1f}"),
]


# fmt: off
def build_parser():
    integer, number = cli.integer, cli.number
    parser = cli.parser(__doc__)
    data = parser.add_argument_group("data")
    add = data.add_argument
    add("--dataset", default="generated", help=" | ".join(ks.data.SPECS))
    add("--num-pairs", type=integer(10), default=12_000, help="pairs of --dataset generated")
    add("--vocab-size", type=integer(8), default=2000, help="of the one joint subword "
        "vocabulary every variant shares")
    model = parser.add_argument_group("model")
    add = model.add_argument
    add("--variants", nargs="+", choices=list(VARIANTS), metavar="NAME",
        help=f"only these (default: all of {', '.join(VARIANTS)})")
    add("--units", type=integer(1), default=128, help="RNN units per encoder direction; the "
        "Transformer's width is twice this")
    add("--layers", type=integer(1), default=2, help="Transformer layers on each side (the "
        "RNNs have one encoder and one decoder layer)")
    training = parser.add_argument_group("training")
    add = training.add_argument
    add("--epochs", type=integer(1), default=4, help="the budget, the same for every variant")
    add("--batch-size", type=integer(1), default=64, help="pairs per batch")
    add("--learning-rate", type=number(0, low_inclusive=False), default=2e-3,
        help="peak of the RNNs' schedule (the Transformer's is half)")
    add("--seed", type=integer(0), default=0, help="of the data split and the weights")
    run = parser.add_argument_group("run")
    cli.add_run_flags(run, quick="a small run of a few minutes")
    run.add_argument("--worker", choices=list(VARIANTS), help=argparse.SUPPRESS)  # a child's
    return parser
# fmt: on


def parse_args(argv):
    parser = build_parser()
    if "--quick" in argv:  # smaller defaults; flags given still win
        parser.set_defaults(**QUICK)
    args = parser.parse_args(argv)
    cli.check_output_dir(parser, args.output_dir)
    try:
        ks.data.check_spec(args.dataset)
    except ValueError as error:
        parser.error(f"argument --dataset: {error}")
    return args


def prepare(args, run):
    """The corpus and the joint preprocessor (saved in the run folder, reused by each variant)."""
    corpus = ks.data.load_corpus(args.dataset, seed=args.seed, num_pairs=args.num_pairs)
    vocab = run[ks.tasks.RunFolder.VOCAB]
    if os.path.isdir(vocab):
        preprocessor = ks.tasks.Seq2SeqPreprocessor.load(run.path)
    else:
        preprocessor = ks.tasks.Seq2SeqPreprocessor.from_pairs(
            corpus.train, vocab_size=args.vocab_size, joint=True
        )
        preprocessor.save(run.path)
        run.update_config(**preprocessor.get_config())
    return corpus, preprocessor


def build(name, args, preprocessor, total_steps):
    architecture, options = VARIANTS[name]
    if architecture == "transformer":
        sizes = {"hidden_dim": 2 * args.units, "num_layers": args.layers, "num_heads": 4}
    else:  # decoder units follow the encoder's output width
        sizes = {"embedding_dim": args.units, "units": args.units, **options}
    learning_rate = args.learning_rate
    if architecture == "transformer":
        learning_rate *= TRANSFORMER_LEARNING_RATE_SCALE
    translator = ks.Translator.build(preprocessor, "greedy", architecture, **sizes)
    return translator.compile(
        learning_rate=learning_rate, warmup_steps=WARMUP_STEPS, total_steps=total_steps
    )


def tflite_costs(translator, sentence):
    """Size and median one-sentence latency of the greedy TFLite model, float32 and int8."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    from keras_seq.export.tflite import convert

    module = translator.module()
    ids = module.tokenize([sentence])[0].numpy()
    ids = np.pad(ids, ((0, 0), (0, module.max_source_length - ids.shape[1])))  # the model's shape
    costs = {}
    for quantization in ("float32", "int8"):
        content = convert(module, ks.decoding.GreedySearch(), quantization)
        runner = Interpreter(model_content=content, num_threads=1).get_signature_runner()
        costs[f"tflite_bytes_{quantization}"] = len(content)
        costs[f"latency_ms_{quantization}"] = ks.profiling.median_ms(
            lambda runner=runner: runner(source_ids=ids), 20
        )
    return costs


def run_variant(name, args, run):
    """Trains and measures one variant (in a process of its own); returns its result."""
    import keras

    keras.utils.set_random_seed(args.seed)
    corpus, preprocessor = prepare(args, run)
    train, report = preprocessor.make_dataset(corpus.train, args.batch_size)  # as fit would
    translator = build(name, args, preprocessor, report.batches * args.epochs)
    with ks.profiling.PeakRSS() as peak:
        start = time.perf_counter()
        history = translator.fit(
            train,
            validation_data=corpus.valid,
            batch_size=args.batch_size,
            epochs=args.epochs,
            verbose=2,
        )
        seconds = time.perf_counter() - start
    valid_pairs, test_pairs = corpus.valid[:500], corpus.test[:1000]
    beam = ks.decoding.BeamSearch(4, 0.6)
    folder = os.path.join(run.path, "variants", name)
    translator.save_to_preset(folder)  # each variant's folder is a preset (from_preset)
    if ks.models.seq2seq_parts(translator.backbone).decoder.num_attention_heads:
        _, (heads,) = translator.translate([test_pairs[0][0]], return_attention="heads")
        ks.plots.plot_attention(*heads, os.path.join(folder, "heads.png"), test_pairs[0][0])
    return {
        "variant": name,
        "architecture": VARIANTS[name][0],
        "options": VARIANTS[name][1],
        "parameters": translator.backbone.count_params(),
        "train_seconds": seconds,
        "target_tokens_per_second": report.target_tokens * args.epochs / seconds,
        "peak_rss_bytes": peak.peak_bytes,
        "train_loss_curve": history.history["loss"],
        "valid_bleu": translator.score(valid_pairs, "greedy")["bleu"],
        "test_bleu_greedy": translator.score(test_pairs, "greedy")["bleu"],
        "test_bleu_beam": translator.score(test_pairs, beam)["bleu"],
        **tflite_costs(translator, test_pairs[0][0]),
    }


def write_report(results, run, settings, machine):
    """comparison.md, comparison.json and comparison.png."""
    lines = [
        "# Architectures on the same data and budget",
        "",
        f"Settings: {', '.join(f'{k}={settings[k]}' for k in SETTINGS)}. "
        f"Machine: {machine['processor']}, {machine['cpu_count']} cores, TensorFlow "
        f"{machine['tensorflow']}. Learning rate {settings['learning_rate']:g} (the "
        f"Transformer {settings['learning_rate'] * TRANSFORMER_LEARNING_RATE_SCALE:g}), "
        f"{WARMUP_STEPS} warmup steps, then cosine decay. Peak MB: the training process's "
        "resident set. Latency: the greedy TFLite model, one thread, one test sentence.",
        "",
        "| " + " | ".join(c[0] for c in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for result in results:
        cells = [c[2].format(result[c[1]] * (c[3] if len(c) > 3 else 1)) for c in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines) + "\n"
    files.write_bytes(run["comparison.md"], table.encode("utf-8"))
    files.write_json(
        run["comparison.json"], {"settings": settings, "machine": machine, "results": results}
    )
    ks.plots.plot_points(
        [(r["variant"], r["train_seconds"] / 60, r["test_bleu_beam"]) for r in results],
        run["comparison.png"],
        xlabel="training time (min)",
        ylabel="test BLEU (beam 4)",
        title=f"{settings['dataset']}, {settings['epochs']} epochs each",
    )
    return table


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    run = ks.tasks.RunFolder(cli.run_dir(args.output_dir, "compare"))
    settings = {k: getattr(args, k) for k in SETTINGS}
    if args.worker:
        result = run_variant(args.worker, args, run)
        files.write_json(os.path.join(run.path, "variants", args.worker, "result.json"), result)
        return 0
    try:
        cli.check_resumable(run, settings, SETTINGS)
        os.makedirs(run.path, exist_ok=True)
        run.update_config(**settings)
        prepare(args, run)  # the corpus and the shared vocabulary, once, before the variants
    except (ValueError, OSError, ImportError) as error:
        return cli.fail(error)
    results = []
    for name in args.variants or list(VARIANTS):
        path = os.path.join(run.path, "variants", name, "result.json")
        if os.path.exists(path):
            print(f"{name}: done earlier", flush=True)
        else:
            print(f"{name}: training", flush=True)
            worker = [sys.executable, os.path.abspath(__file__), *argv, "--worker", name,
                      "--output-dir", run.path]  # fmt: skip
            if subprocess.run(worker).returncode != 0:
                return cli.fail(f"variant {name} failed (its output is above)")
        results.append(files.read_json(path))
    table = write_report(results, run, settings, ks.profiling.machine())
    print(table)
    print(f"Run folder: {run.path} (comparison.md, comparison.json, comparison.png)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
