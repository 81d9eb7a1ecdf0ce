"""Local project folders from [sources]: editable or not, and changes to them picked up."""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest

from helpers import applied, envsync, lock_packages, venv_packages, venv_python
from support.wheels import build_project_dir

if TYPE_CHECKING:
    from pathlib import Path

    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e


def make_local(root: Path, version: str, requires: list[str]) -> None:
    """Write (or rewrite) the project folder root/libs/mylib at *version*."""
    built = build_project_dir(root / "build", "mylib", version, requires=requires)
    target = root / "libs" / "mylib"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(built, target)
    shutil.rmtree(root / "build")
    deps = ", ".join(f'"{r}"' for r in requires)
    with (target / "pyproject.toml").open("a") as fh:  # where a real project keeps these
        fh.write(f'\n[project]\nname = "mylib"\nversion = "{version}"\ndependencies = [{deps}]\n')


def write_project(root: Path, index_url: str, *, editable: bool) -> None:
    (root / "env.toml").write_text(
        '[env]\ndependencies = ["mylib"]\n'
        f'[sources]\nmylib = {{ path = "libs/mylib", editable = {str(editable).lower()} }}\n'
        f'[index]\nurl = "{index_url}"\n'
    )


def imported_from(root: Path) -> str:
    code = "import mylib; print(mylib.__file__)"
    done = subprocess.run(
        [str(venv_python(root)), "-c", code], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.mark.parametrize("editable", [True, False], ids=["editable", "not-editable"])
def test_a_path_source_installs_the_local_folder(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    package_index: PackageIndex,
    editable: bool,
) -> None:
    make_local(tmp_path, "0.1", ["theta"])
    write_project(tmp_path, package_index.url, editable=editable)

    out = applied(capsys, tmp_path)

    assert "+ mylib 0.1" in out
    assert venv_packages(tmp_path) == {"mylib": "0.1", "theta": "1.0"}
    entry = lock_packages(tmp_path)["mylib"]
    expected = {"path": "libs/mylib", "editable": True} if editable else {"path": "libs/mylib"}
    assert entry["directory"] == expected
    assert "version" not in entry  # PEP 751: no version for a source tree
    in_tree = imported_from(tmp_path).startswith(str(tmp_path / "libs" / "mylib"))
    assert in_tree is editable
    assert "No changes" in applied(capsys, tmp_path)


@pytest.fixture
def installed_local(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> Path:
    """A project whose venv holds mylib 0.1 (no dependencies), editable from libs/mylib."""
    make_local(tmp_path, "0.1", [])
    write_project(tmp_path, package_index.url, editable=True)
    applied(capsys, tmp_path)
    return tmp_path


def test_a_new_version_of_a_local_package_is_picked_up(
    capsys: pytest.CaptureFixture[str], installed_local: Path
) -> None:
    make_local(installed_local, "0.2", ["theta"])
    out = applied(capsys, installed_local)

    assert "~ mylib 0.1 -> 0.2" in out
    assert "+ theta 1.0" in out
    assert venv_packages(installed_local) == {"mylib": "0.2", "theta": "1.0"}


def test_check_sees_a_changed_local_package(
    capsys: pytest.CaptureFixture[str], installed_local: Path
) -> None:
    assert envsync(capsys, "check", project=installed_local).code == 0

    make_local(installed_local, "0.1", ["theta"])
    result = envsync(capsys, "check", project=installed_local)

    assert result.code == 2
    assert "lock: stale" in result.out


@pytest.mark.parametrize(
    ("make", "found"),
    [
        (lambda _folder: None, "no such folder"),
        (lambda folder: folder.write_text("not a project\n"), "a file"),
        (lambda folder: folder.mkdir(), "a folder without pyproject.toml, setup.cfg or setup.py"),
    ],
    ids=["missing", "a file", "no build files"],
)
def test_a_source_path_that_is_no_project_is_one_clear_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex, make, found
) -> None:
    (tmp_path / "libs").mkdir()
    make(tmp_path / "libs" / "mylib")
    write_project(tmp_path, package_index.url, editable=False)

    for command in ("lock", "apply", "plan"):
        result = envsync(capsys, command, project=tmp_path)
        assert result.code == 1, (command, result.err)
        assert f"sources.mylib.path: expected a folder holding a Python project, found {found}" in (
            result.err
        )
        assert "Traceback" not in result.err
    assert not (tmp_path / "pylock.toml").exists()
    assert not (tmp_path / ".venv").exists()
