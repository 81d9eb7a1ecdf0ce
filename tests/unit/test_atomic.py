"""_atomic: a file is replaced whole, keeps its mode and links, and leaves no temporary behind."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from envsync.system import atomic

if TYPE_CHECKING:
    from pathlib import Path


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_gets_the_mode_open_would_give_it(tmp_path: Path) -> None:
    umask = os.umask(0o027)
    try:
        atomic.write_text(tmp_path / "pylock.toml", "new\n")
        (tmp_path / "plain").write_text("x")
    finally:
        os.umask(umask)
    assert (tmp_path / "pylock.toml").read_text() == "new\n"
    assert mode(tmp_path / "pylock.toml") == mode(tmp_path / "plain") == 0o640
    assert leftovers(tmp_path) == []


def test_an_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "env.toml"
    target.write_text("old\n")
    target.chmod(0o604)
    atomic.write_bytes(target, b"new\r\n")
    assert target.read_bytes() == b"new\r\n"  # bytes as given: no newline translation
    assert mode(target) == 0o604


def test_a_symlink_stays_a_link_to_the_new_content(tmp_path: Path) -> None:
    real = tmp_path / "shared" / "env.toml"
    real.parent.mkdir()
    real.write_text("old\n")
    link = tmp_path / "env.toml"
    link.symlink_to(real)
    atomic.write_text(link, "new\n")
    assert link.is_symlink()
    assert real.read_text() == "new\n"


def test_a_failed_rename_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "pylock.toml"
    target.write_text("old\n")

    def refuse(_src: str, _dst: str) -> None:
        raise PermissionError("refused")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        atomic.write_text(target, "new\n")
    assert target.read_text() == "old\n"
    assert leftovers(tmp_path) == []


def test_temporaries_of_dead_writers_are_swept_and_live_ones_kept(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stray = tmp_path / f".pylock.toml.{dead.stdout.strip()}.0badf00d.tmp"
    live = tmp_path / f".pylock.toml.{os.getpid()}.0badf00d.tmp"
    other = tmp_path / f".env.toml.{dead.stdout.strip()}.0badf00d.tmp"
    for path in (stray, live, other):
        path.write_text("half a fi")
    atomic.write_text(tmp_path / "pylock.toml", "new\n")
    assert leftovers(tmp_path) == sorted([live.name, other.name])
