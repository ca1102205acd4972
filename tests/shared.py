"""Expensive test inputs built once per test session, shared by every pytest-xdist worker."""

import json
import os
import shutil

import pytest
from filelock import FileLock

# Set by `.ci/run`, which installs every system package the tests use: there a missing
# one is a failure, so that CI cannot go green with the browser or Ding tests skipped.
REQUIRE_ALL = "KERAS_SEQ_REQUIRE_ALL"


def missing(reason):
    """Skips the test, saying why; fails it instead where `REQUIRE_ALL` is set (CI)."""
    if os.environ.get(REQUIRE_ALL):
        pytest.fail(f"{reason}, and {REQUIRE_ALL} is set: .ci/run installs it", pytrace=False)
    pytest.skip(reason)


def session_root(tmp_path_factory):
    """A folder of this test session that every xdist worker sees (its own basetemp alone)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def built_once(tmp_path_factory, name, build):
    """`build(folder)`'s JSON result, run by the first worker that asks; the others wait.

    `build` fills `folder` (`SESSION/name`) and returns a JSON-able value; a
    build that raises leaves nothing behind, so the next worker to ask tries again.
    """
    root = session_root(tmp_path_factory)
    with FileLock(str(root / f"{name}.lock")):
        return build_unless_built(root, name, build)


def build_unless_built(root, name, build):
    """`built_once`'s work, for a caller that holds `ROOT/name.lock`."""
    folder, result = root / name, root / f"{name}.json"
    if not result.is_file():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        result.write_text(json.dumps(build(folder)))
    return folder, json.loads(result.read_text())


def copy_of(folder, tmp_path, name="run"):
    """A private copy of a shared run folder, for a test that changes it."""
    target = tmp_path / name
    shutil.copytree(folder, target)
    return target
