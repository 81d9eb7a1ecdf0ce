"""A venv remembers the groups it was last applied with: run, apply, plan and check keep them.

The newcomer's trip: after `apply --group dev`, `run -- pytest` used to sync without the
group (removing pytest), then run a pytest found further along PATH, and exit 0.
"""

from __future__ import annotations

import json
import os
import stat
from typing import TYPE_CHECKING

import pytest

from helpers import envsync, envsync_process, venv_packages, write_spec

if TYPE_CHECKING:
    from pathlib import Path

    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e

NO_CHANGES = "No changes. The environment matches the lock."


@pytest.fixture
def project(tmp_path: Path, package_index: PackageIndex) -> Path:
    """alpha, and a group dev holding cli-tool (whose console script is `hello`)."""
    root = tmp_path / "project"
    root.mkdir()
    write_spec(root, ["alpha"], index_url=package_index.url, groups={"dev": ["cli-tool"]})
    return root


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A folder on PATH, after the venv's, with its own `hello` and a `only-here` command."""
    folder = tmp_path / "elsewhere-bin"
    folder.mkdir()
    for name, says in (("hello", "hello from PATH"), ("only-here", "only here")):
        script = folder / name
        script.write_text(f"#!/bin/sh\necho '{says}'\n", "utf-8")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


def on_path(folder: Path) -> dict[str, str | None]:
    return {"PATH": os.pathsep.join([str(folder), os.environ.get("PATH", "")])}


def test_run_after_apply_group_dev_keeps_the_group_and_runs_the_venvs_script(
    capsys: pytest.CaptureFixture[str], project: Path, elsewhere: Path
) -> None:
    assert envsync(capsys, "apply", "--group", "dev", project=project).code == 0

    result = envsync_process(project, "run", "--", "hello", env=on_path(elsewhere))

    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello from cli-tool\n"  # the venv's, not the one on PATH
    assert result.stderr == ""  # nothing to sync, nothing run from outside the venv
    assert venv_packages(project) == {"alpha": "2.0", "beta": "2.0", "cli-tool": "1.0"}


def test_a_command_found_only_outside_the_venv_is_named_in_one_line(
    capsys: pytest.CaptureFixture[str], project: Path, elsewhere: Path
) -> None:
    assert envsync(capsys, "apply", project=project).code == 0

    result = envsync_process(project, "run", "--", "only-here", env=on_path(elsewhere))

    assert result.returncode == 0
    assert result.stdout == "only here\n"
    assert result.stderr == (
        f"envsync: only-here is not in .venv; running {elsewhere / 'only-here'} from PATH\n"
    )
    quiet = envsync_process(project, "run", "-q", "--", "only-here", env=on_path(elsewhere))
    assert (quiet.returncode, quiet.stderr) == (0, "")


def test_a_command_given_with_its_folder_is_run_without_a_notice(
    capsys: pytest.CaptureFixture[str], project: Path, elsewhere: Path
) -> None:
    assert envsync(capsys, "apply", project=project).code == 0

    result = envsync_process(project, "run", "--", str(elsewhere / "only-here"))

    assert (result.returncode, result.stdout, result.stderr) == (0, "only here\n", "")


def test_group_options_replace_the_remembered_ones_and_are_remembered(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    assert envsync(capsys, "apply", "--group", "dev", project=project).code == 0

    result = envsync_process(project, "run", "--no-default-groups", "--", "python", "-c", "pass")
    assert result.returncode == 0, result.stderr
    assert "cli-tool" not in venv_packages(project)

    plain = envsync(capsys, "apply", project=project)  # remembers --no-default-groups now
    assert plain.out == NO_CHANGES + "\n"
    assert "cli-tool" not in venv_packages(project)


def test_plan_and_check_without_options_use_the_remembered_groups(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    assert envsync(capsys, "lock", project=project).code == 0
    assert envsync(capsys, "apply", "--frozen", "--group", "dev", project=project).code == 0

    assert envsync(capsys, "plan", project=project).out.startswith("No changes.")
    checked = envsync(capsys, "check", "--json", project=project)
    assert checked.code == 0, checked.out
    data = json.loads(checked.out)["data"]
    assert (data["groups"], data["main"]) == (["dev"], True)
    text = envsync(capsys, "check", project=project)
    assert text.code == 0
    assert "groups: dev (as the venv was last applied)" in text.out.splitlines()

    explicit = envsync(capsys, "check", "--no-default-groups", project=project)
    assert explicit.code == 2  # other groups asked for: cli-tool is extra for them
    assert "- cli-tool 1.0" in explicit.out
    assert "groups:" not in explicit.out


@pytest.mark.fastpath
def test_a_remembered_group_that_env_toml_dropped_is_left_out_with_a_notice(
    capsys: pytest.CaptureFixture[str], project: Path, package_index: PackageIndex
) -> None:
    assert envsync(capsys, "apply", "--group", "dev", project=project).code == 0
    write_spec(project, ["alpha"], index_url=package_index.url, groups={"docs": ["theta"]})

    result = envsync(capsys, "apply", project=project)

    assert result.code == 0, result.err
    notice = (
        "envsync: group 'dev', which .venv was last applied with, is no longer defined in "
        "env.toml: left out"
    )
    assert result.err.splitlines().count(notice) == 1
    assert "- cli-tool 1.0" in result.out
    again = envsync_process(project, "apply", importtime=True)  # remembers no group now
    assert (again.stdout, again.stderr.count("envsync.usecases.apply")) == (NO_CHANGES + "\n", 0)


def test_a_frozen_apply_checks_remembered_groups_against_the_lock(
    capsys: pytest.CaptureFixture[str], project: Path, package_index: PackageIndex
) -> None:
    assert envsync(capsys, "apply", "--group", "dev", project=project).code == 0
    write_spec(project, ["alpha", "theta"], index_url=package_index.url)  # dev gone, not relocked

    result = envsync(capsys, "apply", "--frozen", project=project)

    assert result.code == 0, result.err
    assert "envsync: group 'dev'" not in result.err  # the lock still has dev
    assert "cli-tool" in venv_packages(project)


@pytest.mark.fastpath
def test_run_leaves_a_state_the_no_change_path_of_apply_trusts(project: Path) -> None:
    first = envsync_process(project, "run", "--group", "dev", "--", "python", "-c", "pass")
    assert first.returncode == 0, first.stderr

    again = envsync_process(project, "apply", importtime=True)

    assert again.stdout == NO_CHANGES + "\n"
    assert " envsync.usecases.apply\n" not in again.stderr
    frozen = envsync_process(project, "run", "--frozen", "--", "hello")
    assert (frozen.returncode, frozen.stdout) == (0, "hello from cli-tool\n")


def test_group_options_of_a_run_that_installs_nothing_are_remembered(
    capsys: pytest.CaptureFixture[str], project: Path, package_index: PackageIndex
) -> None:
    groups = {"dev": ["cli-tool"]}
    (project / "env.toml").write_text(
        f'[env]\ndependencies = ["alpha"]\ndefault-groups = ["dev"]\n\n'
        f'[groups]\ndev = ["cli-tool"]\n\n[index]\nurl = "{package_index.url}"\n',
        "utf-8",
    )
    assert envsync(capsys, "apply", project=project).code == 0
    state = project / ".venv" / ".envsync-state.json"
    state.write_text("not json", "utf-8")  # a damaged state remembers nothing

    result = envsync_process(project, "run", "--group", "dev", "--", "python", "-c", "pass")

    assert (result.returncode, result.stderr) == (0, "")  # in sync: nothing installed
    assert json.loads(state.read_text("utf-8"))["groups"] == {"--group": ["dev"]}
    write_spec(project, ["alpha"], index_url=package_index.url, groups=groups)  # no default
    assert "cli-tool" not in envsync(capsys, "apply", project=project).out  # still kept
    assert "cli-tool" in venv_packages(project)


def test_a_state_that_cannot_be_written_costs_only_the_memory(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    assert envsync(capsys, "apply", "--group", "dev", project=project).code == 0
    state = project / ".venv" / ".envsync-state.json"
    before = state.read_bytes()
    argv = ("--", "python", "-c", "pass")
    full = {"fault": "writing-state", "fault_signal": "ENOSPC"}

    in_sync = envsync_process(project, "run", "--all-groups", *argv, **full)  # dev is all
    assert (in_sync.returncode, state.read_bytes()) == (0, before)

    changed = envsync_process(project, "run", "--no-default-groups", *argv, **full)
    assert changed.returncode == 0, changed.stderr
    assert "cli-tool" not in venv_packages(project)
