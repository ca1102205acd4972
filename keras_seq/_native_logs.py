"""`TF_CPP_MIN_LOG_LEVEL` for the logs TensorFlow's C++ writes before its logging starts.

TensorFlow 2.21 writes some of its native logs (`I0000 ... port.cc:153] oneDNN custom
operations are on ...`, `E0000 ... failed call to cuInit`) through absl before absl's
logging is initialised, and those ignore `TF_CPP_MIN_LOG_LEVEL` (tensorflow#100442).
A user reads them as errors. When `TF_CPP_MIN_LOG_LEVEL` is set before `keras_seq` is
first imported, before TensorFlow (the recipes set it to 2; the `keras-seq` command
defaults it to 2), `install` routes the process's native stderr through a filter that
drops the log lines below that level, as TensorFlow would:

- 1: drops `I` lines (and absl's "before absl::InitializeLog()" notice);
- 2: also `W` lines, and the `E` lines that report nothing wrong (`HARMLESS_ERRORS`);
- 3: also the other `E` lines.

Every other byte written to stderr (Python's warnings, tracebacks, `error: ...` lines)
passes through unchanged. The filter stops, and stderr is the process's own again,
at exit.
"""

import atexit
import os
import re
import sys
import threading

# A glog/absl log line: severity, date, time, thread id, file:line] message.
_LOG_LINE = re.compile(rb"^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^\]]*\] ")
_NOTICES = (
    b"WARNING: All log messages before absl::InitializeLog() is called",
    # The second line of the "This TensorFlow binary is optimized to use ..." record.
    b"To enable the following instructions:",
)
# What TensorFlow reports as errors when nothing is wrong: a machine with no GPU or no
# AVX-512, and a bfloat16 model's `Cast(Truncate=...)` read by the SavedModel exporter.
HARMLESS_ERRORS = (
    b"failed call to cuInit",
    b"only on platforms with AVX-512. Falling back",  # oneDNN: DT_BOOL, DT_INT32, DT_INT64
    b"Unknown attributes will be ignored",
)
_installed = []


def level():
    """`TF_CPP_MIN_LOG_LEVEL` as an int (0 when unset or not a number)."""
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return 0


def keep(line, min_level):
    """Whether the stderr `line` (bytes) is shown under `TF_CPP_MIN_LOG_LEVEL=min_level`."""
    if min_level <= 0:
        return True
    if line.startswith(_NOTICES):
        return False
    match = _LOG_LINE.match(line)
    if match is None:
        return True
    severity = b"IWEF".index(match.group(1))
    if severity == 2 and min_level == 2:
        return not any(message in line for message in HARMLESS_ERRORS)
    return severity >= min_level


def _pump(read_fd, out_fd, min_level):
    pending = b""
    while True:
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        *lines, pending = (pending + chunk).split(b"\n")
        shown = b"".join(line + b"\n" for line in lines if keep(line, min_level))
        if shown:
            os.write(out_fd, shown)
    if pending and keep(pending, min_level):
        os.write(out_fd, pending)
    os.close(read_fd)


def _restore(saved_fd, thread):
    sys.stderr.flush()
    os.dup2(saved_fd, 2)  # closes the pipe's last writer: the pump reads to its end
    thread.join(timeout=2)


def started_as_command():
    """Whether this process is the `keras-seq` command (or `python -m keras_seq`), whose
    user reads the run's own lines, not TensorFlow's: its level defaults to 2."""
    if sys.argv and os.path.basename(sys.argv[0]).removesuffix(".exe") == "keras-seq":
        return True
    argv = list(getattr(sys, "orig_argv", []))
    return any(argv[i : i + 2] == ["-m", "keras_seq"] for i in range(len(argv)))


def install():
    """Filters native stderr by `TF_CPP_MIN_LOG_LEVEL`; once per process, and only when
    it is set above 0 and stderr is a real file descriptor."""
    min_level = level()
    if _installed or min_level <= 0:
        return
    try:
        saved = os.dup(2)
    except OSError:  # no stderr descriptor (an embedded interpreter)
        return
    read_fd, write_fd = os.pipe()
    sys.stderr.flush()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    thread = threading.Thread(target=_pump, args=(read_fd, saved, min_level), daemon=True)
    thread.start()
    atexit.register(_restore, saved, thread)
    _installed.append(thread)
