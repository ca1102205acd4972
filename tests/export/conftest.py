"""Helpers of the export tests (the exported run itself is `tests/conftest.py`'s)."""

import os

import numpy as np
import pytest

from tests.shared import missing

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAX_SOURCE, MAX_TARGET = 24, 24


def padded_ids(tokenizer, texts, width):
    """Right-padded `(len(texts), width)` int32 source ids."""
    ids = np.zeros((len(texts), width), np.int32)
    for row, tokens in enumerate(tokenizer.tokenize(texts).to_list()):
        tokens = tokens[:width]
        ids[row, : len(tokens)] = tokens
    return ids


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium, for opening a page as a person would.

    Debian's `chromium` driven by Playwright (no browser download); skips, saying
    why, where either is missing (fails in CI, whose `.ci/run` installs both).
    """
    from export.web_app import CHROMIUM_ARGS, chromium_path

    try:
        from playwright import sync_api
    except ImportError:
        missing("Playwright is not installed (pip install playwright)")
    if chromium_path() is None:
        missing("Chromium is not installed (Debian: apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path(), args=list(CHROMIUM_ARGS)
        )
        yield chromium
        chromium.close()
