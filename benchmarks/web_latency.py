"""Translation time in the browser (LiteRT.js) next to the Python LiteRT client's.

For one sentence and each model of the run's translator page (`python -m export
web`; written first when RUN/web is missing): the median time the page reports
for a translation (SentencePiece in and out, the TFLite model on LiteRT.js's
WebAssembly CPU runtime, one thread) in headless Chromium, against the Python
client `export/clients/litert_client.py` on the same model file and sentence,
with one thread and with all cores. Also the page's load time, and both
translations (they must be equal).

Usage: python -m benchmarks.web_latency RUN_DIR [--sentence TEXT] [--repeats 20]
           [--output out.json]
"""

import argparse
import functools
import json
import os
import statistics
import sys
import time

from benchmarks.common import machine, median_ms, write_json
from export.clients.litert_client import LiteRTTranslator
from export.web_app import CHROMIUM_ARGS, chromium_path, serve, write_web


def browser_figures(web, sentence, repeats):
    """`{model: {"median_ms", "translation"}}` and the page's load time, from Chromium."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise SystemExit("error: Chromium is not installed (Debian: apt-get install chromium)")
    figures = {}
    with sync_playwright() as playwright, serve(web) as url:
        browser = playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        page = browser.new_page()
        start = time.perf_counter()
        page.goto(url)
        page.wait_for_selector("body[data-state=ready]", timeout=300_000)
        load_ms = (time.perf_counter() - start) * 1000
        page.fill("#source", sentence)
        for model in page.eval_on_selector_all("#model option", "os => os.map(o => o.value)"):
            page.select_option("#model", model)
            times = []
            for _ in range(repeats + 1):  # the first is a warm-up
                page.click("#translate")
                page.wait_for_selector("body[data-state=ready]")
                times.append(float(page.get_attribute("#timing", "data-milliseconds")))
            figures[model] = {
                "median_ms": statistics.median(times[1:]),
                "first_ms": times[0],
                "translation": page.inner_text("#translation"),
            }
        browser.close()
    return figures, load_ms


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", help="a finished recipes/translate.py run folder")
    parser.add_argument("--sentence", default="tuesday, may 23, 1978")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--output", help="JSON file (default: print)")
    args = parser.parse_args(argv)
    web = os.path.join(args.run_dir, "web")
    if not os.path.exists(os.path.join(web, "run.json")):
        write_web(args.run_dir)
    with open(os.path.join(web, "run.json")) as f:
        settings = json.load(f)

    in_browser, load_ms = browser_figures(web, args.sentence, args.repeats)
    models = {}
    for name, relative in settings["models"].items():
        path = os.path.join(web, relative)
        entry = {"model": relative, "size_mb": round(os.path.getsize(path) / 1e6, 2)}
        for label, threads in (("python_1_thread", 1), ("python_all_cores", os.cpu_count())):
            client = LiteRTTranslator(path, os.path.join(web, "vocab"), num_threads=threads)
            translate = functools.partial(client.translate, args.sentence)
            entry[f"{label}_ms"] = median_ms(translate, args.repeats)
        entry["python_translation"] = client.translate(args.sentence)[0]
        entry["browser_ms"] = in_browser[name]["median_ms"]
        entry["browser_first_ms"] = in_browser[name]["first_ms"]
        entry["browser_translation"] = in_browser[name]["translation"]
        entry["same_translation"] = entry["browser_translation"] == entry["python_translation"]
        models[name] = entry
        print(
            f"{name}: browser {entry['browser_ms']:.1f} ms, Python LiteRT "
            f"{entry['python_1_thread_ms']:.1f} ms (1 thread) / "
            f"{entry['python_all_cores_ms']:.1f} ms (all cores), "
            f"same translation: {entry['same_translation']}",
            file=sys.stderr,
        )
    write_json(
        {
            "machine": machine(),
            "run": os.path.abspath(args.run_dir),
            "sentence": args.sentence,
            "quantization": settings["quantization"],
            "page_load_ms": load_ms,
            "repeats": args.repeats,
            "models": models,
        },
        args.output,
    )
    return 0 if all(m["same_translation"] for m in models.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
