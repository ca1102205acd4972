"""Train, evaluate and export an attention translator: keras_seq's main job.

With no arguments it trains an English->German model on the built-in generated
data (numbers, dates, money, relative times), evaluates it with greedy and beam
search (sacreBLEU), and writes everything to one run folder, which is also the
translator's preset (`ks.Translator.from_preset(RUN)`):

    python recipes/translate.py                      # the default run
    python recipes/translate.py --quick              # a one-minute smoke run
    python recipes/translate.py --dataset tsv:deu.txt --output-dir runs/deu

Running the same command on an existing run folder resumes an interrupted run
from its last finished epoch; a finished run says so and stops.
"""

import argparse
import os
import sys

# TensorFlow's C++ info and warning logs drown the run's own output; errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_seq as ks  # noqa: E402
from keras_seq import cli  # noqa: E402
from keras_seq.tasks import RunFolder, Seq2SeqPreprocessor, Translator  # noqa: E402

# None: chosen from the corpus (`keras_seq.presets`) unless a flag or --preset sets it.
# fmt: off
DEFAULTS = {
    "dataset": "generated", "architecture": "rnn", "preset": None, "num_pairs": 120_000,
    "vocab_size": None, "max_source_length": None, "max_target_length": None, "embedding_dim": None,
    "units": None, "encoder_layers": None, "decoder_layers": None, "cell": None,
    "attention": "luong_general", "num_heads": 4, "attend_before_cell": None,
    "input_feeding": False, "bridge": "last", "dropout": None,
    "batch_size": None, "epochs": None, "learning_rate": None, "warmup_steps": 200,
    "clipnorm": 1.0, "clipvalue": 0.0, "global_clipnorm": 0.0, "accumulate_steps": 1,
    "label_smoothing": None, "average_checkpoints": None, "time_budget": None, "patience": 3,
    "monitor": "val_bleu", "val_bleu_pairs": 500, "beam_size": None, "length_penalty": None,
    "seed": 0, "precision": None, "distribution": "auto", "jit_compile": False,
    "scheduled_sampling": "loop", "sampling_schedule": None, "curriculum_epochs": 0,
    "lowercase": False, "joint_vocab": None, "encoding": "auto", "tie_embeddings": None,
    "word_dropout": None, "subword_dropout": None, "ema_momentum": None,
}
# What a run folder written before a setting existed had: it resumes with that.
LEGACY = {
    "joint_vocab": False, "tie_embeddings": False, "word_dropout": 0.0, "subword_dropout": 0.0,
    "ema_momentum": 0.0,
}
QUICK = {
    "num_pairs": 3000, "epochs": 2, "embedding_dim": 32, "units": 32, "batch_size": 64,
    "vocab_size": 300, "warmup_steps": 10, "beam_size": 5, "length_penalty": 0.6,
}
# Settings that define the model and its data: a resumed run must keep them.
MODEL_SETTINGS = (
    "dataset", "architecture", "num_pairs", "vocab_size", "max_source_length", "max_target_length",
    "embedding_dim", "units", "encoder_layers", "decoder_layers", "cell", "attention",
    "num_heads", "attend_before_cell", "input_feeding", "bridge", "seed", "lowercase",
    "joint_vocab", "encoding", "tie_embeddings",
)
# The run's settings that `build_seq2seq` takes under the same name.
BACKBONE = ("embedding_dim", "units", "encoder_layers", "decoder_layers", "cell", "attention",
            "num_heads", "attend_before_cell", "dropout", "input_feeding", "bridge",
            "scheduled_sampling", "seed", "tie_embeddings", "word_dropout")
# What `compile_seq2seq` takes under the same name.
OPTIMIZATION = ("learning_rate", "warmup_steps", "clipnorm", "clipvalue", "global_clipnorm",
                "accumulate_steps", "label_smoothing", "jit_compile", "ema_momentum")
# fmt: on


# The rule: `keras_seq.presets` chooses the setting from the corpus (README, "Translation").
RULE = "the preset's, chosen from the corpus"


# fmt: off
def build_parser():
    integer, number, boolean = cli.integer, cli.number, argparse.BooleanOptionalAction
    parser = cli.parser(__doc__, DEFAULTS)
    data = parser.add_argument_group("data")
    add = data.add_argument
    add("--dataset", help=f"{' | '.join(ks.data.SPECS)} (default: generated, the built-in "
        "numbers, dates, money and relative times)")
    add("--valid-data", metavar="FILE", help="TSV file of validation pairs (with --dataset "
        "tsv:...; default: a split of the training file)")
    add("--test-data", metavar="FILE", help="TSV file of test pairs (with --dataset tsv:...; "
        "default: a split of the training file)")
    add("--num-pairs", type=integer(10), help="pairs made by --dataset generated")
    add("--encoding", type=cli.encoding, help="of the TSV files (default auto: UTF-8, or "
        "Latin-1 for a file that is not UTF-8)")
    add("--vocab-size", type=integer(8), help="subword vocabulary size: of the one joint "
        "vocabulary, or of each language's without --joint-vocab (default: the rule's, about "
        "a third of the corpus' distinct words)")
    add("--joint-vocab", action=boolean, help="one subword vocabulary learned from both "
        f"languages (default: {RULE}; on for small)")
    add("--lowercase", action="store_true", default=None, help="case-fold both vocabularies: "
        "lower-case output, scored lower-cased")
    add("--max-source-length", type=integer(1), help="subword tokens; longer pairs are "
        "filtered (default: what 99.5 %% of the training pairs fit)")
    add("--max-target-length", type=integer(2), help="subword tokens, end token included "
        "(default: what 99.5 %% of the training pairs fit)")

    model = parser.add_argument_group("model")
    add = model.add_argument
    add("--preset", choices=sorted(ks.presets.PRESETS), help="model size and training "
        "budget (default: chosen from the corpus: tiny, small or base)")
    add("--architecture", choices=ks.tasks.ARCHITECTURES, help="rnn (default): the "
        "attention encoder-decoder; transformer: keras-hub's, as a baseline (width --units, "
        "--encoder-layers layers a side, --num-heads heads)")
    add("--embedding-dim", type=integer(1), help=f"width of the token embeddings "
        f"(default: {RULE})")
    add("--units", type=integer(1), help=f"units of each encoder direction (default: {RULE})")
    add("--encoder-layers", type=integer(1), help=f"stacked bidirectional encoder layers "
        f"(default: {RULE})")
    add("--decoder-layers", type=integer(1), help=f"stacked decoder layers (default: {RULE})")
    add("--cell", choices=ks.layers.CELLS, help=f"recurrent cell (default: {RULE}: lstm; "
        "gru for the narrow model a short budget gets)")
    add("--attention", choices=ks.layers.ATTENTIONS, metavar="NAME", help="attention of the "
        f"decoder: {', '.join(ks.layers.ATTENTIONS)}")
    add("--num-heads", type=integer(1), help="heads of --attention multihead and of the "
        "transformer")
    add("--attend-before-cell", action=boolean, help="attention before the decoder cell, "
        "Bahdanau style (default: only for bahdanau)")
    add("--input-feeding", action="store_true", default=None, help="feed the previous "
        "attentional output to the decoder cell (Luong et al. 2015; off by default)")
    add("--bridge", choices=ks.layers.BRIDGES, help="encoder final states to decoder "
        "initial state")
    add("--tie-embeddings", action=boolean, help="the output projection shares the target "
        f"embedding (default: {RULE}; on for small)")
    add("--dropout", type=number(0, 1), help=f"dropout rate (default: {RULE})")
    add("--word-dropout", type=number(0, 1), metavar="P", help="drop each source and "
        "previous-target token's whole embedding with probability P (default 0)")

    training = parser.add_argument_group("training")
    add = training.add_argument
    add("--batch-size", type=integer(1), help=f"pairs per batch (default: {RULE})")
    add("--epochs", type=integer(1), help=f"epochs planned (default: {RULE}; the time "
        "budget may end training sooner)")
    add("--learning-rate", type=number(0, low_inclusive=False), help="peak, after warmup, "
        f"then a cosine decay (default: {RULE})")
    add("--warmup-steps", type=integer(0), help="steps of linear warmup to the peak "
        "learning rate")
    add("--label-smoothing", type=number(0, 1), help=f"of the loss (default: {RULE})")
    add("--ema-momentum", type=number(0, 1), metavar="X", help="validate, keep and export "
        "the exponential moving average of the weights with this momentum (0 = off; "
        f"default: {RULE}: 0.998 for small, else 0)")
    add("--subword-dropout", type=number(0, 1), metavar="P", help="segment each epoch's "
        "training pairs anew, skipping each subword merge with probability P (BPE-dropout; "
        "default 0)")
    add("--clipvalue", type=number(0), help="clip each gradient value instead (0 = off)")
    add("--accumulate-steps", type=integer(1), help="batches summed per optimizer update")
    cli.add_training_flags(training, {
        "average_checkpoints": f"{RULE}: 5, or 0 for tiny",
        "time_budget": f"{RULE}: 50 for small, else none",
    })
    add("--monitor", choices=["val_bleu", "val_loss"], help="what early stopping and the "
        "best checkpoint follow")
    add("--val-bleu-pairs", type=integer(0), help="validation pairs decoded each epoch for "
        "val_bleu (default 500; 0 = off)")
    add("--precision", choices=ks.training.PRECISIONS, metavar="POLICY", help="dtype policy: "
        f"{', '.join(ks.training.PRECISIONS)} (default: {RULE}; auto: bfloat16 on a CPU that "
        "computes it, float16 on a GPU)")
    cli.add_strategy_flag(add)
    add("--jit-compile", action="store_true", default=None, help="compile the train step "
        "with XLA (off by default)")
    add("--scheduled-sampling", choices=ks.layers.SCHEDULED_SAMPLINGS, help="feed the "
        "decoder its own tokens in a loop over steps, or in two parallel passes")
    add("--sampling-schedule", metavar="NAME[:KEY=VALUE,...]", help="scheduled-sampling "
        f"schedule, one of {', '.join(ks.schedules.SCHEDULES)}, e.g. "
        "inverse_sigmoid:k=300,ceiling=0.5 or linear (duration: the whole run; default: none)")
    add("--curriculum-epochs", type=integer(0), help="short pairs first: widen the length "
        "limit over this many epochs (0 = off)")

    decoding = parser.add_argument_group("decoding")
    add = decoding.add_argument
    add("--beam-size", type=integer(1), help="beam width of the test translations and the "
        "exports (default: the best of 3, 5, 8 on validation pairs)")
    add("--length-penalty", type=number(0), help="GNMT alpha, 0 = none (default: the best "
        "of 0, 0.6, 1.0 on validation pairs)")

    export = parser.add_argument_group("export")
    add = export.add_argument
    add("--no-export", action="store_true", help="skip the SavedModel and TFLite export")
    cli.add_quantizations_flag(add)
    add("--no-report", action="store_true", help="skip report/index.html (the attention "
        "gallery)")

    run = parser.add_argument_group("run")
    cli.add_run_flags(run, quick="a smoke run of about a minute")
    run.add_argument("--evaluate", metavar="RUN", help="instead of training: score the "
        "finished run RUN (model, SavedModel, TFLite) on --test-data FILE, as `keras-seq "
        "evaluate RUN FILE`")
    return parser
# fmt: on


def parse_args(argv):
    """`(config, output_dir)`; every flag and the data spec checked, argparse-style errors."""
    parser = build_parser()
    args = parser.parse_args(argv)
    config = {**DEFAULTS, **(QUICK if args.quick else {})}
    config.update({k: getattr(args, k) for k in DEFAULTS if getattr(args, k) is not None})
    config.update(
        quick=args.quick,
        valid_data=args.valid_data,
        test_data=args.test_data,
        export=not args.no_export,
        quantizations=args.quantizations,
        report=not args.no_report,
        evaluate=args.evaluate,
    )
    if args.evaluate is not None:
        if args.test_data is None or not os.path.isfile(args.test_data):
            parser.error(f"argument --evaluate: needs --test-data FILE (got {args.test_data!r})")
        return config, args.evaluate
    try:
        ks.data.check_spec(config["dataset"], config["valid_data"], config["test_data"])
    except ValueError as error:
        parser.error(f"argument --dataset: {error}")
    try:
        sampling_schedule(config, total_steps=1)
    except ValueError as error:
        parser.error(f"argument --sampling-schedule: {error}")
    cli.check_clipping(parser, config, args.clipnorm, others=("clipvalue", "global_clipnorm"))
    if config["architecture"] == "transformer":
        for flag in ("sampling_schedule", "tie_embeddings", "word_dropout"):
            if config[flag]:
                parser.error(
                    f"argument --{flag.replace('_', '-')}: the recurrent decoder's, "
                    "not the transformer's"
                )
        config["report"] = False  # the page is about attention maps, which it does not record
    if config["monitor"] == "val_bleu" and not config["val_bleu_pairs"]:
        parser.error("argument --monitor: val_bleu needs --val-bleu-pairs above 0")
    cli.check_output_dir(parser, args.output_dir)
    return config, args.output_dir


def backbone_options(config):
    """`Translator.build`'s options for the run's architecture."""
    if config["architecture"] == "transformer":
        return {
            "hidden_dim": config["units"],
            "num_heads": config["num_heads"],
            "num_layers": max(config["encoder_layers"], config["decoder_layers"]),
            "dropout": config["dropout"],
        }
    return {k: config[k] for k in BACKBONE}


def sampling_schedule(config, total_steps):
    """The run's scheduled-sampling schedule (None: none); its duration defaults to the run."""
    spec = config["sampling_schedule"]
    if not spec:
        return None
    per_epoch = "per=epoch" in spec.replace(" ", "")
    epochs = config["epochs"] or 1  # checked before the data has chosen the epochs
    return ks.schedules.parse(spec, duration=epochs if per_epoch else total_steps)


def auto_settings(config, corpus, output_dir):
    """Fills the settings left to the data (None): a resumed run's from its config.json
    (even where the rule has changed since), else from the corpus; prints the choice.
    Returns the settings the rule chose (none when a preset was asked for)."""
    cli.earlier_choices(config, output_dir, [k for k in DEFAULTS if k != "preset"], LEGACY)
    stats = ks.presets.CorpusStats.of(corpus.train)
    asked = config["preset"] or ("tiny" if config["dataset"] == "generated" else None)
    settings, preset = ks.presets.auto_settings(stats, asked, joint=config["joint_vocab"])
    chosen = {k: v for k, v in settings.items() if config[k] is None}
    how = "as asked" if config["preset"] else "the built-in data's" if asked else "by the rule"
    config.update(chosen, preset=preset)
    if how == "by the rule" and "dropout" in chosen and not config["time_budget"]:
        # Every planned epoch is trained (with a budget, the timed probe decides).
        chosen["dropout"] = config["dropout"] = epochs_dropout(config, config["epochs"])
    print(f"Corpus: {stats.describe()} -> preset {preset} ({how}).")
    print("  from the data: " + (", ".join(f"{k} {v}" for k, v in chosen.items()) or "nothing"))
    return chosen if how == "by the rule" else {}


def fit_size_to_budget(config, run, preprocessor, data, by_rule):
    """The rule's model size, or the narrow one (`ks.presets.narrow_for_budget`) where a
    timed probe of the rule's fits too few epochs in the time budget on this machine; and
    the rule's dropout for the epochs that fit (`ks.presets.dropout_for_epochs`). Only
    where `probed` says so; in the distribution's scope. Keras is seeded again after the
    probe, and config.json gets the size and dropout decided."""
    import keras

    if not probed(config, by_rule):
        return
    probe = Translator.build(preprocessor, "greedy", **backbone_options(config))
    probe.compile(**{k: config[k] for k in OPTIMIZATION}, total_steps=training_steps(config, data))
    step = ks.training.seconds_per_step(probe.backbone, data.train)
    del probe
    keras.utils.set_random_seed(config["seed"])  # the model trained starts as without a probe
    minutes = step * data.train_report.batches / 60
    fits = int(config["time_budget"] / minutes)
    print(
        f"  timed: an epoch of {config['units']} units' training steps takes about "
        f"{minutes:.1f} min here, {fits} of them in the {config['time_budget']:g}-minute budget"
    )
    if ks.presets.narrow_for_budget(config, minutes * 60, config["time_budget"]):
        config.update(ks.presets.NARROW)
        print(
            f"  fewer than {ks.presets.FEWEST_EPOCHS}: the narrow model instead, "
            + ", ".join(f"{k} {v}" for k, v in ks.presets.NARROW.items())
        )
    elif "dropout" in by_rule:
        dropout = epochs_dropout(config, min(fits, config["epochs"]))
        if dropout != config["dropout"]:
            print(f"  {ks.presets.LONG_RUN_EPOCHS} epochs or more: dropout {dropout}")
        config["dropout"] = dropout
    run.write_json(RunFolder.CONFIG, config)  # the size decided: what a resumed run keeps


def epochs_dropout(config, epochs):
    """The rule's dropout for a run of `epochs` epochs (`ks.presets.dropout_for_epochs`)."""
    return ks.presets.dropout_for_epochs(config["preset"], config["dropout"], epochs)


def probed(config, by_rule):
    """Whether `fit_size_to_budget` times the model: the rule chose its size (`by_rule`),
    the architecture is the RNN and a time budget is set."""
    sized = all(k in by_rule for k in ks.presets.NARROW) and config["architecture"] == "rnn"
    return bool(sized and config["time_budget"])


def prepare(config, output_dir):
    """`(corpus, run, by_rule)`: the data loaded, the settings it chooses (`by_rule`: those
    the rule chose), the run folder written. A size the probe is still to decide is written
    as null, so that a run stopped before the probe ends probes again when resumed."""
    corpus = ks.data.load_corpus(
        config["dataset"], config["valid_data"], config["test_data"], seed=config["seed"],
        num_pairs=config["num_pairs"], encoding=config["encoding"],
    )  # fmt: skip
    by_rule = auto_settings(config, corpus, output_dir)
    run = RunFolder(cli.run_dir(output_dir, "translate"))
    decided = [*ks.presets.NARROW, *(["dropout"] if "dropout" in by_rule else [])]
    pending = {k: config[k] for k in decided} if probed(config, by_rule) else {}
    config.update(dict.fromkeys(pending))
    cli.start_run(run, config, MODEL_SETTINGS, {**DEFAULTS, **LEGACY})
    config.update(pending)
    return corpus, run, by_rule


def preprocessor_of(config, corpus, run):
    """The run's tokenizers (learned, or reloaded when resuming) and length limits (from
    the data where not set), saved in the run folder."""
    keys = ("max_source_length", "max_target_length")
    preprocessor = Seq2SeqPreprocessor.for_run(
        run.path, corpus.train, config["vocab_size"], config["joint_vocab"], config["lowercase"],
        **{key: config[key] for key in keys},
    )  # fmt: skip
    for key in keys:
        if config[key] is None:
            config[key] = getattr(preprocessor, key)
            print(f"  {key} {config[key]} (99.5 % of the training pairs fit)")
    run.write_json(RunFolder.CONFIG, config)
    return preprocessor


def training_steps(config, data):
    """Optimizer updates of the whole run (the learning-rate schedule's length)."""
    return -(-data.train_report.batches * config["epochs"] // config["accumulate_steps"])


def train(config, run, translator, data):
    """Trains `translator` (or reuses a finished training); returns the training summary."""
    callbacks = translator.training_callbacks(
        run.path, data.corpus.valid, config["patience"], config["monitor"],
        sampling_schedule(config, training_steps(config, data)), config["val_bleu_pairs"],
        keep_epochs=config["average_checkpoints"], time_budget=config["time_budget"],
    )  # fmt: skip
    average = config["average_checkpoints"] >= 2
    summary = run.train(
        translator, data.train, data.valid, config["epochs"], [*callbacks, *data.callbacks],
        average=(validation_pairs(config, data.corpus), "BLEU") if average else None,
        verbose=2 if config["quick"] else "auto",
    )  # fmt: skip
    # Label tokens (end ids included) of the epochs run, per second of training steps.
    tokens = data.train_report.target_tokens * summary["epochs_run_this_session"]
    seconds = max(summary["train_step_seconds"], 1e-9)
    return {**summary, "target_tokens_per_second": tokens / seconds}


def validation_pairs(config, corpus):
    return corpus.valid[: config["val_bleu_pairs"] or 500]


def choose_beam(config, run, translator, corpus):
    """Beam size and length penalty left to the data: the grid's best on validation pairs.
    Returns the grid's results, or None when the flags set both."""
    if config["beam_size"] is not None and config["length_penalty"] is not None:
        return None
    results = translator.tune_decoding(
        validation_pairs(config, corpus),
        config["beam_size"],
        config["length_penalty"],
        callback=lambda r: print(
            f"  beam {r['beam_size']}, length penalty {r['length_penalty']}: "
            f"validation BLEU {r['bleu']:.2f}"
        ),
    )
    config.update(
        beam_size=translator.strategy.beam_size, length_penalty=translator.strategy.length_penalty
    )
    run.write_json(RunFolder.CONFIG, config)
    print(f"Beam search: size {config['beam_size']}, length penalty {config['length_penalty']}.")
    return results


def finish(config, run):
    """A run evaluated already: writes its export and report where they are missing."""
    missing_export = config["export"] and not all(
        os.path.exists(run[name]) for name in (RunFolder.SAVED_MODEL, RunFolder.TFLITE)
    )
    missing_report = config["report"] and not os.path.exists(run[RunFolder.REPORT])
    if missing_export:
        print(f"{run.path} is trained and evaluated; exporting it.")
        translator = Translator.from_preset(run.path)
        exported = translator.export(run.path, quantizations=config["quantizations"])
        print(f"  {exported['saved_model']}\n  {run[RunFolder.TFLITE]}")
    if missing_report:
        write_report(run)
    if not (missing_export or missing_report):
        print(f"This run has finished already; its results are in {run.path}.")
    return 0


def write_report(run):
    found = ks.report.write_report(run.path)
    print(
        f"  {found['path']}  (scores, curves, attention of {found['sentences']} test sentences: "
        f"{found['monotonic']} monotonic, {found['reordering']} reordering)"
    )


def print_summary(config, run, metrics, scores, exported):
    """Prints the score table and where everything is."""
    print(f"\n  {'':<12}{'greedy':>10}{'beam ' + str(config['beam_size']):>12}")
    for name, key in (("BLEU", "bleu"), ("chrF", "chrf"), ("exact match", "exact_match")):
        print(f"  {name:<12}{scores['greedy'][key]:>10.2f}{scores['beam'][key]:>12.2f}")
    print(
        f"  test perplexity {metrics['perplexity']:.3f}, trained "
        f"{metrics['train_seconds'] / 60:.1f} min, "
        f"{metrics['target_tokens_per_second']:.0f} target tokens/s"
    )
    print(f"\nRun folder (ks.Translator.from_preset loads it): {run.path}")
    for name in RunFolder.RESULTS:
        if os.path.exists(run[name]):  # a Transformer's run has no attention/
            print(f"  {run[name]}")
    if exported:
        print(f"  {exported['saved_model']}  (TF Serving: text in, text out)")
        print(f"  {run[RunFolder.TFLITE]}  ({', '.join(exported['tflite'])})")


def main(argv=None):
    config, output_dir = parse_args(sys.argv[1:] if argv is None else argv)
    if config["evaluate"] is not None:
        from keras_seq.__main__ import evaluate_main

        return evaluate_main([config["evaluate"], config["test_data"]])
    if output_dir is not None and os.path.exists(RunFolder(output_dir)[RunFolder.METRICS]):
        return finish(config, RunFolder(output_dir))
    import keras

    # First: a multi-worker strategy starts its collectives before any other TensorFlow op.
    distribution = ks.training.distribution_strategy(config["distribution"])
    output_dir = cli.worker_output_dir(output_dir, distribution)
    try:  # the data and the run folder: one error line, nothing written
        corpus, run, by_rule = prepare(config, output_dir)
    except (ValueError, OSError, ImportError) as error:
        return cli.fail(error)
    keras.utils.set_random_seed(config["seed"])
    precision = ks.training.set_precision(config["precision"])  # (the rule's, by now)
    try:
        preprocessor = preprocessor_of(config, corpus, run)
        data = preprocessor.training_data(
            corpus,
            config["batch_size"],
            config["seed"],
            config["curriculum_epochs"],
            config["subword_dropout"],
        )
    except ValueError as error:  # e.g. fewer usable pairs than the batch size
        return cli.fail(error)
    report = data.train_report
    print(
        f"{len(corpus.train)} training pairs ({report.overlong} over the length limits, policy "
        f"{report.policy}); {report.batches} batches per epoch, padding "
        f"{report.padding_fraction:.1%}; vocabularies {preprocessor.source_tokenizer.vocab_size}/"
        f"{preprocessor.target_tokenizer.vocab_size}; precision {precision}"
    )
    with distribution.scope():
        fit_size_to_budget(config, run, preprocessor, data, by_rule)
        translator = Translator.build(
            preprocessor, RunFolder.strategy(config), config["architecture"],
            **backbone_options(config),
        )  # fmt: skip
        options = {k: config[k] for k in OPTIMIZATION}
        translator.compile(**options, total_steps=training_steps(config, data))
    summary = train(config, run, translator, data)
    with ks.cluster.leaving_together(distribution):  # no worker exits before the chief
        if not ks.cluster.is_chief(distribution):
            cli.end_worker(run, distribution)
            return 0
        if ks.cluster.multi_worker(distribution):
            # The other workers wait for it: the chief goes on alone with the trained model
            # read back from the run folder (the metrics' variables would be read across
            # workers).
            translator = Translator.from_preset(run.path)
        ks.plots.plot_history(run[RunFolder.HISTORY], run[RunFolder.CURVES])
        beam_grid = choose_beam(config, run, translator, corpus)  # validation pairs, first
        translator.strategy = RunFolder.strategy(config)
        translator.save_to_preset(run.path)
        metrics, scores = run.evaluate(translator, data)
        grid = {"beam_grid": beam_grid} if beam_grid else {}
        metrics.update(summary, precision=precision, **grid)
        run.write_json(RunFolder.METRICS, metrics)  # before the export, which may fail
        exported = (
            translator.export(run.path, quantizations=config["quantizations"])
            if config["export"]
            else {}
        )
        print_summary(config, run, metrics, scores, exported)
        if config["report"]:
            write_report(run)
        return 0


if __name__ == "__main__":
    sys.exit(main())
