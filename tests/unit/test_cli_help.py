"""``envsync --help``: every command listed once, under its purpose, in a stable order."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from envsync.cli import _main
from envsync.cli._main import COMMANDS, PURPOSES, main

if TYPE_CHECKING:
    import pytest


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
