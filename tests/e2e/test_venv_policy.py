"""The venv's life and what apply keeps: recreate, the keep-policy, a read-only plan."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from packaging.specifiers import SpecifierSet

from envsync.core.planner import Change
from envsync.usecases import apply, project
from envsync.venv.interpreters import find_python

from helpers import envsync, snapshot, venv_packages, venv_version, write_spec
from support import isolated_env

if TYPE_CHECKING:
    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e


def spec_path(root: Path) -> str:
    return str(root / "env.toml")


def test_plan_shows_the_changes_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    write_spec(tmp_path, ["alpha"], index_url=package_index.url)

    result = envsync(capsys, "plan", "--spec", spec_path(tmp_path))

    assert result.code == 0, result.err
    assert "+ venv" in result.out
    assert "+ alpha 2.0" in result.out
    assert "+ beta 2.0" in result.out
    assert "Plan: 2 to install, 0 to upgrade, 0 to downgrade, 0 to reinstall, 0 to remove." in (
        result.out
    )
    assert snapshot(tmp_path) == {"lock": None, "venv": None}


def test_apply_recreates_the_venv_when_its_python_no_longer_fits(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    try:
        find_python(SpecifierSet("==3.12.*"))
    except Exception:  # noqa: BLE001 - any failure means this machine lacks it
        pytest.skip("no Python 3.12 on this machine")
    write_spec(tmp_path, ["alpha"], index_url=package_index.url, python="3.11")
    assert envsync(capsys, "apply", "--spec", spec_path(tmp_path)).code == 0
    assert venv_version(tmp_path) == "3.11"

    write_spec(tmp_path, ["alpha"], index_url=package_index.url, python="3.12")
    result = envsync(capsys, "apply", "--spec", spec_path(tmp_path))

    assert result.code == 0, result.err
    assert "Recreating" in result.err
    assert "does not satisfy" in result.err
    assert venv_version(tmp_path) == "3.12"
    assert venv_packages(tmp_path) == {"alpha": "2.0", "beta": "2.0"}
    assert not [p for p in tmp_path.iterdir() if ".old-" in p.name]


def make_venv_with_pip(root: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "venv", str(root / ".venv")], check=True, env=isolated_env()
    )


def test_pip_is_kept_by_default(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    make_venv_with_pip(tmp_path)
    write_spec(tmp_path, ["theta"], index_url=package_index.url)

    result = envsync(capsys, "apply", "--spec", spec_path(tmp_path))

    assert result.code == 0, result.err
    packages = venv_packages(tmp_path)
    assert "pip" in packages
    assert packages["theta"] == "1.0"
    assert "- pip" not in result.out


def test_an_empty_keep_list_makes_the_venv_exactly_the_lock(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    make_venv_with_pip(tmp_path)
    write_spec(tmp_path, ["theta"], index_url=package_index.url, keep=[])

    result = envsync(capsys, "apply", "--spec", spec_path(tmp_path))

    assert result.code == 0, result.err
    assert "- pip" in result.out
    assert venv_packages(tmp_path) == {"theta": "1.0"}


def test_envsync_never_plans_to_remove_itself_from_its_own_venv(
    tmp_path: Path, package_index: PackageIndex
) -> None:
    # Read-only: plan against the venv running these tests, which holds envsync.
    version = ".".join(map(str, sys.version_info[:2]))
    (tmp_path / "env.toml").write_text(
        f'[env]\npython = "{version}"\nvenv = "{Path(sys.prefix).as_posix()}"\n'
        f'dependencies = ["theta"]\nkeep = []\n[index]\nurl = "{package_index.url}"\n'
    )
    spec = project.load_spec(tmp_path / "env.toml")

    outcome = apply.plan(spec)

    removed = {a.name for a in outcome.plan.of(Change.REMOVE)}
    for needed in ("envsync", "packaging", "pip-tools", "pip", "tomli-w", "click", "build"):
        assert needed not in removed
    assert "pytest" in removed  # not needed by envsync: the exact policy still applies
    assert not (tmp_path / "pylock.toml").exists()
