"""Training throughput of `build_seq2seq` in target tokens per second.

Standard configuration (issue 2): vocabularies 8000/8000, embedding 256,
bidirectional LSTM 2x256 encoder, LSTM 512 decoder, attention 512, batch 64,
source and target lengths uniform in 8..24. Every decoder feeding (Luong fused
teacher forcing, Bahdanau loop, loop and parallel scheduled sampling at
probability 0.25) in every precision, with and without XLA, is timed the same
way: `model.train_on_batch` on the same pre-generated batches after one untimed
pass over them (tracing each new shape), median over repeats. The same model
written with Keras built-ins only (`benchmarks/reference.py`) is timed the same
way in each precision, and every keras_seq figure is given as a ratio against it
(`ratio_to_reference`). Each
figure also has its model FLOPs per target token (`benchmarks/flops.py`), its
model FLOP rate as a fraction of the same-run matmul rate of its precision, and
the process's peak resident set while it ran.

Usage: python -m benchmarks.train_throughput [--steps 10] [--repeats 3] [--output out.json]
       [--variants ...] [--precisions float32 mixed_bfloat16] [--jit-compile off on]
       [--units N --embedding-dim N --vocab-size N --encoder-layers N --batch-size N]
       [--cell lstm|gru|rnn]  (another cell: the reference, an LSTM, is then left out)
"""

import argparse
import statistics
import time

import numpy as np

from benchmarks.common import (
    QUICK_BATCH,
    QUICK_CONFIG,
    STANDARD_BATCH,
    STANDARD_CONFIG,
    PeakRSS,
    ceilings,
    machine,
    progress,
    standard_model,
    write_json,
)
from benchmarks.flops import GATES, training_flops
from benchmarks.reference import compile_reference, reference_model


def batches(count, batch_size, vocab_size, lengths=(8, 24), seed=0):
    """`count` batches of random ids, source and target lengths uniform in `lengths`."""
    rng = np.random.default_rng(seed)
    low, high = lengths
    out = []
    for _ in range(count):
        source_length = rng.integers(low, high + 1, size=batch_size)
        target_length = rng.integers(low, high + 1, size=batch_size)
        source = np.zeros((batch_size, source_length.max()), "int32")
        target = np.zeros((batch_size, target_length.max() + 1), "int32")
        labels = np.zeros_like(target)
        for i in range(batch_size):
            source[i, : source_length[i]] = rng.integers(4, vocab_size, source_length[i])
            tokens = rng.integers(4, vocab_size, target_length[i])
            target[i, : target_length[i] + 1] = [1, *tokens]
            labels[i, : target_length[i] + 1] = [*tokens, 2]
        out.append(({"source_ids": source, "target_ids": target}, labels))
    return out


# The decoder feedings of the table: (build_seq2seq options, sampling probability, FLOPs style).
REFERENCE = "keras_builtins_reference"
VARIANTS = {
    REFERENCE: (None, 0.0, "reference"),
    "luong_fused_teacher_forcing": ({"attention": "luong_general"}, 0.0, "luong"),
    "luong_fused_tied_output": (
        {"attention": "luong_general", "tie_embeddings": True},
        0.0,
        "luong_tied",
    ),
    "bahdanau_loop": ({"attention": "bahdanau"}, 0.0, "bahdanau"),
    "loop_scheduled_sampling": (
        {"attention": "luong_general", "scheduled_sampling": "loop"},
        0.25,
        "luong",
    ),
    "parallel_scheduled_sampling": (
        {"attention": "luong_general", "scheduled_sampling": "parallel"},
        0.25,
        "luong",
    ),
}
# A smoke run (`--quick`) measures a looping decoder beside the reference (its scaling
# curves train the fused one).
QUICK_VARIANTS = (REFERENCE, "bahdanau_loop")
CEILING_OF = {"float32": "matmul_gflops_float32", "mixed_bfloat16": "matmul_gflops_bfloat16"}


def real_lengths(data):
    """Per-sentence real source and target (label) lengths of the batches."""
    sources = np.concatenate([(x["source_ids"] > 0).sum(1) for x, _ in data])
    targets = np.concatenate([(y > 0).sum(1) for _, y in data])
    return sources, targets


def measure(variant, precision, jit_compile, repeats, data, config=STANDARD_CONFIG):
    """Median target tokens per second of `model.train_on_batch` for one configuration."""
    import keras

    import keras_seq as ks

    keras.config.set_dtype_policy(precision)
    options, probability, style = VARIANTS[variant]
    sources, targets = real_lengths(data)
    tokens = int(targets.sum())
    flops = training_flops(style, config, sources, targets)
    if options is None:  # the built-in reference: padding weighted out by sample weights
        model = compile_reference(reference_model(**config), jit_compile=jit_compile)
        steps = [(x, y, (y > 0).astype("float32")) for x, y in data]
    else:
        model = standard_model(config=config, **options)
        ks.models.seq2seq_parts(model).decoder.sampling_probability.assign(probability)
        model.compile(
            keras.optimizers.Adam(1e-3), ks.losses.SequenceCrossentropy(), jit_compile=jit_compile
        )
        ks.training.build_optimizer(model)
        steps = [(x, y, None) for x, y in data]
    with PeakRSS() as memory:
        start = time.perf_counter()
        for inputs, labels, weights in steps:  # trace (each new shape), compile, warm up
            model.train_on_batch(inputs, labels, sample_weight=weights)
        warm_up = time.perf_counter() - start
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            for inputs, labels, weights in steps:
                model.train_on_batch(inputs, labels, sample_weight=weights)
            rates.append(tokens / (time.perf_counter() - start))
    keras.config.set_dtype_policy("float32")
    rate = statistics.median(rates)
    return {
        "variant": variant,
        "precision": precision,
        "jit_compile": jit_compile,
        "sampling_probability": probability,
        "target_tokens_per_second": rate,
        "runs": rates,
        "steps_per_run": len(data),
        "warm_up_seconds": warm_up,
        "model_flops_per_target_token": flops / tokens,
        "model_gflops_per_second": rate * flops / tokens / 1e9,
        "peak_rss_bytes": memory.peak_bytes,
    }


def add_ratios(results, machine_ceilings):
    """Each result's `ratio_to_reference` (its rate over the reference's, same precision and
    XLA setting) and `fraction_of_matmul_ceiling` (its model FLOP rate over the same-run
    matmul rate of its precision)."""
    reference = {
        (r["precision"], r["jit_compile"]): r["target_tokens_per_second"]
        for r in results
        if r["variant"] == REFERENCE
    }
    for r in results:
        rate = reference.get((r["precision"], r["jit_compile"]))
        if rate:
            r["ratio_to_reference"] = r["target_tokens_per_second"] / rate
        ceiling = machine_ceilings.get(CEILING_OF.get(r["precision"]))
        if ceiling:
            r["fraction_of_matmul_ceiling"] = r["model_gflops_per_second"] / ceiling


SIZES = ("units", "embedding_dim", "vocab_size", "encoder_layers", "batch_size")


def sized(
    config, batch, units=None, embedding_dim=None, vocab_size=None, encoder_layers=None,
    batch_size=None, cell=None,
):  # fmt: skip
    """`(config, batch)` with another model size: the decoder and attention `2 * units`
    wide (the encoder's output width, as `build_seq2seq` makes them by default), both
    vocabularies `vocab_size`; another recurrent `cell`. None keeps the standard's."""
    config, batch = dict(config), dict(batch)
    if cell:
        config["cell"] = cell
    if encoder_layers:
        config["encoder_layers"] = encoder_layers
    if units:
        config.update(units=units, decoder_units=2 * units, attention_units=2 * units)
    if embedding_dim:
        config["embedding_dim"] = embedding_dim
    if vocab_size:
        config.update(source_vocab_size=vocab_size, target_vocab_size=vocab_size)
    if batch_size:
        batch["batch_size"] = batch_size
    return config, batch


def run(
    machine_ceilings,
    quick=False,
    variants=tuple(VARIANTS),
    precisions=("float32", "mixed_bfloat16"),
    jit_compile=(False, True),
    steps=None,
    repeats=None,
    **size,
):
    """The training part of the harness: every variant x precision x XLA setting, for the
    standard configuration or another size (`sized`'s keywords)."""
    config, batch = (QUICK_CONFIG, QUICK_BATCH) if quick else (STANDARD_CONFIG, STANDARD_BATCH)
    config, batch = sized(config, batch, **size)
    steps = steps or (2 if quick else 10)
    repeats = repeats or (1 if quick else 3)
    data = batches(steps, batch["batch_size"], config["source_vocab_size"], batch["lengths"])
    results = []
    for precision in precisions:
        for jit in jit_compile:
            for variant in variants:
                progress(f"training: {variant}, {precision}, XLA {'on' if jit else 'off'}")
                results.append(measure(variant, precision, jit, repeats, data, config))
    add_ratios(results, machine_ceilings)
    return {
        "config": {**config, **batch, "steps_per_run": steps, "repeats": repeats},
        "flops": "analytic, matmuls only, real tokens, training = 3x forward (benchmarks/flops.py)",
        "results": results,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument(
        "--precisions",
        nargs="+",
        default=["float32", "mixed_bfloat16"],
        choices=["float32", "mixed_bfloat16", "mixed_float16"],
    )
    parser.add_argument("--jit-compile", nargs="+", default=["off", "on"], choices=["off", "on"])
    sizes = parser.add_argument_group("another model size (default: the standard configuration)")
    for name in SIZES:
        sizes.add_argument("--" + name.replace("_", "-"), type=int)
    sizes.add_argument("--cell", choices=sorted(GATES))
    parser.add_argument("--output")
    args = parser.parse_args()
    if args.cell not in (None, "lstm") and REFERENCE in args.variants:
        parser.error(f"argument --cell: {REFERENCE} is an LSTM; leave it out of --variants")
    machine_ceilings = ceilings()
    part = run(
        machine_ceilings,
        variants=args.variants,
        precisions=args.precisions,
        jit_compile=[j == "on" for j in args.jit_compile],
        steps=args.steps,
        repeats=args.repeats,
        cell=args.cell,
        **{name: getattr(args, name) for name in SIZES},
    )
    write_json(
        {
            "benchmark": "train_throughput",
            "machine": machine(),
            "ceilings": machine_ceilings,
            **part,
        },
        args.output,
    )


if __name__ == "__main__":
    main()
