"""Headless Chromium for the tests that open a page as a person would.

Debian's `chromium` driven by Playwright (`playwright.sync_api`, no browser
download: it launches `/usr/bin/chromium`). Tests skip, saying why, where either
is missing; `.ci/run` installs both.
"""

import contextlib
import functools
import http.server
import shutil
import threading

import pytest

# No background connections: this machine's network is closed, and Chromium's
# update, sync and metrics requests only slow it down there.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def launch_chromium(playwright):
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    return playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))


@contextlib.contextmanager
def serve(directory):
    """Serves `directory` on 127.0.0.1 (a free port) in a thread; yields its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
