"""``[env] link-mode``: hard links share files between venvs, copies and clones do not."""

from __future__ import annotations

import errno
import fcntl
import logging
import os
from typing import TYPE_CHECKING

import pytest
import tomli_w

from helpers import envsync

if TYPE_CHECKING:
    from pathlib import Path

    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e

FICLONE = 0x40049409


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache: the tests edit files that may be hard links into it."""
    monkeypatch.setenv("ENVSYNC_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def project(root: Path, index: PackageIndex, link_mode: str | None) -> str:
    """A project asking for alpha with *link_mode* (None: not set); its env.toml."""
    root.mkdir()
    env: dict[str, object] = {"dependencies": ["alpha"]}
    if link_mode is not None:
        env["link-mode"] = link_mode
    spec = root / "env.toml"
    spec.write_text(tomli_w.dumps({"env": env, "index": {"url": index.url}}), "utf-8")
    return str(spec)


def applied(
    capsys: pytest.CaptureFixture[str], root: Path, index: PackageIndex, mode: str | None
) -> Path:
    """Apply a new project under *root*; the installed ``alpha/__init__.py``."""
    result = envsync(capsys, "apply", "--spec", project(root, index, mode))
    assert result.code == 0, result.err
    return next((root / ".venv").rglob("site-packages/alpha/__init__.py"))


def edit_in_place(path: Path) -> None:
    """Change *path*'s bytes through the open file, as an editor saving in place does."""
    with path.open("r+b") as out:
        out.write(b"#")


def cached(cache: Path) -> Path:
    return next(cache.glob("unpacked/*/files/alpha/__init__.py"))


def test_hard_links_share_one_file_between_venvs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, cache: Path, package_index: PackageIndex
) -> None:
    first = applied(capsys, tmp_path / "a", package_index, None)
    second = applied(capsys, tmp_path / "b", package_index, "hardlink")

    assert first.stat().st_ino == second.stat().st_ino == cached(cache).stat().st_ino
    edit_in_place(first)
    assert second.read_bytes().startswith(b"#")  # the trade-off the README documents


def test_copies_keep_each_venv_to_itself(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, cache: Path, package_index: PackageIndex
) -> None:
    first = applied(capsys, tmp_path / "a", package_index, "copy")
    second = applied(capsys, tmp_path / "b", package_index, "copy")
    original = second.read_bytes()

    assert first.stat().st_nlink == second.stat().st_nlink == cached(cache).stat().st_nlink == 1
    edit_in_place(first)

    assert second.read_bytes() == original == cached(cache).read_bytes()
    assert not original.startswith(b"#")
    check = envsync(capsys, "check", "--verify", "--spec", str(tmp_path / "b" / "env.toml"))
    assert check.code == 0, check.out


def reflinks_work(folder: Path) -> bool:
    """Whether *folder*'s filesystem clones files (btrfs, XFS) or not (ext4, tmpfs)."""
    source, target = folder / "probe-source", folder / "probe-target"
    source.write_bytes(b"x")
    with source.open("rb") as src, target.open("wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
        except OSError as exc:
            unsupported = {errno.EOPNOTSUPP, errno.EXDEV, errno.EINVAL, errno.ENOTTY}
            if exc.errno not in unsupported:
                raise
            return False
    return True


def test_clones_are_separate_files_and_fall_back_to_copies_where_unsupported(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    cache: Path,
    package_index: PackageIndex,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="envsync.install.linking")

    installed = applied(capsys, tmp_path / "a", package_index, "clone")

    assert installed.stat().st_nlink == 1
    assert installed.stat().st_ino != cached(cache).stat().st_ino
    assert installed.read_bytes() == cached(cache).read_bytes()
    assert os.access(installed, os.R_OK)
    fell_back = "copying instead of the link mode clone" in caplog.text
    assert fell_back == (not reflinks_work(tmp_path))
    edit_in_place(installed)
    assert not cached(cache).read_bytes().startswith(b"#")


def test_changing_the_link_mode_leaves_the_lock_fresh(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    applied(capsys, tmp_path / "a", package_index, None)
    spec = tmp_path / "a" / "env.toml"
    lock = (tmp_path / "a" / "pylock.toml").read_bytes()
    spec.write_text(spec.read_text("utf-8").replace("[env]\n", '[env]\nlink-mode = "copy"\n'))

    check = envsync(capsys, "check", "--spec", str(spec))
    again = envsync(capsys, "apply", "--spec", str(spec))

    assert check.code == 0, check.out
    assert "lock: fresh" in check.out
    assert again.code == 0
    assert "No changes." in again.out
    assert (tmp_path / "a" / "pylock.toml").read_bytes() == lock
