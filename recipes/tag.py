"""Train, evaluate and export a BiLSTM-CRF named-entity tagger.

With no arguments: the built-in generated English NER data (Faker and babel names
in varied templates, IOB2 tags, test names unseen in training), a word + char-CNN
BiLSTM-CRF, entity F1 by seqeval, a SavedModel (text in, tags out) and
builtins-only TFLite models.

    python recipes/tag.py                                 # built-in data
    python recipes/tag.py --quick                         # a smoke run of about a minute
    python recipes/tag.py --dataset conll:DIR             # CoNLL-2003 files in DIR
    python recipes/tag.py --dataset tfds:conll2003        # a prepared TFDS dataset
    python recipes/tag.py --dataset conll:DIR --embeddings glove.6B.100d.txt

Run the same command with `--output-dir` pointing at an interrupted run to resume it.
"""

import argparse
import os
import sys

# TensorFlow's C++ info and warning logs drown the run's own output; errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_seq as ks  # noqa: E402
from keras_seq import cli  # noqa: E402
from keras_seq.tasks import TagRunFolder  # noqa: E402

DEFAULTS = {
    "dataset": "generated",
    "num_sentences": 12_000,
    "data_dir": None,
    "head": "crf",
    "char_encoder": "cnn",
    "casing": None,  # a new run's: NEW_RUN; a run folder from before: LEGACY
    "embedding_dim": 100,
    "units": 200,
    "layers": None,  # 2 for a new run; a run folder from before keeps its own (1)
    "cell": "lstm",
    "dropout": 0.5,
    "recurrent_dropout": 0.0,
    "singleton_unk": 0.5,
    "unk_max_count": 1,
    "batch_size": 32,
    "epochs": None,  # the planned decay: 8 on the generated data, 40 on real data
    "optimizer": "adam",
    "learning_rate": None,  # the peak: a new run's in NEW_RUN; a resumed run keeps its own
    "lr_schedule": None,  # a new run's: NEW_RUN; a run folder from before: LEGACY
    "lr_decay": 0.0,
    "clipnorm": 5.0,
    "ema_momentum": None,  # a new run's: NEW_RUN (real data) or 0; a run from before: LEGACY
    "global_clipnorm": 0.0,
    "patience": 5,
    "average_checkpoints": 5,
    "time_budget": None,  # minutes of training: none on the generated data, 50 on real data
    "lowercase": True,  # CoNLL-2003 dev +0.2-0.4, CoNLL-2002 test +1.0 (docs/tagging-quality.md)
    "max_chars": 20,
    "embeddings": None,
    "seed": 0,
    "distribution": "auto",
    "export": True,
    "quantizations": None,  # all of them
    "max_words": 128,
    "encoding": "auto",
    "tag_scheme": "iob2",
}
# What a new run gets for the settings left None (a resumed run keeps its own).
NEW_RUN = {
    "layers": 2,
    "casing": True,
    "learning_rate": 2e-3,
    "lr_schedule": "cosine",
    # Real data only (measured on CoNLL-2003, docs/tagging-quality.md; off on the generated data).
    "ema_momentum": 0.999,
}
# What a run folder written before a setting existed had: it resumes with that.
LEGACY = {"casing": False, "lr_schedule": "inverse_time", "ema_momentum": 0.0}
LR_SCHEDULES = ("cosine", "inverse_time")
OPTIMIZERS = ("adam", "nadam")
QUICK = {
    "num_sentences": 1500,
    "layers": 1,
    "epochs": 3,
    "embedding_dim": 32,
    "units": 32,
    "learning_rate": 1e-2,
    "ema_momentum": 0.0,
}
# Settings that define the model, its data and its schedule: a resumed run must keep them.
MODEL_SETTINGS = (
    "dataset",
    "num_sentences",
    "head",
    "char_encoder",
    "casing",
    "embedding_dim",
    "units",
    "layers",
    "cell",
    "lowercase",
    "max_chars",
    "embeddings",
    "seed",
    "encoding",
    "tag_scheme",
    "optimizer",
    "learning_rate",
    "lr_schedule",
    "ema_momentum",
)


# fmt: off
def build_parser():
    integer, number = cli.integer, cli.number
    parser = cli.parser(__doc__, DEFAULTS)
    data = parser.add_argument_group("data")
    add = data.add_argument
    add("--dataset", help=f"{' | '.join(ks.data.TAGGING_SPECS)} (default: generated, the "
        "built-in English NER sentences)")
    add("--num-sentences", type=integer(1), help="sentences made by --dataset generated")
    add("--data-dir", metavar="DIR", help="TFDS data directory, for --dataset tfds:NAME")
    add("--encoding", type=cli.encoding, help="of the CoNLL files (default auto: UTF-8, or "
        "Latin-1 for a file that is not UTF-8)")
    add("--tag-scheme", choices=ks.data.TAG_SCHEMES, help="the tags the model learns; "
        "read and scored as IOB2 either way")
    add("--lowercase", action=argparse.BooleanOptionalAction, help="lower-case the word "
        "vocabulary; the characters and the casing feature keep the case (default on)")
    add("--max-chars", type=integer(1), help="characters kept per word")
    add("--embeddings", metavar="FILE", help="GloVe-format text file of initial word vectors "
        "(default: none, random)")

    model = parser.add_argument_group("model")
    add = model.add_argument
    add("--head", choices=ks.models.HEADS, help="crf (default): a linear-chain CRF with "
        "transition constraints; softmax: each word's tag on its own")
    add("--char-encoder", choices=[*ks.layers.CHARACTER_ENCODERS, "none"], help="character "
        "features of each word")
    add("--casing", action=argparse.BooleanOptionalAction, help="add each word's casing, "
        "read from its characters, to its features (ks.layers.CasingFeatures; default on, "
        "needs a --char-encoder)")
    add("--embedding-dim", type=integer(1), help="word embedding width (default 100, or the "
        "--embeddings' width)")
    add("--units", type=integer(1), help="units of each RNN direction")
    add("--layers", type=integer(1), help="stacked bidirectional RNN layers (default 2)")
    add("--cell", choices=ks.layers.CELLS, help="recurrent cell")
    add("--dropout", type=number(0, 1), help="on the word features and after each RNN "
        "layer")
    add("--recurrent-dropout", type=number(0, 1), help="on each RNN's recurrent state, one "
        "mask per sentence")

    training = parser.add_argument_group("training")
    add = training.add_argument
    add("--batch-size", type=integer(1), help="sentences per batch")
    add("--epochs", type=integer(1), help="epochs planned for the learning-rate decay "
        "(default: 8 on the built-in data, 40 on real data; the time budget may end training "
        "sooner)")
    add("--singleton-unk", type=number(0, 1), metavar="P", help="training words seen once "
        "(or up to --unk-max-count times) read as unknown with probability P")
    add("--unk-max-count", type=integer(1), metavar="N", help="the training words that "
        "--singleton-unk replaces: those seen at most N times (default: 1, the singletons)")
    add("--optimizer", choices=OPTIMIZERS, help="adam (default), or nadam: Adam with "
        "Nesterov momentum (Dozat 2016)")
    add("--learning-rate", type=number(0, low_inclusive=False), help="the optimizer's, at "
        "the start of the schedule (default 2e-3)")
    add("--lr-schedule", choices=LR_SCHEDULES, help="cosine (default): from "
        "--learning-rate down to 5%% of it over the planned epochs, ended sooner when the "
        "time budget holds fewer; inverse_time: --learning-rate / (1 + --lr-decay * epoch), "
        "constant with --lr-decay 0")
    add("--lr-decay", type=number(0), help="of --lr-schedule inverse_time")
    add("--ema-momentum", type=number(0, 1), metavar="X", help="validate, keep and export "
        "the exponential moving average of the weights with this momentum (0 = off; "
        "default: 0.999 on real data, 0 on the built-in data)")
    cli.add_strategy_flag(add)
    cli.add_training_flags(training, {
        "average_checkpoints": DEFAULTS["average_checkpoints"],
        "time_budget": "none on the built-in data, 50 on real data",
    })

    export = parser.add_argument_group("export")
    add = export.add_argument
    add("--max-words", type=integer(1), help="words per sentence of the TFLite tagger")
    add("--no-export", dest="export", action="store_false", default=None, help="skip the "
        "SavedModel and TFLite export")
    cli.add_quantizations_flag(add)

    run = parser.add_argument_group("run")
    cli.add_run_flags(run, quick="a smoke run of about a minute")
    return parser
# fmt: on


def parse_args(argv):
    parser = build_parser()
    args = parser.parse_args(argv)
    config = {**DEFAULTS, **(QUICK if args.quick else {})}
    config.update({k: v for k, v in vars(args).items() if v is not None and k in DEFAULTS})
    config["quick"] = args.quick
    if config["embeddings"] and not os.path.isfile(config["embeddings"]):
        parser.error(f"argument --embeddings: no such file: {config['embeddings']!r}")
    cli.check_clipping(parser, config, args.clipnorm)
    if config["lr_decay"]:
        if config["lr_schedule"] == "cosine":
            parser.error("argument --lr-decay: of --lr-schedule inverse_time, not cosine")
        config["lr_schedule"] = "inverse_time"
    if config["char_encoder"] == "none":  # the casing is read from the characters
        if config["casing"]:
            parser.error("argument --casing: reads the characters; not with --char-encoder none")
        config["casing"] = False
    cli.check_output_dir(parser, args.output_dir)
    if config["epochs"] is None:
        config["epochs"] = 8 if config["dataset"] == "generated" else 40
    if config["time_budget"] is None:
        config["time_budget"] = 0 if config["dataset"] == "generated" else 50
    return config, args.output_dir


def load_corpus(config):
    corpus = ks.data.load_tagged_corpus(
        config["dataset"],
        data_dir=config["data_dir"],
        seed=config["seed"],
        num_sentences=config["num_sentences"],
        encoding=config["encoding"],
    )
    for split in ("train", "valid", "test"):
        if not getattr(corpus, split):
            raise ValueError(f"The {split} split of {config['dataset']!r} holds no sentence.")
    return corpus


def word_vectors(config, corpus, run):
    """`--embeddings`' vectors of the corpus words, read once; None without the flag or when
    training has finished (nothing is built from them then)."""
    if not config["embeddings"] or run.training_summary() is not None:
        return None
    words = {
        w for split in (corpus.train, corpus.valid, corpus.test) for ws, _ in split for w in ws
    }
    return ks.models.read_vectors(config["embeddings"], words)


def vocabularies_of(config, corpus, run, vectors):
    """The run's vocabularies: reloaded from vocab/ when resuming, else built and saved.

    With `vectors` (`--embeddings`), the words of the validation and test sentences
    that the vectors know join the training words (their labels are never read), so
    that pretrained vectors reach unseen words (Lample et al., 2016).
    """
    if os.path.exists(os.path.join(run[run.VOCAB], "words.txt")):
        return ks.data.TagVocabularies.load(run[run.VOCAB])
    extra = []
    if vectors:
        extra = [
            w
            for words, _ in corpus.valid + corpus.test
            for w in words
            if w in vectors or w.lower() in vectors
        ]
    vocabularies = ks.data.TagVocabularies.build(
        corpus.train,
        lowercase=config["lowercase"],
        max_chars=config["max_chars"],
        extra_words=extra,
        scheme=config["tag_scheme"],
    )
    vocabularies.save(run[run.VOCAB])
    return vocabularies


def build_model(config, vocabularies, vectors):
    embeddings = None
    if vectors:
        embeddings, found = ks.models.embedding_matrix(vectors, vocabularies.words)
        print(f"Pretrained vectors for {found:,} of {len(vocabularies.words):,} words.")
    return ks.models.build_tagger(
        len(vocabularies.words),
        len(vocabularies.tags),
        embedding_dim=config["embedding_dim"],
        units=config["units"],
        num_layers=config["layers"],
        cell=config["cell"],
        dropout=config["dropout"],
        recurrent_dropout=config["recurrent_dropout"],
        char_vocab_size=None if config["char_encoder"] == "none" else len(vocabularies.chars),
        char_encoder="cnn" if config["char_encoder"] == "none" else config["char_encoder"],
        char_classes=ks.layers.character_classes(vocabularies.chars) if config["casing"] else None,
        head=config["head"],
        tags=vocabularies.tags,
        constraints=vocabularies.scheme if config["head"] == "crf" else None,
        embeddings=embeddings,
    )


def train(config, run, corpus, vocabularies, vectors, distribution):
    """The trained tagger and the training summary; reuses a training that had finished.
    The model is built and compiled in `distribution`'s scope."""
    import keras

    with distribution.scope():
        model = build_model(config, vocabularies, vectors)
    tagger = ks.Tagger(model, vocabularies, config["max_words"])
    shuffle = ks.data.EpochShuffle(config["seed"])
    with_chars = config["char_encoder"] != "none"
    train_data = ks.data.make_tagging_dataset(
        corpus.train,
        vocabularies,
        config["batch_size"],
        shuffle=shuffle,
        with_chars=with_chars,
        singleton_unk=config["singleton_unk"],
        unk_max_count=config["unk_max_count"],
    )
    steps = int(train_data.cardinality())
    if config["lr_schedule"] == "cosine":  # a TimeBudget ends it sooner when fewer epochs fit
        learning_rate = ks.training.WarmupCosineDecay(
            config["learning_rate"], steps * config["epochs"]
        )
    else:  # the learning rate / (1 + decay * epochs) (Ma and Hovy 2016), step by step
        learning_rate = keras.optimizers.schedules.InverseTimeDecay(
            config["learning_rate"], decay_steps=steps, decay_rate=config["lr_decay"]
        )
    clipping = {k: config[k] or None for k in ("clipnorm", "global_clipnorm")}
    optimizer = {"adam": ks.optimizers.Adam, "nadam": ks.optimizers.Nadam}
    ema = ks.optimizers.moving_average(config["ema_momentum"])
    with distribution.scope():
        model.compile(optimizer=optimizer[config["optimizer"]](learning_rate, **clipping, **ema))
    # The validation loss needs tag ids: sentences with tags unseen in training are left
    # out of it (and only of it: val_f1 and the test scores count every sentence).
    valid_data = ks.data.make_tagging_dataset(
        [s for s in corpus.valid if vocabularies.knows(s[1])],
        vocabularies,
        config["batch_size"],
        with_chars=with_chars,
    )
    callbacks = ks.callbacks.standard_callbacks(
        run.path,
        patience=config["patience"],
        monitor="val_f1",
        validation_scores=ks.callbacks.ValidationF1(corpus.valid, vocabularies),
        time_budget=config["time_budget"],
        keep_epochs=config["average_checkpoints"],
        average_weights=ema["use_ema"],
    )
    average = config["average_checkpoints"] >= 2
    summary = run.train(
        tagger, train_data, valid_data, config["epochs"], [*callbacks, shuffle],
        average=(corpus.valid, "F1") if average else None,
        verbose=2 if config["quick"] else "auto",
        shuffle=False,  # the pipeline shuffles (and buckets) itself
    )  # fmt: skip
    return tagger, summary


def evaluate(run, tagger, corpus):
    """Test-split entity scores; writes `predictions.conll` and the confusion matrix."""
    gold = [tags for _, tags in corpus.test]
    words = [w for w, _ in corpus.test]
    vocabularies = tagger.preprocessor
    predicted, _ = ks.evaluation.SentenceTagger(tagger.backbone, words, vocabularies)()
    scores = ks.evaluation.entity_scores(gold, predicted)
    with run.writing(run.PREDICTIONS) as temporary, open(temporary, "w", encoding="utf-8") as f:
        for sentence, gold_tags, tags in zip(words, gold, predicted, strict=True):
            f.writelines(
                f"{w} {g} {p}\n" for w, g, p in zip(sentence, gold_tags, tags, strict=True)
            )
            f.write("\n")
    with run.writing(run.CONFUSION) as temporary:
        tags = list(dict.fromkeys(vocabularies.output_tags))
        ks.plots.plot_tag_confusion(gold, predicted, tags, temporary)
    return scores


def prepare(config, output_dir):
    """`(corpus, run, vectors)`: the data loaded, the run folder started (or resumed)."""
    corpus = load_corpus(config)
    run = TagRunFolder(cli.run_dir(output_dir, "tag"))
    vectors = word_vectors(config, corpus, run)
    new_run = {**NEW_RUN, **({"ema_momentum": 0.0} if config["dataset"] == "generated" else {})}
    cli.start_run(run, config, MODEL_SETTINGS, {**DEFAULTS, **LEGACY}, new_run=new_run)
    return corpus, run, vectors


def main(argv=None):
    config, output_dir = parse_args(sys.argv[1:] if argv is None else argv)
    import keras

    # First: a multi-worker strategy starts its collectives before any other TensorFlow op.
    distribution = ks.training.distribution_strategy(config["distribution"])
    output_dir = cli.worker_output_dir(output_dir, distribution)
    try:
        corpus, run, vectors = prepare(config, output_dir)
    except (ValueError, OSError, ImportError) as error:  # the data: one line, nothing written
        return cli.fail(error)
    keras.utils.set_random_seed(config["seed"])
    print(
        f"{len(corpus.train):,} training, {len(corpus.valid):,} validation, "
        f"{len(corpus.test):,} test sentences from {config['dataset']!r}; run folder {run.path}"
    )
    vocabularies = vocabularies_of(config, corpus, run, vectors)
    unseen = sorted(
        {t for _, tags in corpus.valid + corpus.test for t in tags} - {*vocabularies.output_tags}
    )
    if unseen:
        print(
            f"note: tags {unseen} of the validation/test sentences never occur in training; "
            "the model cannot predict them, so their entities count as missed."
        )
    tagger, summary = train(config, run, corpus, vocabularies, vectors, distribution)
    with ks.cluster.leaving_together(distribution):  # no worker exits before the chief
        if not ks.cluster.is_chief(distribution):
            cli.end_worker(run, distribution)
            return 0
        if ks.cluster.multi_worker(distribution):  # the chief goes on alone (as translate.py)
            tagger = ks.Tagger.from_preset(run.path)
        scores = evaluate(run, tagger, corpus)
        metrics = {**scores, **summary, "test_sentences": len(corpus.test)}
        run.write_json(run.METRICS, metrics)  # before the export, which may fail
        quantizations = config["quantizations"]
        exported = tagger.export(run.path, quantizations=quantizations) if config["export"] else {}
        print(
            f"\nTest entity F1 {scores['f1']:.2f} (precision {scores['precision']:.2f}, recall "
            f"{scores['recall']:.2f}); per type: "
            + ", ".join(f"{k} {v['f1']:.1f}" for k, v in scores["per_type"].items())
        )
        print(f"Run folder: {run.path}")
        for name in ("metrics.json", "predictions.conll", "confusion.png", "model.keras"):
            print(f"  {name}")
        if exported:
            tflite = sorted(exported["tflite"])
            print(f"  saved_model/  (serving_default: text -> tags); tflite/ {tflite}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
