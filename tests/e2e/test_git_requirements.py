"""git requirements end to end: locked to a commit, installed from it, checked against it.

The repository is a local one in tmp_path, served over file:// (no network); its package
builds with the in-tree backend of support.wheels (offline).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from helpers import (
    applied,
    envsync,
    lock_packages,
    snapshot,
    venv_packages,
    venv_python,
    write_spec,
)
from support.gitrepo import GitRepo, require_git
from support.wheels import build_project_dir

if TYPE_CHECKING:
    from pathlib import Path

    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """gitpkg: 1.0 (tagged v1), then 2.0 on main."""
    require_git()
    repo = GitRepo.create(tmp_path / "repo", "gitpkg")
    repo.commit("1.0")
    repo.git("tag", "v1")
    repo.commit("2.0")
    return repo


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root


def write(root: Path, index: PackageIndex, requirement: str, **env: str) -> None:
    write_spec(root, [requirement], index_url=index.url)
    if env:
        text = (root / "env.toml").read_text()
        extra = "".join(f'{k} = "{v}"\n' for k, v in env.items())
        (root / "env.toml").write_text(text.replace("[env]\n", f"[env]\n{extra}", 1))


def locked_vcs(root: Path) -> dict[str, object]:
    vcs = lock_packages(root)["gitpkg"]["vcs"]
    assert isinstance(vcs, dict)
    return vcs


def installed_commit(root: Path) -> str:
    code = (
        "import importlib.metadata as m, json;"
        "print(json.loads(m.distribution('gitpkg').read_text('direct_url.json'))"
        "['vcs_info']['commit_id'])"
    )
    done = subprocess.run(
        [str(venv_python(root)), "-c", code], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def imported_version(root: Path) -> str:
    code = "import gitpkg; print(gitpkg.__version__)"
    done = subprocess.run(
        [str(venv_python(root)), "-c", code], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.mark.parametrize("rev", ["v1", "main", "sha", "short-sha", None])
def test_lock_records_the_commit_a_revision_names(
    capsys: pytest.CaptureFixture[str],
    project: Path,
    repo: GitRepo,
    package_index: PackageIndex,
    rev: str | None,
) -> None:
    first = repo.git("rev-parse", "v1")
    head = repo.git("rev-parse", "main")
    written = {"sha": first, "short-sha": first[:10]}.get(rev or "", rev)
    at = f"@{written}" if written else ""
    write(project, package_index, f"gitpkg @ {repo.url}{at}")

    result = envsync(capsys, "lock", project=project)

    assert result.code == 0, result.err
    expected = {"type": "git", "url": repo.path.as_uri(), "commit-id": first}
    if rev in {"main", None}:
        expected["commit-id"] = head
    if written:
        expected["requested-revision"] = written
    assert locked_vcs(project) == expected
    assert lock_packages(project)["gitpkg"]["version"] == (
        "1.0" if expected["commit-id"] == first else "2.0"
    )


def test_apply_installs_the_locked_commit_and_check_agrees(
    capsys: pytest.CaptureFixture[str], project: Path, repo: GitRepo, package_index: PackageIndex
) -> None:
    write(project, package_index, f"gitpkg @ {repo.url}@v1")

    out = applied(capsys, project)

    assert "+ gitpkg 1.0" in out
    assert venv_packages(project) == {"gitpkg": "1.0"}
    assert imported_version(project) == "1.0"
    assert installed_commit(project) == repo.git("rev-parse", "v1")
    check = envsync(capsys, "check", project=project)
    assert check.code == 0, check.err
    assert "In sync." in check.out


def test_a_moved_branch_stays_locked_until_upgraded(
    capsys: pytest.CaptureFixture[str], project: Path, repo: GitRepo, package_index: PackageIndex
) -> None:
    write(project, package_index, f"gitpkg @ {repo.url}@main")
    applied(capsys, project)
    before = (project / "pylock.toml").read_bytes()
    third = repo.commit("3.0")

    assert "No changes" in applied(capsys, project)
    assert (project / "pylock.toml").read_bytes() == before
    assert installed_commit(project) == repo.git("rev-parse", "HEAD~1")

    upgraded = envsync(capsys, "lock", "--upgrade-package", "gitpkg", project=project)
    assert upgraded.code == 0, upgraded.err
    assert locked_vcs(project)["commit-id"] == third
    drift = envsync(capsys, "check", project=project)  # the venv holds the old commit
    assert drift.code != 0
    assert "gitpkg" in drift.out + drift.err
    assert "~ gitpkg 2.0 -> 3.0" in applied(capsys, project).replace("→", "->")
    assert installed_commit(project) == third
    assert imported_version(project) == "3.0"


def test_another_commit_in_the_venv_is_drift(
    capsys: pytest.CaptureFixture[str], project: Path, repo: GitRepo, package_index: PackageIndex
) -> None:
    write(project, package_index, f"gitpkg @ {repo.url}@v1")
    applied(capsys, project)
    record = next((project / ".venv").rglob("gitpkg-1.0.dist-info/direct_url.json"))
    data = json.loads(record.read_text())
    data["vcs_info"]["commit_id"] = repo.git("rev-parse", "main")
    record.write_text(json.dumps(data))

    drift = envsync(capsys, "check", project=project)

    assert drift.code != 0
    assert "git commit differs" in drift.out + drift.err


@pytest.mark.parametrize(
    ("rev", "said"),
    [("nope", "has no revision 'nope'"), ("abcdef12", "has no revision 'abcdef12'")],
)
def test_an_unknown_revision_is_one_clear_error_and_changes_nothing(
    capsys: pytest.CaptureFixture[str],
    project: Path,
    repo: GitRepo,
    package_index: PackageIndex,
    rev: str,
    said: str,
) -> None:
    write(project, package_index, f"gitpkg @ {repo.url}@v1")
    applied(capsys, project)
    before = snapshot(project)
    write(project, package_index, f"gitpkg @ {repo.url}@{rev}")

    result = envsync(capsys, "apply", project=project)

    assert result.code != 0
    assert f"error: the git repository {repo.path.as_uri()} {said}" in result.err
    assert "hint: write an existing branch, tag or full commit id" in result.err
    assert "Traceback" not in result.err
    assert snapshot(project) == before


def test_an_unreachable_repository_is_one_clear_error(
    capsys: pytest.CaptureFixture[str], project: Path, tmp_path: Path, package_index: PackageIndex
) -> None:
    require_git()
    missing = tmp_path / "nowhere"
    write(project, package_index, f"gitpkg @ git+{missing.as_uri()}@v1")

    result = envsync(capsys, "lock", project=project)

    assert result.code != 0
    assert f"error: git could not read the repository {missing.as_uri()}" in result.err
    assert "Traceback" not in result.err
    assert not (project / "pylock.toml").exists()


def test_without_git_on_path_the_error_says_so(
    capsys: pytest.CaptureFixture[str],
    project: Path,
    repo: GitRepo,
    package_index: PackageIndex,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write(project, package_index, f"gitpkg @ {repo.url}@v1")
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "python3").symlink_to(sys.executable)
    monkeypatch.setenv("PATH", str(bare))

    result = envsync(capsys, "lock", project=project)

    assert result.code != 0
    assert f"error: git is needed for {repo.path.as_uri()}, and it is not on PATH" in result.err
    assert "hint: install git" in result.err
    assert not (project / "pylock.toml").exists()


def test_frozen_apply_installs_the_commit_and_a_second_needs_no_clone(
    capsys: pytest.CaptureFixture[str],
    project: Path,
    repo: GitRepo,
    package_index: PackageIndex,
    own_cache: Path,
) -> None:
    write(project, package_index, f"gitpkg @ {repo.url}@v1")
    assert envsync(capsys, "lock", project=project).code == 0
    repo.commit("2.1")  # the tag does not move, nor does the lock

    assert "+ gitpkg 1.0" in applied(capsys, project, "--frozen")
    assert installed_commit(project) == repo.git("rev-parse", "v1")
    assert list((own_cache / "vcs").rglob("*.whl"))

    # The repository gone: the built wheel in the cache is all a new venv needs.
    repo.path.rename(repo.path.with_name("gone"))
    shutil.rmtree(project / ".venv")
    assert "+ gitpkg 1.0" in applied(capsys, project, "--frozen")
    assert imported_version(project) == "1.0"


def test_export_lists_the_commit_apart_from_the_hashed_packages(
    capsys: pytest.CaptureFixture[str], project: Path, repo: GitRepo, package_index: PackageIndex
) -> None:
    write_spec(project, ["alpha", f"gitpkg @ {repo.url}@v1"], index_url=package_index.url)
    assert envsync(capsys, "lock", project=project).code == 0

    result = envsync(capsys, "export", project=project)

    assert result.code == 0, result.err
    commit = repo.git("rev-parse", "v1")
    assert result.out.endswith(
        "# Git commits are left out: pip refuses them under --require-hashes, "
        "having no file to hash.\n"
        "# Install them afterwards (each names the exact commit the lock records):\n"
        f"#   pip install --no-deps 'gitpkg @ {repo.url}@{commit}'\n"
    )
    assert "alpha==" in result.out
    assert "gitpkg is a git commit: pip refuses it under --require-hashes" in result.err


@pytest.mark.parametrize("setting", [{"resolver": "uv"}, {"installer": "pip"}, {"installer": "uv"}])
def test_other_backends_lock_and_install_the_same_commit(
    capsys: pytest.CaptureFixture[str],
    project: Path,
    repo: GitRepo,
    package_index: PackageIndex,
    setting: dict[str, str],
) -> None:
    write(project, package_index, f"gitpkg @ {repo.url}@v1", **setting)

    out = applied(capsys, project)

    assert "+ gitpkg 1.0" in out
    assert locked_vcs(project)["commit-id"] == repo.git("rev-parse", "v1")
    assert installed_commit(project) == repo.git("rev-parse", "v1")
    assert envsync(capsys, "check", project=project).code == 0


def test_a_subdirectory_is_built_from_that_folder(
    capsys: pytest.CaptureFixture[str], project: Path, tmp_path: Path, package_index: PackageIndex
) -> None:
    require_git()
    outer = GitRepo.create(tmp_path / "mono", "unused")
    built = build_project_dir(tmp_path / "b", "gitpkg", "1.5")
    shutil.copytree(built, outer.path / "pkgs" / "gitpkg")
    outer.git("add", "--all")
    outer.git("commit", "--quiet", "-m", "mono")
    write(project, package_index, f"gitpkg @ {outer.url}@main#subdirectory=pkgs/gitpkg")

    applied(capsys, project)

    assert locked_vcs(project)["subdirectory"] == "pkgs/gitpkg"
    assert imported_version(project) == "1.5"
    assert envsync(capsys, "check", project=project).code == 0


def test_init_from_requirements_keeps_git_lines_that_then_lock(
    capsys: pytest.CaptureFixture[str],
    project: Path,
    repo: GitRepo,
    package_index: PackageIndex,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (project / "requirements.txt").write_text(
        f"{repo.url}@v1#egg=gitpkg\n--index-url {package_index.url}\n"
    )
    monkeypatch.chdir(project)

    made = envsync(capsys, "init", "--from", "requirements.txt")

    assert made.code == 0, made.err
    assert f'"gitpkg @ {repo.url}@v1"' in (project / "env.toml").read_text()
    assert envsync(capsys, "lock", project=project).code == 0
    assert locked_vcs(project)["commit-id"] == repo.git("rev-parse", "v1")
