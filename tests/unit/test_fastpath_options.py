"""The no-change path reads the command line by itself: it must read it as argparse does."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from envsync.cli import fastpath
from envsync.cli._main import _parser
from envsync.core.names import SPEC_NAME


def _actions(command: str) -> dict[str, argparse.Action]:
    """The full command line's options of *command*, by every spelling."""
    parser = _parser([command])
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {s: a for a in sub.choices[command]._actions for s in a.option_strings}


@pytest.mark.parametrize("command", sorted(fastpath.FLAGS))
def test_every_flag_the_fast_path_reads_is_a_flag_of_the_command(command: str) -> None:
    actions = _actions(command)
    for flag in fastpath.FLAGS[command]:
        assert flag in actions, f"{command} has no {flag}"
        assert actions[flag].nargs == 0, f"{command} {flag} takes a value"


@pytest.mark.parametrize("command", sorted(fastpath.VALUED))
def test_every_valued_option_the_fast_path_reads_takes_one_value(command: str) -> None:
    actions = _actions(command)
    for option in fastpath.VALUED[command]:
        assert option in actions, f"{command} has no {option}"
        assert actions[option].nargs in (None, 1), (
            f"{command} {option} takes {actions[option].nargs}"
        )


def test_the_default_spec_is_the_same_on_both_paths() -> None:
    assert _actions("apply")["--spec"].default == Path(SPEC_NAME)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["apply"], {}),
        (["apply", "-q", "--spec", "x.toml"], {}),
        (["apply", "--group=dev", "--frozen"], {"--group": ["dev"], "--frozen": [""]}),
        (["apply", "--lock-timeout", "5", "--all-groups"], {"--all-groups": [""]}),
        (["apply", "--verify"], None),  # an option the fast path leaves to the full one
        (["apply", "--lock-timeout", "-1"], None),  # a usage error, for the full path to say
        (["apply", "--group"], None),
        (["lock"], None),
    ],
)
def test_the_options_that_choose_what_is_installed(
    argv: list[str], expected: dict[str, list[str]] | None
) -> None:
    assert fastpath.chosen(argv) == expected
