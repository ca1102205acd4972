"""`keras-seq` (or `python -m keras_seq`): use a trained run folder from the command line.

    keras-seq translate RUN "Where is the station?" "Good morning."
    keras-seq translate RUN --strategy greedy < sentences.txt     # one sentence a line
    keras-seq tag RUN "Ana vive en Madrid"
    keras-seq forecast RUN series.csv    # the next horizon after the file's last value
    keras-seq export RUN [--no-tflite] [--quantizations int8] [--shortlist]
    keras-seq evaluate RUN test.tsv      # BLEU of the model and of each export

RUN is a run folder of `recipes/translate.py`, `recipes/tag.py` or `recipes/forecast.py`,
or any preset a task's `save_to_preset` wrote.
"""

import os
import sys

from keras_seq import cli
from keras_seq.data.series import read_csv_series
from keras_seq.tasks import (
    Forecaster,
    NotARunFolder,
    RunFolder,
    Tagger,
    Translator,
    evaluate_file,
    open_run_folder,
)


def _texts(texts):
    """The texts given, else the lines of standard input."""
    return texts if texts else [line.rstrip("\n") for line in sys.stdin]


def translate_main(argv, prog):
    parser = cli.parser(__doc__)
    parser.prog = prog
    parser.add_argument("run_dir", help="a translation run folder (a Translator preset)")
    parser.add_argument("texts", nargs="*", help="sentences (default: standard input, a line each)")
    parser.add_argument(
        "--strategy", help="greedy, beam or sample (default: the run's, e.g. its tuned beam)"
    )
    args = parser.parse_args(argv)
    try:
        translator = Translator.from_preset(args.run_dir, compile=False)
        translations = translator.translate(_texts(args.texts), args.strategy)
    except ValueError as error:  # NotARunFolder, a bad strategy
        return cli.fail(error)
    for translation in translations:
        print(translation)
    return 0


def tag_main(argv, prog):
    parser = cli.parser(__doc__)
    parser.prog = prog
    parser.add_argument("run_dir", help="a tagging run folder (a Tagger preset)")
    parser.add_argument("texts", nargs="*", help="sentences (default: standard input, a line each)")
    args = parser.parse_args(argv)
    try:
        tagger = Tagger.from_preset(args.run_dir, compile=False)
    except ValueError as error:
        return cli.fail(error)
    texts = _texts(args.texts)
    for text, entities in zip(texts, tagger.tag(texts), strict=True):
        shown = "  ".join(f"[{e['type']} {e['text']}] {e['score']:.2f}" for e in entities)
        print(f"{text}\t{shown}")
    return 0


def forecast_main(argv, prog):
    parser = cli.parser(__doc__)
    parser.prog = prog
    parser.add_argument("run_dir", help="a forecasting run folder (a Forecaster preset)")
    parser.add_argument(
        "csv", help="the series, one value a row, oldest first (the model reads its last values)"
    )
    parser.add_argument("--value-column", help="default: value/y/target, or the only numeric one")
    parser.add_argument("--time-column", help="default: date/time/timestamp/ds, if there")
    args = parser.parse_args(argv)
    try:
        forecaster = Forecaster.from_preset(args.run_dir, compile=False)
        series = read_csv_series(args.csv, args.value_column, args.time_column)
        quantiles, point, _ = forecaster.forecast(series.values)
    except (ValueError, OSError) as error:
        return cli.fail(error)
    low, high = forecaster.quantiles[0], forecaster.quantiles[-1]
    print(f"step\tforecast\tq{low:g}\tq{high:g}")
    for step in range(forecaster.horizon):
        print(f"{step + 1}\t{point[step]:.6g}\t{quantiles[step, 0]:.6g}\t{quantiles[step, -1]:.6g}")
    return 0


def export_main(argv, prog="keras-seq export"):
    """Writes RUN/saved_model and RUN/tflite of a translation, tagging or forecasting run."""
    parser = cli.parser(
        "Write RUN_DIR/saved_model (TF Serving) and RUN_DIR/tflite (builtin ops only, "
        "float32/float16/int8) of a translation, tagging or forecasting run."
    )
    parser.prog = prog
    parser.add_argument("run_dir", help="a finished translation, tagging or forecasting run folder")
    parser.add_argument("--no-tflite", action="store_true", help="write the SavedModel only")
    cli.add_quantizations_flag(parser.add_argument)
    parser.add_argument(
        "--shortlist",
        action="store_true",
        help="decode with the run's lexical shortlist (vocab/shortlist.npz): faster steps, "
        "only target ids that co-occur with the source's in the training pairs; check its "
        "BLEU with keras-seq evaluate",
    )
    args = parser.parse_args(argv)
    run = open_run_folder(args.run_dir)
    if args.shortlist and type(run) is not RunFolder:
        parser.error(f"{args.run_dir} is a {run.TASK} run; --shortlist is for translation.")
    task = {"Translator": Translator, "Tagger": Tagger, "Forecaster": Forecaster}[run.TASK]
    options = {"shortlist": True} if args.shortlist else {}
    try:
        loaded = task.from_preset(run.path, compile=False)
        written = loaded.export(
            run.path, tflite=not args.no_tflite, quantizations=args.quantizations, **options
        )
    except NotARunFolder as error:  # missing or damaged files, a missing shortlist
        parser.error(str(error))
    print(f"SavedModel: {written['saved_model']}")
    print(f"  inspect:  saved_model_cli show --dir {written['saved_model']} --all")
    for name, path in written.get("tflite", {}).items():
        print(f"TFLite {name}: {path}")
    return 0


def evaluate_main(argv, prog="keras-seq evaluate"):
    """Scores a translation run's model and exports on a TSV file of pairs."""
    parser = cli.parser(
        "Score a translation run's model, SavedModel and TFLite models (sacreBLEU, chrF) on "
        "a TSV file of source<TAB>target pairs; writes RUN_DIR/evaluations/FILE.json."
    )
    parser.prog = prog
    parser.add_argument("run_dir", help="a finished translation run folder")
    parser.add_argument("test_data", help="TSV file of test pairs")
    args = parser.parse_args(argv)
    if not os.path.isfile(args.test_data):
        parser.error(f"argument test_data: no such file: {args.test_data!r}")
    try:
        print(f"Written to {evaluate_file(args.run_dir, args.test_data)}")
    except (ValueError, OSError) as error:  # NotARunFolder is a ValueError
        return cli.fail(error)
    return 0


COMMANDS = {
    "translate": translate_main,
    "tag": tag_main,
    "forecast": forecast_main,
    "export": export_main,
    "evaluate": evaluate_main,
}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in COMMANDS:
        print(__doc__.strip(), file=sys.stderr)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    return COMMANDS[argv[0]](argv[1:], prog=f"keras-seq {argv[0]}")


if __name__ == "__main__":
    sys.exit(main())
