"""Translation time in the browser (LiteRT.js) next to the Python LiteRT client's.

For one sentence and each model of the run's translator page (`python -m export
web`; written first when RUN/web is missing): the median time the page reports
for a translation (SentencePiece in and out, the TFLite model on LiteRT.js's
WebAssembly CPU runtime) in headless Chromium, against the Python client
`export/clients/litert_client.py` on the same model file and sentence. The page
is served plainly (one thread: `browser_ms`) and cross-origin isolated (its
threaded runtime on every core: `browser_all_cores_ms`); the client runs with one
thread and with all cores; `browser_over_python` and
`browser_all_cores_over_python` compare the same thread counts. Also each side's
time in the model's run alone (`browser_run_ms`, `python_1_thread_run_ms`: the rest
is SentencePiece and copying tensors), the page's load time, and the translations
(the page's at each thread count and the client's must be equal).

The harness's `browser` part (`run`) does the same without a trained run: an
untrained translator of the `small` preset's shape (`TIED_CONFIG`), its joint
SentencePiece vocabulary learned from random words, 30 output steps (the end
token forbidden, as in `benchmarks/decoding.py`), pages in float32 and int8, and
`kernels`: what the runtime allows (`benchmarks/web_kernels.py`).

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

import numpy as np

from benchmarks import web_kernels
from benchmarks.common import (
    QUICK_TIED_CONFIG,
    TIED_CONFIG,
    TIED_OPTIONS,
    machine,
    median_ms,
    progress,
    standard_model,
    write_json,
)
from export.clients.litert_client import LiteRTTranslator
from export.web_app import (
    CHROMIUM_ARGS,
    WebBuildError,
    chromium_path,
    npm_command,
    serve,
    write_web,
)

QUANTIZATIONS = ("float32", "int8")


def browser_figures(web, sentence, repeats, isolated=False):
    """`{model: {"median_ms", "translation", ...}}`, the page's load time and its thread
    count, from Chromium; `isolated`: served cross-origin isolated (every core)."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise SystemExit("error: Chromium is not installed (Debian: apt-get install chromium)")
    figures = {}
    with sync_playwright() as playwright, serve(web, isolated=isolated) as url:
        browser = playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        page = browser.new_page()
        start = time.perf_counter()
        page.goto(url)
        page.wait_for_selector("body[data-state=ready]", timeout=300_000)
        load_ms = (time.perf_counter() - start) * 1000
        page.fill("#source", sentence)
        for model in page.eval_on_selector_all("#model option", "os => os.map(o => o.value)"):
            page.select_option("#model", model)
            times, run_times = [], []
            for _ in range(repeats + 1):  # the first is a warm-up
                page.click("#translate")
                page.wait_for_selector("body[data-state=ready]")
                times.append(float(page.get_attribute("#timing", "data-milliseconds")))
                run_times.append(float(page.get_attribute("#timing", "data-run-milliseconds")))
            figures[model] = {
                "median_ms": statistics.median(times[1:]),
                "run_median_ms": statistics.median(run_times[1:]),
                "first_ms": times[0],
                "translation": page.inner_text("#translation"),
            }
        threads = int(page.get_attribute("#timing", "data-threads"))
        browser.close()
    return figures, load_ms, threads


def page_figures(web, sentence, repeats):
    """The page's load time and, for each of its models, the browser's and the Python
    client's time for `sentence` and their translations."""
    with open(os.path.join(web, "run.json")) as f:
        settings = json.load(f)
    in_browser, load_ms, _ = browser_figures(web, sentence, repeats)
    all_cores, _, page_threads = browser_figures(web, sentence, repeats, isolated=True)
    models = {}
    for name, relative in settings["models"].items():
        path = os.path.join(web, relative)
        entry = {"model": relative, "size_mb": round(os.path.getsize(path) / 1e6, 2)}
        for label, threads in (("python_all_cores", os.cpu_count()), ("python_1_thread", 1)):
            client = LiteRTTranslator(path, os.path.join(web, "vocab"), num_threads=threads)
            translate = functools.partial(client.translate, sentence)
            entry[f"{label}_ms"] = median_ms(translate, repeats)
        ids, _ = client.source_ids(sentence)  # the interpreter alone, one thread
        run = functools.partial(client.runner, **{client.input_name: ids})
        entry["python_1_thread_run_ms"] = median_ms(run, repeats)
        entry["python_translation"] = client.translate(sentence)[0]
        entry["browser_ms"] = in_browser[name]["median_ms"]
        entry["browser_run_ms"] = in_browser[name]["run_median_ms"]
        entry["browser_first_ms"] = in_browser[name]["first_ms"]
        entry["browser_over_python"] = entry["browser_ms"] / entry["python_1_thread_ms"]
        entry["browser_all_cores_ms"] = all_cores[name]["median_ms"]
        entry["browser_all_cores_over_python"] = (
            entry["browser_all_cores_ms"] / entry["python_all_cores_ms"]
        )
        entry["browser_translation"] = in_browser[name]["translation"]
        entry["same_translation"] = (
            entry["browser_translation"]
            == all_cores[name]["translation"]
            == entry["python_translation"]
        )
        models[name] = entry
        progress(
            f"{name}: browser {entry['browser_ms']:.1f} ms (1 thread) / "
            f"{entry['browser_all_cores_ms']:.1f} ms (all cores), Python LiteRT "
            f"{entry['python_1_thread_ms']:.1f} ms / {entry['python_all_cores_ms']:.1f} ms, "
            f"same translation: {entry['same_translation']}"
        )
    return {
        "quantization": settings["quantization"],
        "page_load_ms": load_ms,
        "browser_all_cores_threads": page_threads,
        "models": models,
    }


def random_sentences(count, words=12, lexicon=20_000, seed=0):
    """`count` sentences of `words` random made-up words each, Zipf-distributed over a
    `lexicon` of syllable strings: enough distinct text for a 10,000-piece vocabulary."""
    rng = np.random.default_rng(seed)
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"]
    vocabulary = ["".join(rng.choice(syllables, rng.integers(1, 5))) for _ in range(lexicon)]
    ranks = rng.zipf(1.2, size=(count, words)) % lexicon
    return [" ".join(vocabulary[r] for r in row) for row in ranks]


def untrained_run(folder, config, steps, source_tokens):
    """Writes an untrained translator of `config` (with `TIED_OPTIONS`, beam-5) and its
    joint vocabulary, learned from `random_sentences`, as a preset in `folder`.

    Returns a sentence of `source_tokens` pieces or fewer."""
    from benchmarks.decoding import BEAM, decode_every_step
    from keras_seq.data import SubwordTokenizer
    from keras_seq.decoding import BeamSearch
    from keras_seq.tasks import Seq2SeqPreprocessor, Translator

    texts = random_sentences(20_000 if config["source_vocab_size"] > 1000 else 2_000)
    tokenizer = SubwordTokenizer.train(texts, config["source_vocab_size"])
    sizes = {"source_vocab_size": tokenizer.vocab_size, "target_vocab_size": tokenizer.vocab_size}
    model = decode_every_step(standard_model(config={**config, **sizes}, **TIED_OPTIONS))
    preprocessor = Seq2SeqPreprocessor(tokenizer, tokenizer, source_tokens, steps)
    Translator(model, preprocessor, BeamSearch(BEAM)).save_to_preset(folder)
    words = texts[1].split()
    while len(tokenizer.tokenize([" ".join(words)])[0]) > source_tokens:
        words.pop()
    return " ".join(words)


def run(folder, quick=False, repeats=None):
    """The harness's `browser` part: `page_figures` of an `untrained_run` in `folder`, for
    each of `QUANTIZATIONS`. Without Chromium or npm, says which is missing instead."""
    from benchmarks.decoding import SOURCE_TOKENS, STEPS

    try:
        npm_command()
        if chromium_path() is None:
            raise WebBuildError("Chromium is not installed (Debian: apt-get install chromium)")
    except WebBuildError as error:
        progress(f"browser: skipped: {error}")
        return {"skipped": str(error)}
    repeats = repeats or (2 if quick else 20)
    config = QUICK_TIED_CONFIG if quick else TIED_CONFIG
    steps, tokens = (8, 6) if quick else (STEPS, SOURCE_TOKENS)
    progress("browser: an untrained translator of the small preset's shape")
    sentence = untrained_run(folder, config, steps, tokens)
    part = {"config": {**config, **TIED_OPTIONS}, "sentence": sentence, "repeats": repeats}
    for quantization in QUANTIZATIONS:
        progress(f"browser: the translator page in {quantization}, LiteRT.js and Python LiteRT")
        web = write_web(folder, quantization)
        part[quantization] = page_figures(web, sentence, repeats)
    part["kernels"] = web_kernels.run(repeats)
    return part


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
    figures = page_figures(web, args.sentence, args.repeats)
    write_json(
        {
            "machine": machine(),
            "run": os.path.abspath(args.run_dir),
            "sentence": args.sentence,
            "repeats": args.repeats,
            **figures,
        },
        args.output,
    )
    return 0 if all(m["same_translation"] for m in figures["models"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
