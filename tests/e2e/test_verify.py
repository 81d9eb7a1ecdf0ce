"""Drift others miss: a local edit inside site-packages is found by check --verify and
repaired by apply --verify."""

from __future__ import annotations

import os
import zipfile
from typing import TYPE_CHECKING

import pytest

from helpers import envsync

if TYPE_CHECKING:
    from pathlib import Path

    from helpers import SyncProject

pytestmark = pytest.mark.e2e


def module(root: Path, name: str) -> Path:
    return next((root / ".venv").rglob(f"site-packages/{name}/__init__.py"))


def test_check_verify_reports_each_kind_of_drift(
    capsys: pytest.CaptureFixture[str], synced: Path
) -> None:
    spec = str(synced / "env.toml")
    assert envsync(capsys, "check", "--verify", "--spec", spec).code == 0
    module(synced, "alpha").write_text("HACKED = True\n")
    module(synced, "beta").unlink()
    (module(synced, "alpha").parent / "extra.py").write_text("x = 1\n")

    plain = envsync(capsys, "check", "--spec", spec)
    verified = envsync(capsys, "check", "--verify", "--spec", spec)

    assert plain.code == 0  # without --verify only names and versions are compared
    assert verified.code == 2
    assert "! alpha: modified alpha/__init__.py" in verified.out
    assert "! alpha: unrecorded alpha/extra.py" in verified.out
    assert "! beta: missing beta/__init__.py" in verified.out
    assert "~ alpha 2.0 (reinstall: files modified)" in verified.out


def test_apply_verify_repairs_the_drifted_packages(
    capsys: pytest.CaptureFixture[str], synced: Path
) -> None:
    spec = str(synced / "env.toml")
    module(synced, "alpha").write_text("HACKED = True\n")
    stray = module(synced, "alpha").parent / "extra.py"
    stray.write_text("x = 1\n")

    assert "No changes" in envsync(capsys, "apply", "--spec", spec).out  # fast path: unseen
    repaired = envsync(capsys, "apply", "--verify", "--spec", spec)

    assert repaired.code == 0, repaired.err
    assert "~ alpha 2.0 (reinstall: files modified)" in repaired.out
    assert "HACKED" not in module(synced, "alpha").read_text()
    assert not stray.exists()
    assert envsync(capsys, "check", "--verify", "--spec", spec).code == 0


def wheel_bytes(cache: Path, member: str) -> bytes:
    """*member* as the (hash-checked) wheel in *cache* holds it."""
    wheel = next(cache.glob("wheels/*/*/alpha-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(member)


def test_apply_verify_heals_a_cache_entry_changed_in_place(
    capsys: pytest.CaptureFixture[str],
    own_cache: Path,
    tmp_path: Path,
    sync_project: SyncProject,
) -> None:
    project = sync_project(tmp_path / "project")
    spec = str(project / "env.toml")
    installed = module(project, "alpha")
    assert installed.stat().st_nlink > 1  # hard-linked from the cache
    cached = next(own_cache.glob("unpacked/*/files/alpha/__init__.py"))
    before = cached.stat()
    damaged = bytes(b ^ 0x20 if chr(b).isalpha() else b for b in cached.read_bytes())
    cached.write_bytes(damaged)  # bit rot: same size, mtime put back
    os.utime(cached, ns=(before.st_atime_ns, before.st_mtime_ns))
    good = wheel_bytes(own_cache, "alpha/__init__.py")
    assert installed.read_bytes() == damaged != good

    plain = envsync(capsys, "check", "--spec", spec)
    found = envsync(capsys, "check", "--verify", "--spec", spec)
    repaired = envsync(capsys, "apply", "--verify", "--spec", spec)

    assert plain.code == 0
    assert found.code == 2
    assert "! alpha: modified alpha/__init__.py" in found.out
    assert "Out of sync: run `envsync apply --verify` to fix it." in found.out
    assert repaired.code == 0, repaired.err
    assert "~ alpha 2.0 (reinstall: files modified)" in repaired.out
    assert module(project, "alpha").read_bytes() == good
    assert envsync(capsys, "check", "--verify", "--spec", spec).code == 0
    other = sync_project(tmp_path / "other")  # a venv made afterwards links the healed entry
    assert module(other, "alpha").read_bytes() == good


def test_check_without_drift_still_names_plain_apply(
    capsys: pytest.CaptureFixture[str], synced: Path
) -> None:
    spec = str(synced / "env.toml")
    (synced / "env.toml").write_text((synced / "env.toml").read_text().replace("alpha", "beta"))

    result = envsync(capsys, "check", "--verify", "--spec", spec)

    assert result.code == 2
    assert "Out of sync: run `envsync apply` to fix it." in result.out
