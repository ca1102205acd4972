"""Headless Chromium for the tests that open a page as a person would.

Debian's `chromium` driven by Playwright (`playwright.sync_api`, no browser
download: it launches the system's Chromium). Tests skip, saying why, where
either is missing; `.ci/run` installs both.
"""

import shutil

import pytest

from export.web_app import CHROMIUM_ARGS


def launch_chromium(playwright):
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    return playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
