"""How the way a decoder is fed in training changes what it learns: a teacher-forcing study.

Trains the same model with always teacher forcing, never (free running), a fixed
0.5 mix, and each scheduled-sampling schedule fed in a loop and in two parallel
passes, then compares them:

    python recipes/teacher_forcing_study.py                 # built-in data
    python recipes/teacher_forcing_study.py --quick         # a few minutes
    python recipes/teacher_forcing_study.py --dataset tsv:deu.txt --output-dir runs/study

For each variant: the training-loss curve, the validation loss teacher-forced and
free-running (each token predicted from the model's own greedy prefix), the
token accuracy both ways and their gap (exposure bias made visible), greedy and
beam BLEU, and wall time. Writes study.md (a Markdown table), results.json and
PNG plots into its run folder. Running the same command again resumes: finished
variants are kept, an interrupted one continues from its last epoch.
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_seq as ks  # noqa: E402
from keras_seq import cli, files  # noqa: E402

SCHEDULE_SPECS = ("linear", "cosine", "exponential", "inverse_sigmoid")
FIXED = {"teacher_forcing": 0.0, "free_running": 1.0, "mix_0.5": 0.5}


def variants(total_steps):
    """`{name: (schedule, scheduled_sampling)}` of every variant of the study."""
    found = {name: (ks.schedules.Constant(p), "loop") for name, p in FIXED.items()}
    settings = {
        "linear": {"duration": total_steps},
        "cosine": {"duration": total_steps},
        # Teacher forcing falls to about 5 % by the end of the run.
        "exponential": {"rate": 0.05 ** (1 / total_steps)},
        # Teacher forcing near 1 for the first third, about 0.1 at the end.
        "inverse_sigmoid": {"k": max(1.0, total_steps / 8)},
    }
    for name in SCHEDULE_SPECS:
        schedule = ks.schedules.SCHEDULES[name](**settings[name])
        for feeding in ks.layers.SCHEDULED_SAMPLINGS:
            found[f"{name}_{feeding}"] = (schedule, feeding)
    return found


def build_parser():
    integer = cli.integer
    parser = cli.parser(__doc__)
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", default="generated", help=" | ".join(ks.data.SPECS))
    data.add_argument("--num-pairs", type=integer(1), default=20_000,
                      help="pairs of --dataset generated")  # fmt: skip
    data.add_argument("--vocab-size", type=integer(8), default=1000,
                      help="of the one joint subword vocabulary")  # fmt: skip
    data.add_argument("--max-length", type=integer(1), default=32,
                      help="subword tokens; longer pairs are filtered")  # fmt: skip
    study = parser.add_argument_group("model and training")
    study.add_argument("--variants", nargs="+", metavar="NAME",
                       help="only these feeding variants (default: all)")  # fmt: skip
    study.add_argument("--units", type=integer(1), default=96,
                       help="embedding width and units of every variant")  # fmt: skip
    study.add_argument("--epochs", type=integer(1), default=4, help="the same for every variant")
    study.add_argument("--batch-size", type=integer(1), default=64, help="pairs per batch")
    study.add_argument("--seed", type=integer(0), default=0,
                       help="of the data split and the weights")  # fmt: skip
    cli.add_run_flags(parser.add_argument_group("run"), quick="a small run of a few minutes")
    return parser


def parse_args(argv):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.quick:
        args.num_pairs, args.epochs, args.units, args.vocab_size = 3000, 2, 32, 300
    cli.check_output_dir(parser, args.output_dir)
    known = set(variants(1))
    unknown = sorted(set(args.variants or ()) - known)
    if unknown:
        parser.error(f"argument --variants: unknown {unknown}; choose from {sorted(known)}")
    try:
        ks.data.check_spec(args.dataset)
    except ValueError as error:
        parser.error(f"argument --dataset: {error}")
    return args


def free_running_scores(model, dataset):
    """Loss and token accuracy of the gold labels when each token follows the greedy prefix.

    The decoder is fed its own greedy output (`[start, greedy[:-1]]`), as at
    inference, and scored on the gold labels at every real position: what
    teacher-forced validation hides (exposure bias).
    """
    import numpy as np
    from keras import ops

    decoder = ks.models.seq2seq_parts(model).decoder
    loss_metric, accuracy_metric = ks.metrics.Perplexity(), ks.metrics.MaskedAccuracy()
    for inputs, labels in dataset:
        state = ks.models.encode(model, inputs["source_ids"])
        length = labels.shape[1]
        start = ops.full((labels.shape[0],), ks.START_ID, "int32")
        greedy = ks.decoding.GreedySearch()(decoder.step, start, state, length, ks.END_ID)
        fed = np.concatenate([np.asarray(start)[:, None], np.asarray(greedy.ids[:, 0, :-1])], 1)
        logits, _ = decoder.decode_sequence(fed, state)
        loss_metric.update_state(labels, logits)
        accuracy_metric.update_state(labels, logits)
    return float(np.log(loss_metric.result())), float(accuracy_metric.result())


def run_variant(name, schedule, feeding, args, data, folder):
    """Trains and evaluates one variant in `folder`; returns its result dict."""
    import keras

    from keras_seq import evaluation, training

    keras.utils.set_random_seed(args.seed)
    model = ks.models.build_seq2seq(
        data["source"].vocab_size,
        data["target"].vocab_size,
        embedding_dim=args.units,
        units=args.units,
        attention="luong_general",
        scheduled_sampling=feeding,
        seed=args.seed,
    )
    training.compile_seq2seq(model, learning_rate=3e-3, total_steps=data["steps"])
    callbacks = ks.callbacks.standard_callbacks(
        folder, patience=args.epochs, tensorboard=False, sampling_schedule=schedule
    )
    timer = ks.callbacks.TrainingTimer()
    start = time.perf_counter()
    history = model.fit(
        data["train"],
        validation_data=data["valid"],
        epochs=args.epochs,
        callbacks=[*callbacks, timer],
        verbose=0,
        shuffle=False,
    )
    wall = time.perf_counter() - start
    teacher_forced = model.evaluate(data["valid"], verbose=0, return_dict=True)
    free_loss, free_accuracy = free_running_scores(model, data["valid"])
    sources = [s for s, _ in data["test"]]
    references = [t for _, t in data["test"]]
    bleu = {}
    for strategy in (ks.decoding.GreedySearch(), ks.decoding.BeamSearch(5, 0.6)):
        hypotheses, _ = evaluation.translate_texts(
            model,
            sources,
            data["source"],
            data["target"],
            args.max_length,
            args.max_length,
            strategy=strategy,
        )
        bleu[strategy.name] = evaluation.corpus_scores(hypotheses, references)["bleu"]
    with open(os.path.join(folder, "history.csv")) as f:
        rows = f.read().splitlines()
    header = rows[0].split(",")
    curve = [float(row.split(",")[header.index("loss")]) for row in rows[1:]]
    return {
        "variant": name,
        "schedule": ks.schedules.serialize(schedule)["config"] | {"class": type(schedule).__name__},
        "scheduled_sampling": feeding,
        "train_loss_curve": curve,
        "final_sampling_probability": history.history.get("sampling_probability", [None])[-1],
        "valid_loss_teacher_forced": teacher_forced["loss"],
        "valid_loss_free_running": free_loss,
        "token_accuracy_teacher_forced": teacher_forced["token_accuracy"],
        "token_accuracy_free_running": free_accuracy,
        "exposure_gap": teacher_forced["token_accuracy"] - free_accuracy,
        "bleu_greedy": bleu["greedy"],
        "bleu_beam": bleu["beam"],
        "wall_seconds_this_session": wall,
        "train_step_seconds_this_session": timer.seconds,
    }


def prepare(args, run_dir):
    """Corpus, tokenizers (saved in the run folder and reused) and pipelines."""
    corpus = ks.data.load_corpus(args.dataset, seed=args.seed, num_pairs=args.num_pairs)
    source, target = (
        ks.data.SubwordTokenizer.load_or_train(
            os.path.join(run_dir, "vocab", name), [p[side] for p in corpus.train], args.vocab_size
        )
        for side, name in enumerate(("source", "target"))
    )

    def dataset(pairs, shuffle):
        batch_size = min(args.batch_size, len(pairs))
        return ks.data.make_dataset(
            pairs, source, target, batch_size, args.max_length, args.max_length, shuffle=shuffle
        )

    (train, report), (valid, _) = dataset(corpus.train, True), dataset(corpus.valid, False)
    return {
        "source": source,
        "target": target,
        "train": train,
        "valid": valid,
        "test": corpus.test,
        "steps": report.batches * args.epochs,
    }


def write_report(results, run_dir):
    """study.md (the table), curves.png and exposure_bias.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = [
        ("variant", "variant", "{}"),
        ("valid loss TF", "valid_loss_teacher_forced", "{:.3f}"),
        ("valid loss FR", "valid_loss_free_running", "{:.3f}"),
        ("token acc TF", "token_accuracy_teacher_forced", "{:.3f}"),
        ("token acc FR", "token_accuracy_free_running", "{:.3f}"),
        ("gap", "exposure_gap", "{:.3f}"),
        ("BLEU greedy", "bleu_greedy", "{:.2f}"),
        ("BLEU beam", "bleu_beam", "{:.2f}"),
        ("train s", "train_step_seconds_this_session", "{:.0f}"),
    ]
    lines = [
        "# Teacher-forcing study",
        "",
        "TF: teacher-forced (gold prefix); FR: free-running (the model's own greedy prefix). "
        "gap = token accuracy TF - FR. Train s: seconds of training steps in the session "
        "that trained the variant.",
        "",
        "| " + " | ".join(c[0] for c in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for result in results:
        lines.append("| " + " | ".join(f.format(result[k]) for _, k, f in columns) + " |")
    with open(os.path.join(run_dir, "study.md"), "w") as f:
        f.write("\n".join(lines) + "\n")

    figure, axes = plt.subplots(figsize=(8, 5))
    for result in results:
        curve = result["train_loss_curve"]
        axes.plot(range(1, len(curve) + 1), curve, marker="o", label=result["variant"])
    axes.set_xlabel("epoch")
    axes.set_ylabel("training loss")
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(os.path.join(run_dir, "curves.png"), dpi=100)
    plt.close(figure)

    figure, axes = plt.subplots(figsize=(8, 4))
    names = [r["variant"] for r in results]
    positions = range(len(results))
    axes.bar(
        [p - 0.2 for p in positions],
        [r["token_accuracy_teacher_forced"] for r in results],
        0.4,
        label="teacher-forced",
    )
    axes.bar(
        [p + 0.2 for p in positions],
        [r["token_accuracy_free_running"] for r in results],
        0.4,
        label="free-running",
    )
    axes.set_xticks(list(positions), names, rotation=60, ha="right", fontsize=7)
    axes.set_ylabel("validation token accuracy")
    axes.legend()
    figure.tight_layout()
    figure.savefig(os.path.join(run_dir, "exposure_bias.png"), dpi=100)
    plt.close(figure)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    run_dir = args.output_dir or os.path.join("runs", time.strftime("study-%Y%m%d-%H%M%S"))
    os.makedirs(run_dir, exist_ok=True)
    try:
        data = prepare(args, run_dir)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    chosen = variants(data["steps"])
    names = args.variants or list(chosen)
    results = []
    for name in names:
        folder = os.path.join(run_dir, "variants", name)
        result_path = os.path.join(folder, "result.json")
        if os.path.exists(result_path):
            print(f"{name}: done earlier")
        else:
            print(f"{name}: training", flush=True)
            os.makedirs(folder, exist_ok=True)
            result = run_variant(name, *chosen[name], args, data, folder)
            files.write_json(result_path, result)
        results.append(files.read_json(result_path))
    files.write_json(os.path.join(run_dir, "results.json"), results)
    write_report(results, run_dir)
    with open(os.path.join(run_dir, "study.md")) as f:
        print(f.read())
    print(f"Run folder: {run_dir} (study.md, results.json, curves.png, exposure_bias.png)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
