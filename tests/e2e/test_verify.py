"""Drift others miss: a local edit inside site-packages is found by check --verify and
repaired by apply --verify."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from helpers import envsync, write_spec

if TYPE_CHECKING:
    from pathlib import Path

    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e


@pytest.fixture
def synced(capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex) -> Path:
    write_spec(tmp_path, ["alpha"], index_url=package_index.url)
    assert envsync(capsys, "apply", "--spec", str(tmp_path / "env.toml")).code == 0
    return tmp_path


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
