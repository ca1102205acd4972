"""What every recipe's command line shares: help a newcomer can read, flag types."""

import argparse

import pytest

from keras_seq import cli
from tests.integration.recipe_runner import load_recipe

RECIPES = ("translate", "tag", "forecast", "compare", "teacher_forcing_study")
GROUPS = {"data", "model", "training", "model and training", "decoding", "export", "run"}


@pytest.mark.parametrize("name", RECIPES)
def test_every_flag_has_help_with_its_default_in_a_group(name, capsys):
    parser = load_recipe(name).build_parser()
    assert parser.epilog and "python recipes/" in parser.epilog  # the usage examples
    for group in parser._action_groups:
        for action in group._group_actions:
            if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
                continue
            flag = action.option_strings[0]
            assert group.title in GROUPS, (flag, group.title)
            assert action.help, f"{name}: {flag} has no help"
            shown = parser.formatter_class("prog")._get_help_string(action)
            takes_value = action.nargs != 0 and not isinstance(
                action, argparse.BooleanOptionalAction
            )
            if takes_value and action.choices is None and "--quick" not in flag:
                path = action.metavar in ("FILE", "DIR", "RUN")  # a path: none unless given
                assert "default" in shown or "only these" in shown or path, (
                    f"{name}: {flag}'s help names no default: {shown!r}"
                )
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    text = capsys.readouterr().out
    assert max(map(len, text.splitlines())) <= 100  # wrapped
    assert "usage:" in text and "python recipes/" in text


def test_the_translator_is_offered_only_its_own_monitors():
    parser = load_recipe("translate").build_parser()
    monitor = next(a for a in parser._actions if "--monitor" in a.option_strings)
    assert sorted(monitor.choices) == ["val_bleu", "val_loss"]


def test_number_types_name_the_flag_value_and_range():
    with pytest.raises(argparse.ArgumentTypeError, match="must be an integer >= 1, got 0"):
        cli.integer(1)("0")
    with pytest.raises(argparse.ArgumentTypeError, match=r"must be a number in \[0, 1\), got 1"):
        cli.number(0, 1)("1")
    assert cli.integer(1).metavar == "N" and cli.number(0).metavar == "X"
