"""``envsync --help``: every command listed once, under its purpose, in a stable order; it
and ``--version`` answer without loading what a command needs."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from envsync import __version__
from envsync.cli import _main
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


def test_help_and_version_load_no_run_context_errors_or_fast_path() -> None:
    for flag in ("--help", "--version"):
        code = (
            "import sys\n"
            "from envsync.cli import main\n"
            f"main([{flag!r}])\n"
            "heavy = {'envsync.errors', 'envsync.cli._context', 'envsync.cli.fastpath',\n"
            "         'envsync.usecases.nochange', 'packaging', 'dataclasses'}\n"
            "print(sorted(heavy & set(sys.modules)))\n"
        )
        run = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert run.stdout.splitlines()[-1] == "[]", (flag, run.stdout[-500:])


def test_the_usage_exit_code_is_the_one_errors_names() -> None:
    assert _EXIT_USAGE == EXIT_USAGE
