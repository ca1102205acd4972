"""Write a translation run's report: RUN/report/index.html, one self-contained page.

The page shows the run's settings and scores, its learning curves, and attention heat
maps of test sentences, sorted into monotonic and reordering alignments, then the
worst translations by sentence chrF with their heat maps (`keras_seq.report`).
`recipes/translate.py` writes it at the end of a run (`--no-report` skips it).

    python recipes/attention_gallery.py RUN                 # RUN/report/index.html
    python recipes/attention_gallery.py RUN --sentences 40 --worst 10
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_seq.report import REPORT, write_report  # noqa: E402
from keras_seq.run_folder import NotARunFolder  # noqa: E402

__all__ = ["REPORT", "main", "write_report"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", help="a finished recipes/translate.py run folder")
    parser.add_argument("--sentences", type=int, default=24, help="test sentences in the gallery")
    parser.add_argument("--worst", type=int, default=8, help="worst translations shown")
    args = parser.parse_args(argv)
    if args.sentences < 1 or args.worst < 0:
        parser.error(
            f"--sentences must be >= 1 and --worst >= 0. Received: {args.sentences}, {args.worst}"
        )
    try:
        found = write_report(args.run_dir, args.sentences, args.worst)
    except NotARunFolder as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"Report: {found['path']} ({found['sentences']} sentences: {found['monotonic']} "
        f"monotonic, {found['reordering']} reordering; {found['worst']} worst)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
