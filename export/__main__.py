"""Export a trained run folder for deployment: `python -m export RUN_DIR`.

Writes RUN_DIR/saved_model (TF Serving: text in, text out) and RUN_DIR/tflite
(builtin ops only, float32/float16/int8): greedy and beam search for a
recipes/translate.py run, the tagger for a recipes/tag.py run, the forecaster for a
recipes/forecast.py run.

`python -m export web RUN_DIR` writes RUN_DIR/web, the on-device translator
page of a recipes/translate.py run (see export/web_app.py).
"""

import argparse
import os
import sys
import threading

# TensorFlow's C++ info and warning logs drown the run's own output; errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_seq.__main__ import export_main  # noqa: E402
from keras_seq.export.tflite import QUANTIZATIONS  # noqa: E402
from keras_seq.tasks import NotARunFolder, RunFolder, open_run_folder  # noqa: E402


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["web"]:
        return web_main(argv[1:])
    return export_main(argv, prog="python -m export")


def web_main(argv):
    from export.web_app import WebBuildError, serve, write_web

    parser = argparse.ArgumentParser(
        prog="python -m export web",
        description="Write RUN_DIR/web: the translator page that runs the TFLite model in "
        "the browser (LiteRT.js), with its attention heat map.",
    )
    parser.add_argument("run_dir", help="a finished recipes/translate.py run folder")
    parser.add_argument(
        "--quantization",
        default="float32",
        choices=QUANTIZATIONS,
        help="weights of the page's models (float32 gives the SavedModel's tokens)",
    )
    parser.add_argument(
        "--serve",
        type=int,
        metavar="PORT",
        help="then serve the page on http://127.0.0.1:PORT until interrupted",
    )
    args = parser.parse_args(argv)
    run = open_run_folder(args.run_dir)
    if type(run) is not RunFolder:
        parser.error(f"{args.run_dir} is a {run.RECIPE} run; the page translates.")
    try:
        web = write_web(args.run_dir, args.quantization)
    except (NotARunFolder, WebBuildError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Translator page: {web}")
    if args.serve is None:
        print(
            f"  serve it:  python -m http.server -d {web} 8000  (then open http://127.0.0.1:8000)"
        )
        return 0
    try:
        with serve(web, args.serve) as url:
            print(f"Serving it on {url} (Ctrl-C stops)")
            threading.Event().wait()
    except OSError as error:  # the port is taken, or not ours to open
        print(f"error: cannot serve on port {args.serve}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
