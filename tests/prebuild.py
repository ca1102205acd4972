"""Builds the session's shared runs in the background while the test workers start:
`python -m tests.prebuild SESSION_ROOT NAME MODULE:FUNCTION`.

The whole suite's controller starts one per shared run (`tests/conftest.py`), and
the tests that use them run last. Each takes its fixture's lock before it imports
TensorFlow, so a worker that needs the run waits for it rather than building it a
second time.
"""

import importlib
import pathlib
import sys

from filelock import FileLock

# The shared runs: fixture folder name -> the function that builds it.
BUILDS = {
    "exported_run": "tests.conftest:_train_and_export",
    "quick_translate_run": "tests.integration.conftest:_quick_run",
}


def main(root, name):
    root = pathlib.Path(root)
    with FileLock(str(root / f"{name}.lock")):
        from tests.shared import build_unless_built

        module, function = BUILDS[name].split(":")
        build_unless_built(root, name, getattr(importlib.import_module(module), function))


if __name__ == "__main__":
    main(*sys.argv[1:])
