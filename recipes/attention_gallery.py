"""Write a translation run's report: RUN/report/index.html, one self-contained page.

The page shows the run's settings and scores, its learning curves, and attention heat
maps of test sentences, sorted into monotonic and reordering alignments, then the
worst translations by sentence chrF with their heat maps (`keras_seq.report`).
`recipes/translate.py` writes it at the end of a run (`--no-report` skips it).

    python recipes/attention_gallery.py RUN                 # RUN/report/index.html
    python recipes/attention_gallery.py RUN --sentences 40 --worst 10
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_seq import cli  # noqa: E402
from keras_seq.report import REPORT, write_report  # noqa: E402
from keras_seq.tasks import NotARunFolder  # noqa: E402

__all__ = ["REPORT", "main", "write_report"]


def main(argv=None):
    parser = cli.parser(__doc__)
    parser.add_argument("run_dir", help="a finished recipes/translate.py run folder")
    parser.add_argument(
        "--sentences", type=cli.integer(1), default=24, help="test sentences in the gallery"
    )
    parser.add_argument("--worst", type=cli.integer(0), default=8, help="worst translations shown")
    args = parser.parse_args(argv)
    try:
        found = write_report(args.run_dir, args.sentences, args.worst)
    except NotARunFolder as error:
        return cli.fail(error)
    print(
        f"Report: {found['path']} ({found['sentences']} sentences: {found['monotonic']} "
        f"monotonic, {found['reordering']} reordering; {found['worst']} worst)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
