"""Atomic writes: a file or folder of keras_seq is never left half-written.

Everything keras_seq writes to disk (run folders, presets, exports, checkpoints)
goes through `replacing(path)`: the content is written under a temporary name
beside `path` and renamed onto it when the writing succeeds, so a crash or an
exception leaves the earlier file or folder, or none. Written files and folders
get the permissions `open` and `os.makedirs` would give them under the umask.
"""

import contextlib
import json
import os
import shutil
import tempfile

__all__ = ["DamagedFile", "read_json", "replacing", "write_bytes", "write_json"]


class DamagedFile(ValueError):
    """A file keras_seq wrote that can no longer be read (truncated, edited, overwritten)."""


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def replacing(path, folder=False):
    """A temporary path beside `path`, renamed onto `path` when the block succeeds.

    Args:
        path: the file (or, with `folder`, the folder) to write.
        folder: yield an empty staging folder instead of a file name; an existing
            folder at `path` is replaced as a whole.

    Yields:
        For a file, a temporary name that keeps the extension (Keras checks it:
        `x.weights.h5` -> `x.tmp-XXXX.weights.h5`); for a folder, a staging folder.
        A failure inside the block removes it and leaves `path` as it was.
    """
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    name = os.path.basename(path)
    if folder:
        temporary = tempfile.mkdtemp(dir=parent, prefix=f".{name}-")
        os.chmod(temporary, 0o777 & ~_umask())  # as os.makedirs would, not mkdtemp's 0o700
    else:
        stem, dot, extension = name.partition(".")
        handle, temporary = tempfile.mkstemp(
            dir=parent, prefix=f".{stem}.tmp-", suffix=dot + extension
        )
        os.close(handle)
        os.remove(temporary)  # the writer creates it (some refuse an existing file)
    try:
        yield temporary
        if folder:
            if os.path.isdir(path):
                shutil.rmtree(path)
        else:
            os.chmod(temporary, 0o666 & ~_umask())  # as open() would, not mkstemp's 0o600
        os.replace(temporary, path)
    finally:
        if os.path.isdir(temporary):
            shutil.rmtree(temporary, ignore_errors=True)
        elif os.path.exists(temporary):
            os.remove(temporary)


def write_bytes(path, content):
    """Writes `content` to `path` atomically; returns `path`."""
    with replacing(path) as temporary, open(temporary, "wb") as f:
        f.write(content)
    return os.fspath(path)


def write_json(path, value):
    """Writes `value` to `path` as indented JSON, atomically; returns `path`."""
    with replacing(path) as temporary, open(temporary, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2)
    return os.fspath(path)


def read_json(path, default=None):
    """The JSON value at `path`; `default` when there is no such file (and one is given).

    Raises:
        DamagedFile: naming `path` when it holds no valid JSON.
    """
    if default is not None and not os.path.exists(path):
        return default
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise DamagedFile(
                f"{path} is damaged: it is not valid JSON ({error}). Restore it from a copy, "
                "or delete it and write it again (a run folder's command rewrites it)."
            ) from None
