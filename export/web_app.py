"""The on-device translator page: `python -m export web RUN` writes RUN/web/.

A static page that translates in the browser with the run's TFLite models
(LiteRT.js, its WebAssembly CPU runtime) and its SentencePiece models (a
WebAssembly build of SentencePiece), and draws the attention heat map of each
translation. No server logic: any static file server will do,

    python -m http.server -d RUN/web 8000     # then open http://127.0.0.1:8000

and the page then runs its models on one thread; a server that sends the
cross-origin isolation headers (`ISOLATION_HEADERS`, as `python -m export web RUN
--serve PORT` does) lets it run them on every core.

The page's source is `export/web/` (JavaScript, dependencies pinned in its
`package.json` and lockfile). Writing the page installs them with `npm ci`
once and bundles them with esbuild, so Node.js and npm must be installed.

RUN/web/ holds `index.html`, `app.js`, `run.json` (the page's settings),
`models/{greedy,beam}.tflite` (builtin ops, with an `attention` output),
`vocab/` and `wasm/` (the LiteRT.js runtimes: one loads).
"""

import contextlib
import functools
import http.server
import json
import os
import shutil
import subprocess
import threading

from keras_seq.tasks import RunFolder, Translator

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "web")
WEB = "web"
# The LiteRT.js runtimes `loadLiteRt` picks from without JSPI: the relaxed-SIMD build,
# the compatible one for browsers without relaxed SIMD, and the threaded one that a
# cross-origin isolated page loads (`serve`'s headers) to run the models on every core.
WASM_FILES = tuple(
    f"litert_wasm_{kind}internal.{extension}"
    for kind in ("", "compat_", "threaded_")
    for extension in ("js", "wasm")
)
# What makes a page cross-origin isolated, so that WebAssembly threads can share memory.
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
}
# Scores shown on the page when the run has them (`metrics.json` keys).
SCORES = ("bleu", "bleu_greedy", "chrf", "chrf_greedy")
# Headless Chromium for driving the page (tests, benchmarks/web_latency.py) on a machine
# without network: no background connections (update, sync, metrics).
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_path():
    """The system's Chromium (Debian: `apt-get install chromium`), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


class WebBuildError(RuntimeError):
    """Node.js/npm is missing, or installing or bundling the page's JavaScript failed."""


def npm_command():
    npm = shutil.which("npm")
    if npm is None:
        raise WebBuildError(
            "python -m export web needs Node.js and npm to bundle the page "
            "(Debian/Ubuntu: apt-get install nodejs npm; or https://nodejs.org)."
        )
    return npm


def run_npm(arguments, source=SOURCE):
    """Runs `npm ARGUMENTS` in `source`; raises `WebBuildError` with npm's output."""
    command = [npm_command(), *arguments]
    result = subprocess.run(command, cwd=source, capture_output=True, text=True)
    if result.returncode:
        output = (result.stdout + result.stderr).strip().splitlines()
        raise WebBuildError(
            f"`{' '.join(['npm', *arguments])}` in {source} failed "
            f"(exit {result.returncode}):\n" + "\n".join(output[-20:])
        )


def build_bundle(source=SOURCE):
    """Installs the page's npm packages (`npm ci`, when the lockfile is newer than the
    install) and bundles `dist/app.js`.

    Returns the path of the bundle.
    """
    installed = os.path.join(source, "node_modules", ".package-lock.json")
    lockfile = os.path.join(source, "package-lock.json")
    if not os.path.exists(installed) or os.path.getmtime(installed) < os.path.getmtime(lockfile):
        run_npm(["ci", "--no-audit", "--no-fund"], source)
    run_npm(["run", "build"], source)
    return os.path.join(source, "dist", "app.js")


def web_models(translator, folder, quantization="float32"):
    """Writes `folder/models/NAME.tflite`, with attention, for each convertible strategy.

    Returns `{name: path relative to folder}`.
    """
    from keras_seq.export.tflite import CONVERTIBLE, convert

    os.makedirs(os.path.join(folder, "models"), exist_ok=True)
    models = {}
    for name, strategy in translator.ids_strategies().items():
        if isinstance(strategy, CONVERTIBLE):
            relative = f"models/{name}.tflite"
            with open(os.path.join(folder, relative), "wb") as f:
                f.write(convert(translator, strategy, quantization, with_attention=True))
            models[name] = relative
    return models


def write_web(run_dir, quantization="float32", translator=None, source=SOURCE):
    """Writes RUN/web/ (see the module docstring) and returns its path.

    Args:
        run_dir: a finished `recipes/translate.py` run folder.
        quantization: weights of the page's models: `"float32"` (the same
            tokens as the SavedModel), `"float16"` or `"int8"` (smaller downloads).
        translator: an already built `TranslatorModule` of the run; by default loaded.
        source: the page's JavaScript project.

    Raises:
        NotARunFolder: for a folder without a trained translation run.
        WebBuildError: when Node.js/npm is missing or bundling fails.
    """
    run = RunFolder(run_dir)
    run.check_trained()
    bundle = build_bundle(source)
    translator = translator or Translator.from_preset(run.path).module()

    def write(folder):
        settings = {
            "name": os.path.basename(os.path.abspath(run.path)),
            "max_source_length": translator.max_source_length,
            "max_target_length": translator.max_target_length,
            "quantization": quantization,
            "models": web_models(translator, folder, quantization),
            "default_model": translator.strategy.name,
            "metrics": {k: round(v, 2) for k, v in run.read_metrics().items() if k in SCORES},
        }
        with open(os.path.join(folder, "run.json"), "w") as f:
            json.dump(settings, f, indent=2)
        shutil.copy(os.path.join(source, "index.html"), folder)
        shutil.copy(bundle, folder)
        os.makedirs(os.path.join(folder, "vocab"))
        for side in ("source", "target"):
            for extension in ("model", "vocab"):
                shutil.copy(f"{run.vocab_prefix(side)}.{extension}", os.path.join(folder, "vocab"))
        os.makedirs(os.path.join(folder, "wasm"))
        wasm = os.path.join(source, "node_modules", "@litertjs", "core", "wasm")
        for name in WASM_FILES:
            shutil.copy(os.path.join(wasm, name), os.path.join(folder, "wasm"))

    run.write_folder(WEB, write)
    return run[WEB]


@contextlib.contextmanager
def serve(directory, port=0, host="127.0.0.1", isolated=True):
    """Serves `directory` over HTTP in a thread (`port` 0: a free one); yields its URL.

    `isolated`: with `ISOLATION_HEADERS`, so that the translator page runs its models
    on every core (a plain static server, such as `python -m http.server`, gives it one).
    """

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def end_headers(self):
            for name, value in ISOLATION_HEADERS.items() if isolated else ():
                self.send_header(name, value)
            super().end_headers()

    handler = functools.partial(Quiet, directory=os.fspath(directory))
    server = http.server.ThreadingHTTPServer((host, port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
