"""Options shared by several commands."""

from __future__ import annotations

import argparse

from envsync.core.names import SPEC_NAME

__all__ = ["add_common", "add_envs", "add_groups", "add_json", "add_lock_timeout", "add_mode"]


def add_common(parser: argparse.ArgumentParser) -> None:
    """--spec, --quiet, --verbose: every command takes them."""
    from pathlib import Path  # noqa: PLC0415 - only for the command being run, not --help

    parser.add_argument(
        "--spec",
        type=Path,
        default=Path(SPEC_NAME),
        metavar="PATH",
        help="the env.toml to use (default: ./env.toml)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only results and errors")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log subprocess commands (secrets redacted)"
    )


def add_json(parser: argparse.ArgumentParser) -> None:
    """--json: one machine-readable document on stdout (schemas/report.schema.json)."""
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON report on stdout (schema: schemas/report.schema.json)",
    )


def add_groups(parser: argparse.ArgumentParser) -> None:
    """Which dependency groups to install besides (or instead of) the main dependencies."""
    parser.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="NAME",
        help="also install the dependency group NAME (repeatable)",
    )
    parser.add_argument(
        "--only-group",
        action="append",
        default=[],
        metavar="NAME",
        help="install only the group NAME, without the main dependencies (repeatable)",
    )
    parser.add_argument("--all-groups", action="store_true", help="install every group of env.toml")
    parser.add_argument(
        "--no-default-groups",
        action="store_true",
        help="do not install the groups listed in [env] default-groups",
    )


def add_envs(parser: argparse.ArgumentParser) -> None:
    """-e/--env NAME (repeatable) or --all-envs: which of env.toml's environments."""
    envs = parser.add_mutually_exclusive_group()
    envs.add_argument(
        "-e",
        "--env",
        action="append",
        default=[],
        metavar="NAME",
        help="the environment NAME of env.toml's [envs] (`default`: [env]); repeatable, "
        "each in turn (default: [env])",
    )
    envs.add_argument(
        "--all-envs",
        action="store_true",
        help="every environment: [env], then each of [envs], in turn",
    )


def add_mode(parser: argparse.ArgumentParser) -> None:
    """--frozen / --locked: how a missing or stale lock is handled."""
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument(
        "--frozen",
        action="store_const",
        const="frozen",
        dest="mode",
        help="use pylock.toml as it is; never resolve (fails if there is none)",
    )
    modes.add_argument(
        "--locked",
        action="store_const",
        const="locked",
        dest="mode",
        help="fail, changing nothing, if pylock.toml is out of date",
    )
    parser.set_defaults(mode="auto")


def add_flag(parser: argparse.ArgumentParser, option: str, help_text: str) -> None:
    """A switch: *option* given, or not."""
    parser.add_argument(option, action="store_true", help=help_text)


def add_lock_timeout(parser: argparse.ArgumentParser) -> None:
    """--lock-timeout: how long to wait for another envsync working on the same venv."""
    parser.add_argument(
        "--lock-timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="while another envsync is changing the same venv, wait at most SECONDS for it "
        "(default: as long as it takes; 0: fail at once)",
    )


def _seconds(value: str) -> float:
    """A non-negative number of seconds, for argparse."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also refuses NaN
        msg = f"expected a number of seconds (0 or more), found {value!r}"
        raise argparse.ArgumentTypeError(msg)
    return seconds
