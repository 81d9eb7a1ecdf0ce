"""env.toml -> pylock.toml -> venv, for real: pip-tools, pip and venvs against the local index."""

from __future__ import annotations

import hashlib
import subprocess
from typing import TYPE_CHECKING

import pytest

from envsync.usecases import sync

from helpers import (
    applied,
    envsync,
    lock_packages,
    lock_versions,
    read_lock,
    snapshot,
    venv_packages,
    venv_python,
    write_spec,
)
from support import run_pip
from support.wheels import build_project_dir, build_wheel

if TYPE_CHECKING:
    from pathlib import Path

    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e

# What a venv made by envsync holds besides the lock: nothing (no pip, no setuptools).
BASE: dict[str, str] = {}


def test_fresh_apply_creates_venv_and_lock(
    capsys: pytest.CaptureFixture[str], project: Path, wheelhouse: Path
) -> None:
    out = applied(capsys, project)

    assert venv_packages(project) == {"alpha": "2.0", "beta": "2.0"}
    assert "+ alpha 2.0" in out
    assert "+ beta 2.0" in out
    lock = read_lock(project)
    assert lock["lock-version"] == "1.0"
    assert lock["created-by"] == "envsync"
    packages = lock_packages(project)
    assert sorted(packages) == ["alpha", "beta"]
    wheel = packages["alpha"]["wheels"][0]
    assert wheel["url"].endswith("/files/alpha-2.0-py3-none-any.whl")
    built = (wheelhouse / "alpha-2.0-py3-none-any.whl").read_bytes()
    assert wheel["hashes"]["sha256"] == hashlib.sha256(built).hexdigest()
    assert packages["alpha"]["dependencies"] == [{"name": "beta"}]


def test_second_apply_is_a_no_op_without_touching_the_index(
    capsys: pytest.CaptureFixture[str], project: Path, package_index: PackageIndex
) -> None:
    applied(capsys, project)
    before = snapshot(project)
    requests = len(package_index.requests)

    result = envsync(capsys, "apply", project=project)

    assert result.code == 0
    assert result.out.splitlines() == ["No changes. The environment matches the lock."]
    assert result.err == ""
    assert snapshot(project) == before
    assert len(package_index.requests) == requests  # no resolve, no download


def test_adding_a_dependency_installs_only_it_and_its_deps(
    capsys: pytest.CaptureFixture[str], project: Path, package_index: PackageIndex
) -> None:
    applied(capsys, project)
    alpha_record = next((project / ".venv").rglob("alpha-2.0.dist-info/RECORD"))
    stamp = alpha_record.stat().st_mtime_ns

    write_spec(project, ["alpha", "gamma[fast]"], index_url=package_index.url)
    out = applied(capsys, project)

    assert venv_packages(project) == {"alpha": "2.0", "beta": "2.0", "gamma": "1.0", "delta": "1.0"}
    assert "+ gamma 1.0" in out
    assert "+ delta 1.0" in out
    assert "alpha" not in out.split("Plan:")[0]
    assert alpha_record.stat().st_mtime_ns == stamp  # alpha was not reinstalled


def _no_installer(*_args: object, **_kwargs: object) -> None:
    pytest.fail("an installer was made")


def test_removing_a_dependency_removes_it_and_its_orphans_without_resolving(
    capsys: pytest.CaptureFixture[str],
    project: Path,
    package_index: PackageIndex,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_spec(project, ["alpha", "theta"], index_url=package_index.url)
    applied(capsys, project)
    requests = len(package_index.requests)

    write_spec(project, ["theta"], index_url=package_index.url)
    # On the full path too (the pure-removal fast path would answer first), no installer:
    # a removal needs none, nor the logins and imports behind one.
    monkeypatch.setenv("ENVSYNC_FASTPATH", "0")
    monkeypatch.setattr(sync, "installer_for", _no_installer)
    result = envsync(capsys, "apply", project=project)

    assert result.code == 0, result.err
    assert "Resolving" not in result.err
    assert "- alpha 2.0" in result.out
    assert "- beta 2.0" in result.out
    assert len(package_index.requests) == requests  # no page was read: nothing resolved
    assert venv_packages(project) == {"theta": "1.0"}
    assert lock_versions(project) == {"theta": "1.0"}
    assert envsync(capsys, "check", project=project).code == 0


def test_bumping_and_lowering_a_pin_upgrades_and_downgrades(
    capsys: pytest.CaptureFixture[str], project: Path, package_index: PackageIndex
) -> None:
    write_spec(project, ["alpha==1.0"], index_url=package_index.url)
    applied(capsys, project)
    assert venv_packages(project) == {"alpha": "1.0"}

    write_spec(project, ["alpha==2.0"], index_url=package_index.url)
    out = applied(capsys, project)
    assert venv_packages(project) == {"alpha": "2.0", "beta": "2.0"}
    assert "~ alpha 1.0 -> 2.0 (upgrade)" in out

    write_spec(project, ["alpha==1.0"], index_url=package_index.url)
    out = applied(capsys, project)
    assert venv_packages(project) == {"alpha": "1.0"}
    assert "~ alpha 2.0 -> 1.0 (downgrade)" in out
    assert "- beta 2.0" in out


def test_a_hand_installed_package_is_removed(
    capsys: pytest.CaptureFixture[str], project: Path, package_index: PackageIndex
) -> None:
    applied(capsys, project)
    installed = run_pip(
        "--python", venv_python(project), "install", "--index-url", package_index.url, "theta"
    )
    assert installed.returncode == 0, installed.stderr
    assert "theta" in venv_packages(project)

    out = applied(capsys, project)

    assert "- theta 1.0" in out
    assert venv_packages(project) == {"alpha": "2.0", "beta": "2.0"}


def test_a_group_is_installed_only_when_asked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    write_spec(tmp_path, ["theta"], index_url=package_index.url, groups={"dev": ["cli-tool"]})
    applied(capsys, tmp_path)
    assert venv_packages(tmp_path) == {"theta": "1.0"}
    assert lock_packages(tmp_path)["cli-tool"]["marker"] == '"dev" in dependency_groups'

    applied(capsys, tmp_path, "--group", "dev")
    assert venv_packages(tmp_path) == {"theta": "1.0", "cli-tool": "1.0"}
    hello = subprocess.run(
        [str(tmp_path / ".venv" / "bin" / "hello")], capture_output=True, text=True, check=True
    )
    assert hello.stdout.strip() == "hello from cli-tool"

    applied(capsys, tmp_path)  # no group options: the venv keeps the groups it was applied with
    assert venv_packages(tmp_path) == {"theta": "1.0", "cli-tool": "1.0"}
    applied(capsys, tmp_path, "--no-default-groups")  # the main dependencies only: it goes
    assert venv_packages(tmp_path) == {"theta": "1.0"}


def test_a_dependency_whose_marker_is_false_here_is_not_installed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    write_spec(
        tmp_path,
        ["theta", "delta; sys_platform == 'win32'"],
        index_url=package_index.url,
    )
    applied(capsys, tmp_path)
    assert venv_packages(tmp_path) == {"theta": "1.0"}
    assert "delta" not in lock_packages(tmp_path)


def locked_files(entry: dict[str, object]) -> dict[str, list[str]]:
    """The file names a lock entry lists, by kind: its wheels, its sdist."""
    found: dict[str, list[str]] = {}
    if "wheels" in entry:
        found["wheels"] = sorted(w["url"].rsplit("/", 1)[1] for w in entry["wheels"])
    if "sdist" in entry:
        found["sdist"] = [entry["sdist"]["url"].rsplit("/", 1)[1]]
    return found


@pytest.mark.parametrize(
    ("package", "files"),
    [
        pytest.param(
            "iota",
            {"wheels": ["iota-1.0-cp312-cp312-win_amd64.whl", "iota-1.0-py3-none-any.whl"]},
            id="every-wheel",
        ),
        pytest.param(
            "sdist-only",
            {"sdist": ["sdist_only-1.0.tar.gz"]},
            id="sdist-only",
        ),
    ],
)
def test_the_lock_lists_every_file_of_a_version_and_the_venv_gets_it(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    package_index: PackageIndex,
    package: str,
    files: dict[str, list[str]],
) -> None:
    write_spec(tmp_path, [package], index_url=package_index.url)
    applied(capsys, tmp_path)
    assert locked_files(lock_packages(tmp_path)[package]) == files
    assert venv_packages(tmp_path) == {package: "1.0"}


def test_a_local_project_folder_is_locked_relative_and_installed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    folder = build_project_dir(tmp_path / "libs", "mylib", "0.1", requires=["theta"])
    relative = folder.relative_to(tmp_path).as_posix()
    write_spec(tmp_path, [f"mylib @ file:./{relative}"], index_url=package_index.url)

    out = applied(capsys, tmp_path)

    assert venv_packages(tmp_path) == {"mylib": "0.1", "theta": "1.0"}
    assert lock_packages(tmp_path)["mylib"]["directory"] == {"path": relative}
    assert "+ mylib" in out
    assert "No changes" in applied(capsys, tmp_path)


def test_find_links_folder_files_are_locked_relative_to_the_project(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    build_wheel(tmp_path / "wheels", "local-only", "1.0", requires=["theta"])
    (tmp_path / "env.toml").write_text(
        '[env]\ndependencies = ["local-only"]\n'
        f'[index]\nurl = "{package_index.url}"\nfind-links = ["wheels"]\n'
    )

    applied(capsys, tmp_path)

    assert venv_packages(tmp_path) == {"local-only": "1.0", "theta": "1.0"}
    wheel = lock_packages(tmp_path)["local-only"]["wheels"][0]
    assert wheel["path"] == "wheels/local_only-1.0-py3-none-any.whl"
    assert "url" not in wheel
