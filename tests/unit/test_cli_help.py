"""``envsync --help``: every command listed once, under its purpose, in a stable order; it
and ``--version`` answer without loading what a command needs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from envsync import __version__
from envsync.cli import _main, helptext
from envsync.cli import main as entry
from envsync.cli._main import _EXIT_USAGE, COMMANDS, PURPOSES, _parser, main
from envsync.errors import EXIT_USAGE


def test_every_command_has_exactly_one_purpose() -> None:
    listed = [name for _, names in PURPOSES for name in names]
    assert sorted(listed) == sorted(COMMANDS)
    assert len(listed) == len(set(listed))


def _sections(text: str) -> dict[str, list[str]]:
    """The help's purpose headings, each with the command names listed under it."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if heading := re.fullmatch(r"(\S.*):", line):
            current = sections.setdefault(heading[1], [])
        elif current is not None and (command := re.match(r"  (\S+)\s{2,}\S", line)):
            current.append(command[1])
        elif not line.strip():
            current = None
    return sections


def test_help_lists_the_commands_by_purpose(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    sections = _sections(out)
    for title, names in PURPOSES:
        assert sections[title] == list(names), title
    # argparse's own flat list would name every command a second time.
    assert sum(out.count(f"\n  {name} ") + out.count(f"\n    {name} ") for name in COMMANDS) == len(
        COMMANDS
    )
    assert all(len(line) <= 79 for line in out.splitlines())


def test_long_help_wraps_under_its_command(monkeypatch: pytest.MonkeyPatch) -> None:
    long = "word " * 30
    monkeypatch.setattr(_main, "COMMANDS", {"apply": ("m", long.strip())})
    monkeypatch.setattr(_main, "PURPOSES", (("environment", ("apply",)),))
    text = _main.command_list(width=40)
    lines = text.splitlines()
    assert lines[0] == "environment:"
    assert lines[1].startswith("  apply  word")
    assert all(line.startswith(" " * 9 + "word") for line in lines[2:])
    assert all(len(line) <= 40 for line in lines)
    assert " ".join(text.split()[2:]) == long.strip()


def test_version_is_answered_before_argparse_with_what_argparse_says(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert entry(["--version"]) == 0
    early = capsys.readouterr().out
    with pytest.raises(SystemExit) as info:  # the parser's own version action
        _parser(["--version"]).parse_args(["--version"])
    assert info.value.code == 0
    assert early == capsys.readouterr().out == f"envsync {__version__}\n"


def _argparse_help(columns: int, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COLUMNS", str(columns))
    return _parser(["--help"]).format_help()


def test_the_kept_help_is_what_argparse_prints_at_every_width_it_claims(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for columns in [*range(helptext.MIN_COLUMNS, 200), 1000]:
        assert _argparse_help(columns, monkeypatch) == helptext.HELP, (
            f"src/envsync/cli/helptext.py is stale at {columns} columns: set HELP to "
            f"this text:\n{_argparse_help(80, monkeypatch)}"
        )
    # Narrower, argparse wraps the usage line its own way, and is left to print it.
    assert _argparse_help(helptext.MIN_COLUMNS - 1, monkeypatch) != helptext.HELP


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_is_answered_before_argparse_where_the_terminal_is_wide_enough(
    flag: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(_main, "main", lambda _argv: pytest.fail("argparse was used"))
    assert entry([flag]) == 0
    assert capsys.readouterr().out == helptext.HELP


def test_a_narrow_terminal_gets_argparses_own_wrapping(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    assert entry(["--help"]) == 0
    out = capsys.readouterr().out
    assert out == _argparse_help(40, monkeypatch) != helptext.HELP
    assert out.startswith("usage: envsync [-h] [--version]\n               COMMAND ...\n")


@pytest.mark.parametrize(
    ("columns_env", "stdout_size", "expected"),
    [
        ("120", None, 120),  # COLUMNS wins
        ("120", 90, 120),
        ("0", 90, 90),  # not positive: the terminal
        ("-5", 90, 90),
        ("wide", 90, 90),  # not a number: the terminal
        (None, 90, 90),
        (None, 0, 80),  # a terminal that says 0 columns
        (None, None, 80),  # no terminal: 80
        ("wide", None, 80),
    ],
)
def test_columns_follow_shutils_rule(
    columns_env: str | None,
    stdout_size: int | None,
    expected: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if columns_env is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns_env)
    monkeypatch.delenv("LINES", raising=False)

    def terminal_size(_fd: int) -> os.terminal_size:
        if stdout_size is None:
            raise OSError("not a terminal")
        return os.terminal_size((stdout_size, 24))

    monkeypatch.setattr(os, "get_terminal_size", terminal_size)
    assert helptext.columns() == expected == shutil.get_terminal_size().columns


def test_help_and_version_load_no_run_context_errors_or_fast_path() -> None:
    for flag in ("--help", "--version"):
        code = (
            "import sys\n"
            "from envsync.cli import main\n"
            f"main([{flag!r}])\n"
            "heavy = {'envsync.errors', 'envsync.cli._context', 'envsync.cli.fastpath',\n"
            "         'argparse', 'textwrap', 'envsync.cli._main',\n"
            "         'envsync.usecases.nochange', 'packaging', 'dataclasses'}\n"
            "print(sorted(heavy & set(sys.modules)))\n"
        )
        run = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "COLUMNS": "80"},
        )
        assert run.stdout.splitlines()[-1] == "[]", (flag, run.stdout[-500:])


def test_the_usage_exit_code_is_the_one_errors_names() -> None:
    assert _EXIT_USAGE == EXIT_USAGE
