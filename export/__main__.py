"""Export a trained run folder for deployment: `python -m export RUN_DIR`.

Writes RUN_DIR/saved_model (TF Serving: text in, text out) and RUN_DIR/tflite
(greedy and beam search, builtin ops only, float32/float16/int8).
"""

import argparse
import os
import sys

# TensorFlow's C++ info and warning logs drown the run's own output; errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m export", description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", help="a finished recipes/translate.py run folder")
    parser.add_argument("--no-tflite", action="store_true", help="write the SavedModel only")
    parser.add_argument(
        "--quantizations",
        nargs="+",
        default=["float32", "float16", "int8"],
        choices=["float32", "float16", "int8"],
        help="TFLite variants",
    )
    args = parser.parse_args(argv)

    from keras_seq.export import export_run

    written = export_run(args.run_dir, tflite=not args.no_tflite, quantizations=args.quantizations)
    print(f"SavedModel: {written['saved_model']}")
    print(f"  inspect:  saved_model_cli show --dir {written['saved_model']} --all")
    for name, path in written.get("tflite", {}).items():
        print(f"TFLite {name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
