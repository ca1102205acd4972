"""Builds the session's exported run (`tests/conftest.py`) in the background, while the
test workers start: `python -m tests.prebuild SESSION_ROOT`.

The whole suite's controller starts it. It takes the fixture's lock before it
imports TensorFlow, so a worker that needs the run waits for it rather than
building it a second time, and no worker sits idle while one builds.
"""

import pathlib
import sys

from filelock import FileLock


def main(root):
    root = pathlib.Path(root)
    with FileLock(str(root / "exported_run.lock")):
        from tests.conftest import _train_and_export
        from tests.shared import build_unless_built

        build_unless_built(root, "exported_run", _train_and_export)


if __name__ == "__main__":
    main(sys.argv[1])
