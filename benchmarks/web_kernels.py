"""What LiteRT.js's WebAssembly runtime allows: single kernels in the browser and in Python.

The translator page's models spend their time in `FULLY_CONNECTED` layers inside a
`WHILE` loop. This times, with one thread in headless Chromium (LiteRT.js) and in
Python LiteRT (XNNPACK, and the builtin kernels without it):

- `fc{1,5}`: one matrix product of 1 or 5 rows (greedy, beam-5) by a 512 x 10,000
  weight matrix (the output projection of the `small` preset's shape);
- `loop{1,5}`: 30 steps of a `WHILE` loop, each a product by a 512 x 2,048 matrix
  (an LSTM step's size) and a `tanh`;
- each in float32 and int8 (dynamic range, as the page's `_int8` models).

`browser_over_python` is the ratio a page can reach for a model made of such
layers; the translator's own ratio (`benchmarks/web_latency.py`) is read against it.

Usage: python -m benchmarks.web_kernels [--repeats 20] [--output out.json]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from benchmarks.common import machine, median_ms, progress, write_json
from export.web_app import CHROMIUM_ARGS, SOURCE, WASM_FILES, build_bundle, chromium_path, serve

ROWS = (1, 5)
QUANTIZATIONS = ("float32", "int8")
STEPS = 30


def kernel_models(folder):
    """Writes `folder/NAME.tflite` for each kernel; returns `{NAME: input shape}`."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    projection = tf.constant(rng.normal(0, 0.05, (512, 10_000)).astype(np.float32))
    step = tf.constant(rng.normal(0, 0.05, (512, 2048)).astype(np.float32))
    shapes = {}
    for rows in ROWS:
        spec = [tf.TensorSpec([rows, 512], tf.float32, name="x")]

        @tf.function(input_signature=spec)
        def fc(x):
            return {"y": tf.matmul(x, projection)}

        @tf.function(input_signature=spec)
        def loop(x):
            def body(i, h):
                y = tf.matmul(h, step)
                return i + 1, tf.tanh(y[:, :512] + y[:, 512:1024])

            return {"y": tf.while_loop(lambda i, h: i < STEPS, body, (0, x))[1]}

        for name, function in ((f"fc{rows}", fc), (f"loop{rows}", loop)):
            for quantization in QUANTIZATIONS:
                converter = tf.lite.TFLiteConverter.from_concrete_functions(
                    [function.get_concrete_function()], function
                )
                if quantization == "int8":
                    converter.optimizations = [tf.lite.Optimize.DEFAULT]
                path = os.path.join(folder, f"{name}_{quantization}.tflite")
                with open(path, "wb") as f:
                    f.write(converter.convert())
                shapes[f"{name}_{quantization}"] = [rows, 512]
    return shapes


def python_ms(path, shape, repeats, builtin=False):
    """Median milliseconds of one thread of Python LiteRT, XNNPACK or builtin kernels."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES if builtin else None
    options = {"experimental_op_resolver_type": resolver} if builtin else {}
    interpreter = Interpreter(model_path=path, num_threads=1, **options)
    interpreter.allocate_tensors()
    index = interpreter.get_input_details()[0]["index"]
    x = np.full(shape, 0.1, np.float32)

    def run():
        interpreter.set_tensor(index, x)
        interpreter.invoke()

    return median_ms(run, repeats)


def write_page(folder):
    """The timing page (`benchmarks/web/kernels.js`, bundled with the translator page's
    esbuild) and LiteRT.js's runtime, in `folder`."""
    build_bundle()  # installs the page's npm packages, esbuild among them
    entry = os.path.join(SOURCE, "src", "_kernels.js")  # resolves the page's packages
    shutil.copy(os.path.join(os.path.dirname(__file__), "web", "kernels.js"), entry)
    try:
        subprocess.run(
            [os.path.join(SOURCE, "node_modules", ".bin", "esbuild"), entry, "--bundle",
             "--format=esm", "--platform=browser", "--target=es2022", "--log-level=warning",
             "--alias:fs=./src/node-stub.js", "--external:module",
             f"--outfile={os.path.join(folder, 'kernels.js')}"],
            cwd=SOURCE, check=True,
        )  # fmt: skip
    finally:
        os.remove(entry)
    with open(os.path.join(folder, "index.html"), "w") as f:
        f.write('<!doctype html><script type="module" src="kernels.js"></script>\n')
    os.makedirs(os.path.join(folder, "wasm"))
    wasm = os.path.join(SOURCE, "node_modules", "@litertjs", "core", "wasm")
    for name in WASM_FILES:
        shutil.copy(os.path.join(wasm, name), os.path.join(folder, "wasm"))


def run(repeats=20):
    """`{kernel: {browser_ms, python_xnnpack_ms, python_builtin_ms, browser_over_python}}`."""
    from playwright.sync_api import sync_playwright

    if chromium_path() is None:
        raise SystemExit("error: Chromium is not installed (Debian: apt-get install chromium)")
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        progress("web kernels: converting the models, bundling the page")
        shapes = kernel_models(folder)
        write_page(folder)
        with sync_playwright() as playwright, serve(folder) as url:
            browser = playwright.chromium.launch(
                executable_path=chromium_path(), args=list(CHROMIUM_ARGS)
            )
            page = browser.new_page()
            page.goto(url)
            page.wait_for_function("() => window.timeModel !== undefined")
            for name, shape in shapes.items():
                path = os.path.join(folder, f"{name}.tflite")
                entry = {
                    "browser_ms": page.evaluate(
                        "([url, shape, repeats]) => window.timeModel(url, shape, repeats)",
                        [f"{name}.tflite", shape, repeats],
                    ),
                    "python_xnnpack_ms": python_ms(path, shape, repeats),
                    "python_builtin_ms": python_ms(path, shape, repeats, builtin=True),
                }
                entry["browser_over_python"] = entry["browser_ms"] / entry["python_xnnpack_ms"]
                results[name] = entry
                progress(
                    f"{name}: browser {entry['browser_ms']:.2f} ms, Python LiteRT "
                    f"{entry['python_xnnpack_ms']:.2f} ms (XNNPACK) / "
                    f"{entry['python_builtin_ms']:.2f} ms (builtin kernels)"
                )
            browser.close()
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--output", help="JSON file (default: print)")
    args = parser.parse_args(argv)
    write_json({"machine": machine(), "kernels": run(args.repeats)}, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
