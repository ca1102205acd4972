"""What every recipe's command line shares: argument types, the run folder, resume checks.

Flag errors are argparse's (`error: argument --units: ...`, exit status 2);
problems found later (the data, a run folder of other settings) end in one
`error: ...` line and exit status 2 too, without touching what a run folder holds.
"""

import argparse
import functools
import os
import shutil
import sys
import tempfile
import time

from keras_seq import cluster, files, training
from keras_seq.data.text_files import check_encoding
from keras_seq.export.tflite import QUANTIZATIONS


def integer(low):
    """An argparse type: an int `>= low`; argparse names the flag in its error."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {value}")
        return value

    parse.metavar = "N"  # what `HelpFormatter` shows for the value
    return parse


def number(low, high=None, low_inclusive=True):
    """An argparse type: a float in `[low, high)` (or `(low, high)`)."""
    interval = f"{'[' if low_inclusive else '('}{low}, {'inf' if high is None else high})"

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        too_low = value < low if low_inclusive else value <= low
        if too_low or (high is not None and value >= high) or value != value:
            raise argparse.ArgumentTypeError(f"must be a number in {interval}, got {text}")
        return value

    parse.metavar = "X"  # what `HelpFormatter` shows for the value
    return parse


def encoding(text):
    """An argparse type: `auto` or a text encoding Python knows."""
    try:
        return check_encoding(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Flag help wrapped to the terminal (at most 100 columns), each with its default.

    The description and the epilog (a recipe's usage examples) are shown as written. A
    flag whose help does not already say its default gets `(default: VALUE)`: its own
    default, or, for a flag left None so that a recipe can tell it was not given, the
    recipe's value in `defaults` (by dest). A default still None is the recipe's rule,
    which the help text names.
    """

    def __init__(self, prog, defaults=None):
        width = min(shutil.get_terminal_size().columns, 100)
        super().__init__(prog, max_help_position=28, width=width)
        self.defaults = defaults or {}

    def _get_default_metavar_for_optional(self, action):
        return getattr(action.type, "metavar", None) or super()._get_default_metavar_for_optional(
            action
        )

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if default is None:
            default = self.defaults.get(action.dest)
        shown = default not in (None, argparse.SUPPRESS) and not isinstance(default, bool)
        if shown and action.option_strings and "default" not in text:
            text += " (default: " + str(default).replace("%", "%%") + ")"
        return text


def parser(doc, defaults=None, **options):
    """An `ArgumentParser` for a recipe or a command: its description is the first
    paragraph of `doc` (a module docstring), its epilog the rest (the usage examples),
    with `HelpFormatter` showing `defaults` (the recipe's, by dest) for flags left None.
    Flags go in groups (`parser.add_argument_group`); the run folder's flags with
    `add_run_flags`."""
    first, _, rest = doc.strip().partition("\n\n")
    formatter = functools.partial(HelpFormatter, defaults=defaults)
    return argparse.ArgumentParser(
        description=first, epilog=rest or None, formatter_class=formatter, **options
    )


def add_run_flags(group, quick):
    """The flags of a recipe that writes a run folder: `--output-dir` and `--quick`
    (`quick`: what it does)."""
    group.add_argument(
        "--output-dir",
        metavar="DIR",
        help="the run folder: a new one is made under runs/ by default; an existing one is "
        "resumed (same settings) or, when finished, left as it is",
    )
    group.add_argument("--quick", action="store_true", help=quick)


def add_quantizations_flag(add):
    """`--quantizations NAME ...` (config key `quantizations`; None: all of them), with `add`
    an argument group's `add_argument`."""
    add("--quantizations", nargs="+", choices=QUANTIZATIONS, metavar="NAME",
        help=f"the TFLite models to write: any of {', '.join(QUANTIZATIONS)} (default: all; "
        "int8 alone is the phone's model, and the quickest export)")  # fmt: skip


def add_training_flags(group, defaults):
    """The training flags of the translation and tagging recipes: seed, patience,
    checkpoint averaging, time budget, gradient clipping (see `check_clipping`).

    `defaults`: the text of the defaults the recipe's own table does not hold, by
    `average_checkpoints` and `time_budget` (left to a rule in both recipes).
    """
    add = group.add_argument
    add("--seed", type=integer(0), help="of the weights, the data order and dropout")
    add(
        "--patience",
        type=integer(1),
        help="epochs without a better validation score before training stops",
    )
    add(
        "--average-checkpoints",
        type=integer(0),
        metavar="N",
        help="average the last N epochs' weights after training, kept only if better on "
        f"validation (0 = off; default: {defaults['average_checkpoints']})",
    )
    add(
        "--time-budget",
        type=number(0),
        metavar="MINUTES",
        help="end training after the last epoch that fits in MINUTES; the learning-rate "
        f"decay is fitted to it (0 = no limit; default: {defaults['time_budget']})",
    )
    add("--clipnorm", type=number(0), help="clip each variable's gradient norm (0 = off)")
    add("--global-clipnorm", type=number(0), help="clip the global gradient norm instead (0 = off)")


def check_clipping(parser, config, clipnorm_given, others=("global_clipnorm",)):
    """Clipping one way only: `--clipnorm` (per variable, on by default) is replaced by
    the first of `others` (`--global-clipnorm`, `--clipvalue`) that `config` sets;
    `parser.error` when two are asked for."""
    asked = [flag for flag in others if config.get(flag)]
    if clipnorm_given:
        asked.insert(0, "clipnorm")
    if len(asked) > 1:
        first, second = (f"--{flag.replace('_', '-')}" for flag in asked[:2])
        parser.error(f"argument {second}: clip one way only (not with {first})")
    if asked and asked[0] != "clipnorm":
        config["clipnorm"] = 0.0


def check_output_dir(parser, output_dir):
    """`parser.error` if `--output-dir` names a file."""
    if output_dir is not None and os.path.exists(output_dir) and not os.path.isdir(output_dir):
        parser.error(f"argument --output-dir: {output_dir!r} is a file, not a folder")


def run_dir(output_dir, prefix):
    """`output_dir`, or a new `runs/PREFIX-YYYYmmdd-HHMMSS`."""
    return output_dir or os.path.join("runs", time.strftime(f"{prefix}-%Y%m%d-%H%M%S"))


def add_strategy_flag(add):
    """The recipes' `--strategy` (config key `distribution`), with `add` an argument
    group's `add_argument` (or a recipe's wrapper of it)."""
    add("--strategy", dest="distribution", choices=training.DISTRIBUTIONS, metavar="NAME",
        help=f"tf.distribute strategy: {', '.join(training.DISTRIBUTIONS)} (default auto: "
        "TPU, TF_CONFIG workers, GPUs, else one device; several workers: each runs the same "
        "command, docs/multi-worker.md)")  # fmt: skip


def worker_output_dir(output_dir, distribution):
    """Where this process writes its run: `output_dir` for the chief (or the only process);
    for another worker of a multi-worker `distribution`, its own copy while it trains
    (its backup, to resume from) beside the chief's folder (`RUN.worker-1`), or a new
    temporary folder without `output_dir`. `end_worker` deletes it."""
    if cluster.is_chief(distribution):
        return output_dir
    name = cluster.worker_name(distribution)
    if output_dir is None:
        return tempfile.mkdtemp(prefix=f"keras-seq-{name}-")
    return f"{os.path.normpath(output_dir)}.{name}"


def end_worker(run, distribution):
    """A worker other than the chief, once trained: its copy of the run deleted. The chief
    evaluates, exports and writes the run folder."""
    shutil.rmtree(run.path)
    print(f"{cluster.worker_name(distribution)}: trained; the chief writes the run folder")


class SettingsChanged(ValueError):
    """A run folder holds a run with other model settings than the command asks for."""


def check_resumable(run, config, settings, defaults=None):
    """Checks that `run` holds no run, or one with the same `settings` as `config`.

    Settings still left to the data (None in `config`) are taken from the earlier
    run; a key the earlier run's config lacks (a setting added since) had its
    value in `defaults`.

    Raises:
        SettingsChanged: naming each changed setting (was, now).
    """
    if not os.path.exists(run[run.CONFIG]):
        return
    previous = {**{k: (defaults or {}).get(k) for k in settings}, **run.read_config()}
    for key in settings:
        if config.get(key) is None:
            config[key] = previous.get(key)
    changed = {
        k: (previous.get(k), config.get(k)) for k in settings if previous.get(k) != config.get(k)
    }
    if changed:
        raise SettingsChanged(
            f"{run.path} holds a run with other settings {changed} (was, now). "
            "Use another --output-dir, or the same settings to resume it."
        )


def start_run(run, config, settings, defaults=None, new_run=None):
    """Writes `config` into the run folder `run` (a `RunFolder`), creating it; a folder
    holding a run already must hold one of the same `settings` (`check_resumable`).
    Settings still None after that take their value in `new_run`: a default that changed
    applies to new runs, while a resumed run keeps the value it started with."""
    check_resumable(run, config, settings, defaults)
    config.update({k: v for k, v in (new_run or {}).items() if config.get(k) is None})
    os.makedirs(run.path, exist_ok=True)
    run.write_json(run.CONFIG, config)
    return run


def earlier_choices(config, output_dir, keys, legacy=None):
    """A resumed run keeps what the data chose for it when it started (the `keys` of its
    config.json that `config` leaves None), even where the rule has changed since; a key
    its config.json lacks (a setting added since) had its value in `legacy`, if there."""
    path = None if output_dir is None else os.path.join(output_dir, "config.json")
    if path is None or not os.path.exists(path):
        return
    earlier = {**(legacy or {}), **files.read_json(path)}
    config.update(
        {k: earlier[k] for k in keys if config.get(k) is None and earlier.get(k) is not None}
    )


def fail(error):
    """Prints `error: ...` on stderr; returns the exit status 2."""
    print(f"error: {error}", file=sys.stderr)
    return 2
