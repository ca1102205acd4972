"""Runs keras_seq's benchmarks and writes one JSON.

Parts, in order (`--only` picks some):
- `ceilings`: this machine's 2048^2 `tf.matmul` rate in float32 and bfloat16 and
  its memory bandwidth, measured in this process (always measured: every other
  figure is read against them);
- `training`: target tokens/s of every decoder feeding, float32 and
  mixed_bfloat16, XLA off and on, with model FLOPs, the fraction of the matmul
  ceiling, peak RSS and the ratio to the built-in reference
  (`benchmarks/train_throughput.py`);
- `decoding`: latency and measured batch-64 throughput of Keras, the SavedModel
  and TFLite (greedy, beam-5; float32, float16, int8; one thread, all cores;
  with and without a lexical shortlist), against the reference's greedy loop
  (`benchmarks/decoding.py`);
- `scaling`: the curves against batch size, length, output length and
  vocabulary, with a PNG (`benchmarks/scaling.py`);
- `browser`: a translation in the translator page (LiteRT.js in headless
  Chromium) against the Python LiteRT client on the same model file, for a
  translator of the `small` preset's shape in float32 and int8
  (`benchmarks/web_latency.py`; skipped, saying why, without Chromium or npm).

`--quick` runs every part on a small configuration, XLA off, in a few minutes
(a test runs it); its figures only show that the harness works. Progress goes to stderr.
`python -m benchmarks.report FILE` prints the JSON's tables in Markdown.

Usage: python -m benchmarks [--quick] [--only PART ...] [--output results.json]
           [--plot scaling.png]
"""

import argparse
import os
import tempfile
import time

from benchmarks import decoding, scaling, train_throughput, web_latency
from benchmarks.common import ceilings, machine, progress, write_json

PARTS = ("training", "decoding", "scaling", "browser")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="a small configuration, minutes")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS), metavar="PART")
    parser.add_argument("--output", default="benchmark-results.json", help="the JSON file")
    parser.add_argument(
        "--plot", help="the scaling PNG (default: next to --output, ending in .png)"
    )
    args = parser.parse_args(argv)
    for path in (args.output, args.plot):  # made now, not found missing after the runs
        if path and os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)

    started = time.perf_counter()
    progress("ceilings: matmul float32, bfloat16; memory bandwidth")
    result = {
        "benchmark": "keras_seq",
        "quick": args.quick,
        "machine": machine(),
        "ceilings": ceilings(args.quick),
    }
    if "training" in args.only:
        variants = train_throughput.QUICK_VARIANTS if args.quick else train_throughput.VARIANTS
        result["training"] = train_throughput.run(
            result["ceilings"],
            quick=args.quick,
            variants=tuple(variants),
            jit_compile=(False,) if args.quick else (False, True),
        )
    if "decoding" in args.only:
        with tempfile.TemporaryDirectory() as folder:
            result["decoding"], _ = decoding.run(folder, quick=args.quick)
    if "scaling" in args.only:
        result["scaling"] = scaling.run(quick=args.quick)
        result["scaling"]["plot"] = scaling.plot(
            result["scaling"], args.plot or os.path.splitext(args.output)[0] + ".png"
        )
    if "browser" in args.only:
        with tempfile.TemporaryDirectory() as folder:
            result["browser"] = web_latency.run(folder, quick=args.quick)
    result["seconds"] = time.perf_counter() - started
    write_json(result, args.output)
    progress(f"wrote {args.output} in {result['seconds']:.0f} s")


if __name__ == "__main__":
    main()
