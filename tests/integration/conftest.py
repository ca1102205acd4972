"""The quick translation run, trained and exported once per test session (one child process,
as a user runs it); the recipe, export, report and web tests start from copies of it."""

import pytest

from tests.integration.recipe_runner import run_recipe
from tests.shared import built_once

# The quick run's flags: a resumed or finished copy must be called with the same ones.
# Its TFLite models in float32 (exact: scored against the SavedModel) and int8; float16
# converts by the same path (tests/export/test_tflite.py converts all three).
QUICK_RUN = ["--quick", "--num-pairs", "1500", "--epochs", "2"]
QUICK_RUN += ["--quantizations", "float32", "int8"]


def _quick_run(folder):
    completed = run_recipe("translate", [*QUICK_RUN, "--output-dir", str(folder / "run")],
                           folder, timeout=900)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return {"stdout": completed.stdout, "stderr": completed.stderr}


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """`(run_dir, output)`: the finished quick run and what its command printed
    (`stdout`, `stderr`). Copy it (`tests.shared.copy_of`) before changing it."""
    folder, output = built_once(tmp_path_factory, "quick_translate_run", _quick_run)
    return folder / "run", output
