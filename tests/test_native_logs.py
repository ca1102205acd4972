import os
import subprocess
import sys

import pytest

from keras_seq import _native_logs

INFO = b"I0000 00:00:1796034323.083218   19700 port.cc:153] oneDNN custom operations are on."
WARNING = b"W0000 00:00:1796034323.083218   19700 loader.cc:10] something to fix"
NO_GPU = b"E0000 00:00:1796034328.784832   19700 cuda_platform.cc:52] failed call to cuInit: x"
ERROR = b"E0000 00:00:1796034328.784832   19700 kernel.cc:52] a real failure"
ONEDNN = (
    b"E0000 00:00:1796052121.442847   16630 util.cc:131] oneDNN supports DT_INT32 only on "
    b"platforms with AVX-512. Falling back to the default Eigen-based implementation if present."
)
NOTICE = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"


@pytest.mark.parametrize(
    "level, shown",
    [
        (0, [INFO, WARNING, NO_GPU, ONEDNN, ERROR, NOTICE, b"plain"]),
        (1, [WARNING, NO_GPU, ONEDNN, ERROR, b"plain"]),
        (2, [ERROR, b"plain"]),
        (3, [b"plain"]),
    ],
)
def test_native_log_lines_are_kept_by_severity_as_tf_cpp_min_log_level_says(level, shown):
    lines = [INFO, WARNING, NO_GPU, ONEDNN, ERROR, NOTICE, b"plain"]
    assert [line for line in lines if _native_logs.keep(line, level)] == shown


CHILD = """
import os, sys, warnings
import keras_seq
for line in {lines!r}:
    os.write(2, line + b"\\n")
warnings.warn("a Python warning")
print("error: the last words", file=sys.stderr)
"""


def test_the_level_is_tf_cpp_min_log_level_and_nothing_is_filtered_without_it(monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    assert _native_logs.level() == 0
    for value, level in (("2", 2), ("x", 0)):
        monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", value)
        assert _native_logs.level() == level


def test_a_process_importing_keras_seq_filters_its_native_stderr():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    lines = [INFO, NO_GPU, ERROR, b"some output\xff"]
    child = subprocess.run(
        [sys.executable, "-c", CHILD.format(lines=lines)],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert child.returncode == 0
    stderr = child.stderr
    for line in lines:
        assert (line in stderr) == (line in (ERROR, b"some output\xff"))
    assert b"a Python warning" in stderr
    assert stderr.rstrip().endswith(b"error: the last words")  # nothing lost at exit


@pytest.mark.slow
def test_the_keras_seq_command_hides_tensorflow_startup_logs_unless_asked():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    command = [sys.executable, "-m", "keras_seq", "export", "--help"]
    child = subprocess.run(command, capture_output=True, env=env, timeout=120)
    assert child.returncode == 0 and b"usage:" in child.stdout
    assert b"I0000" not in child.stderr and b"absl::InitializeLog" not in child.stderr
    # A level the user sets wins: 0 shows TensorFlow's logs again.
    env["TF_CPP_MIN_LOG_LEVEL"] = "0"
    child = subprocess.run(command, capture_output=True, env=env, timeout=120)
    assert child.returncode == 0 and b"I0000" in child.stderr
