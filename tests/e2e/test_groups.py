"""Dependency groups end to end: default groups, --group, --only-group, --all-groups, --frozen."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from helpers import envsync, lock_packages, read_lock, venv_packages

if TYPE_CHECKING:
    from pathlib import Path

    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e

MAIN = {"theta": "1.0"}
DEV = {"cli-tool": "1.0"}
DOCS = {"alpha": "2.0", "beta": "2.0"}


def spec_text(index_url: str, *, dependencies: str = '"theta"', docs: bool = True) -> str:
    """env.toml: theta; groups dev = cli-tool (a default group) and docs = alpha."""
    docs_line = 'docs = ["alpha"]\n' if docs else ""
    return (
        "[env]\n"
        f"dependencies = [{dependencies}]\n"
        'default-groups = ["dev"]\n'
        "\n"
        "[groups]\n"
        'dev = ["cli-tool"]\n'
        f"{docs_line}"
        "\n"
        "[index]\n"
        f'url = "{index_url}"\n'
    )


@pytest.fixture
def project(tmp_path: Path, package_index: PackageIndex) -> Path:
    """A project folder holding the env.toml above; nothing locked or installed yet."""
    (tmp_path / "env.toml").write_text(spec_text(package_index.url), "utf-8")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, str, str]:
    result = envsync(capsys, *args, "--spec", str(root / "env.toml"))
    return result.code, result.out, result.err


def apply(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> str:
    """Apply, which must succeed; return stdout."""
    code, out, err = run(capsys, root, "apply", *args)
    assert code == 0, err
    return out


def record_mtime(root: Path, name: str, version: str) -> int:
    """When the RECORD of an installed distribution was last written."""
    (record,) = (root / ".venv").glob(
        f"lib/python*/site-packages/{name}-{version}.dist-info/RECORD"
    )
    return record.stat().st_mtime_ns


def test_plain_apply_installs_the_main_dependencies_and_the_default_groups(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    out = apply(capsys, project)
    assert venv_packages(project) == MAIN | DEV
    assert "+ theta 1.0" in out
    assert "+ cli-tool 1.0" in out
    assert "alpha" not in out
    assert "beta" not in out


def test_no_default_groups_removes_the_default_group(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    apply(capsys, project)
    out = apply(capsys, project, "--no-default-groups")
    assert venv_packages(project) == MAIN
    assert "- cli-tool 1.0" in out


def test_group_adds_to_the_default_groups(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    apply(capsys, project)
    out = apply(capsys, project, "--group", "docs")
    assert venv_packages(project) == MAIN | DEV | DOCS
    assert "+ alpha 2.0" in out
    assert "+ beta 2.0" in out
    assert "cli-tool" not in out  # kept: the default group is still on


def test_only_group_installs_that_group_without_the_main_dependencies(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    apply(capsys, project)
    out = apply(capsys, project, "--only-group", "docs")
    assert venv_packages(project) == DOCS
    assert "- theta 1.0" in out
    assert "- cli-tool 1.0" in out
    assert "+ alpha 2.0" in out
    assert "+ beta 2.0" in out


def test_all_groups_installs_everything(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    apply(capsys, project, "--no-default-groups")
    assert venv_packages(project) == MAIN
    out = apply(capsys, project, "--all-groups")
    assert venv_packages(project) == MAIN | DEV | DOCS
    assert "Plan: 3 to install, 0 to upgrade, 0 to downgrade, 0 to reinstall, 0 to remove." in out


def test_switching_groups_changes_only_the_difference(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    apply(capsys, project, "--no-default-groups", "--group", "docs")
    assert venv_packages(project) == MAIN | DOCS
    theta_before = record_mtime(project, "theta", "1.0")

    out = apply(capsys, project, "--no-default-groups", "--group", "dev")

    assert venv_packages(project) == MAIN | DEV
    changes = sorted(line for line in out.splitlines() if line[:2] in {"+ ", "~ ", "- "})
    assert changes == ["+ cli-tool 1.0", "- alpha 2.0", "- beta 2.0"]
    assert "Plan: 1 to install, 0 to upgrade, 0 to downgrade, 0 to reinstall, 2 to remove." in out
    assert record_mtime(project, "theta", "1.0") == theta_before  # untouched


def test_the_lock_records_group_markers_default_groups_and_group_roots(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    apply(capsys, project)
    packages = lock_packages(project)
    assert set(packages) == {"alpha", "beta", "cli-tool", "theta"}
    assert packages["alpha"]["marker"] == '"docs" in dependency_groups'
    assert packages["beta"]["marker"] == '"docs" in dependency_groups'
    assert packages["cli-tool"]["marker"] == '"dev" in dependency_groups'
    assert "marker" not in packages["theta"]  # a main dependency

    lock = read_lock(project)
    assert lock["dependency-groups"] == ["dev", "docs"]
    tool = lock["tool"]
    assert isinstance(tool, dict)
    table = tool["envsync"]
    assert table["groups"] == ["dev", "docs"]
    assert table["default-groups"] == ["dev"]
    assert table["group-roots"] == {"dev": ["cli-tool"], "docs": ["alpha"]}


def test_check_uses_the_same_group_selection_as_apply(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    apply(capsys, project, "--only-group", "docs")

    code, out, _ = run(capsys, project, "check", "--only-group", "docs")
    assert code == 0, out
    assert out.splitlines()[-1] == "In sync."

    code, out, _ = run(capsys, project, "check")  # the groups the venv was applied with
    assert code == 0, out
    assert "groups: docs only (as the venv was last applied)" in out.splitlines()
    assert out.splitlines()[-1] == "In sync."

    code, out, _ = run(capsys, project, "check", "--group", "dev")  # main + dev: not there
    assert code == 2
    assert "+ theta 1.0" in out
    assert "+ cli-tool 1.0" in out
    assert "- alpha 2.0" in out
    assert out.splitlines()[-1] == "Out of sync: run `envsync apply` to fix it."


def test_frozen_takes_the_groups_from_the_lock(
    capsys: pytest.CaptureFixture[str], project: Path, package_index: PackageIndex
) -> None:
    apply(capsys, project)
    lock_before = (project / "pylock.toml").read_bytes()
    requests = len(package_index.requests)
    # The lock goes stale: env.toml no longer has a docs group, and asks for gamma.
    (project / "env.toml").write_text(
        spec_text(package_index.url, dependencies='"theta", "gamma"', docs=False), "utf-8"
    )

    out = apply(capsys, project, "--frozen", "--group", "docs")

    assert venv_packages(project) == MAIN | DEV | DOCS  # no gamma: it is not locked
    assert "+ alpha 2.0" in out
    assert (project / "pylock.toml").read_bytes() == lock_before
    pages = [r for r in package_index.requests[requests:] if r.startswith("/simple")]
    assert pages == []  # never resolved: no project page was read


def test_an_unknown_only_group_is_an_error(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    code, _, err = run(capsys, project, "apply", "--only-group", "nope")
    assert code == 1
    assert "there is no group named 'nope'" in err
    assert not (project / "pylock.toml").exists()
    assert not (project / ".venv").exists()
