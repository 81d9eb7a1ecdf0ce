"""The no-change path: an up-to-date venv is confirmed without loading envsync's machinery,
and anything that could change the answer sends apply down the full path."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import pytest

from helpers import applied, envsync, envsync_process, venv_packages, venv_python, write_spec
from support import run_pip
from support.wheels import build_wheel

if TYPE_CHECKING:
    from pathlib import Path

    from support.pkgindex import PackageIndex

pytestmark = [pytest.mark.e2e, pytest.mark.fastpath]

NO_CHANGES = "No changes. The environment matches the lock."


def test_an_up_to_date_venv_is_confirmed_without_the_machinery(synced: Path) -> None:
    result = envsync_process(synced, "apply", importtime=True)

    assert result.returncode == 0
    assert result.stdout == NO_CHANGES + "\n"
    imported = result.stderr  # -X importtime writes one line per imported module
    for heavy in (
        "envsync.usecases.apply",
        "envsync.resolve.piptools",
        "packaging",
        "subprocess",
        "tomllib",  # the venv env.toml names is noted beside the lock state
        "typing",
        "envsync.usecases.replay",  # only a missing venv is made again from its replica
    ):
        assert f" {heavy}\n" not in imported, heavy


def test_a_venv_moved_in_env_toml_is_not_taken_for_the_noted_one(synced: Path) -> None:
    spec = synced / "env.toml"
    spec.write_text(spec.read_text().replace("[env]\n", '[env]\nvenv = "elsewhere"\n'))
    moved = envsync_process(synced, "apply")
    assert moved.returncode == 0, moved.stderr
    assert "Creating" in moved.stderr
    assert (synced / "elsewhere" / "pyvenv.cfg").is_file()
    again = envsync_process(synced, "apply", importtime=True)
    assert again.stdout == NO_CHANGES + "\n"
    assert " tomllib\n" not in again.stderr  # the new venv is noted now


def test_quiet_does_not_spoil_the_no_change_path(synced: Path) -> None:
    result = envsync_process(synced, "apply", "--quiet", importtime=True)
    assert result.stdout == NO_CHANGES + "\n"
    assert " envsync.usecases.apply\n" not in result.stderr


def test_a_hand_installed_package_is_noticed(
    capsys: pytest.CaptureFixture[str], synced: Path, package_index: PackageIndex
) -> None:
    run_pip("--python", venv_python(synced), "install", "--index-url", package_index.url, "theta")
    assert "- theta 1.0" in applied(capsys, synced)
    assert venv_packages(synced) == {"alpha": "2.0", "beta": "2.0"}


def test_a_package_replaced_at_the_same_version_is_noticed(
    capsys: pytest.CaptureFixture[str], synced: Path, tmp_path: Path
) -> None:
    other = build_wheel(tmp_path / "other", "beta", "2.0", files={"beta/__init__.py": "X = 1\n"})
    run_pip("--python", venv_python(synced), "install", "--force-reinstall", "--no-deps", other)
    assert "~ beta 2.0 (reinstall: hash differs)" in applied(capsys, synced)


def test_a_changed_spec_or_lock_or_group_choice_takes_the_full_path(
    capsys: pytest.CaptureFixture[str], synced: Path, package_index: PackageIndex
) -> None:
    write_spec(
        synced, ["alpha", "theta"], index_url=package_index.url, groups={"dev": ["cli-tool"]}
    )
    assert "+ theta 1.0" in applied(capsys, synced)
    assert "+ cli-tool 1.0" in applied(capsys, synced, "--group", "dev")
    assert applied(capsys, synced, "--group", "dev") == NO_CHANGES + "\n"
    assert applied(capsys, synced) == NO_CHANGES + "\n"  # the venv remembers --group dev
    assert "- cli-tool 1.0" in applied(capsys, synced, "--no-default-groups")


def test_a_plain_apply_after_a_group_apply_stays_on_the_no_change_path(
    capsys: pytest.CaptureFixture[str], synced: Path, package_index: PackageIndex
) -> None:
    write_spec(synced, ["alpha"], index_url=package_index.url, groups={"dev": ["cli-tool"]})
    assert "+ cli-tool 1.0" in applied(capsys, synced, "--group", "dev")

    for argv in (("apply",), ("apply", "--group", "dev"), ("apply", "--quiet")):
        result = envsync_process(synced, *argv, importtime=True)
        assert result.stdout == NO_CHANGES + "\n", argv
        assert " envsync.usecases.apply\n" not in result.stderr, argv
    assert "cli-tool" in venv_packages(synced)


def test_other_group_options_than_the_remembered_ones_take_the_full_path(
    capsys: pytest.CaptureFixture[str], synced: Path, package_index: PackageIndex
) -> None:
    groups = {"dev": ["cli-tool"], "extra": ["theta"]}
    write_spec(synced, ["alpha"], index_url=package_index.url, groups=groups)
    assert "+ cli-tool 1.0" in applied(capsys, synced, "--group", "dev")

    result = envsync_process(synced, "apply", "--all-groups", importtime=True)

    assert "+ theta 1.0" in result.stdout
    assert " envsync.usecases.apply\n" in result.stderr
    again = envsync_process(synced, "apply", importtime=True)  # now remembers --all-groups
    assert again.stdout == NO_CHANGES + "\n"
    assert " envsync.usecases.apply\n" not in again.stderr


def test_options_the_no_change_path_does_not_know_take_the_full_path(synced: Path) -> None:
    result = envsync_process(synced, "apply", "--json", importtime=True)
    assert result.returncode == 0
    assert '"status": "ok"' in result.stdout
    assert " envsync.usecases.apply\n" in result.stderr


def test_lock_with_nothing_changed_answers_without_the_machinery(synced: Path) -> None:
    result = envsync_process(synced, "lock", importtime=True)
    assert result.returncode == 0
    assert result.stdout == "pylock.toml is up to date: 3 package(s) for Python " + (
        ".".join(map(str, sys.version_info[:2])) + " on linux-x86_64\n"
    )
    assert " envsync.usecases.apply\n" not in result.stderr


def test_a_lock_that_changed_is_reported_once_then_up_to_date_in_one_line(
    synced: Path, package_index: PackageIndex
) -> None:
    groups = {"dev": ["cli-tool"]}
    write_spec(synced, ["alpha", "theta"], index_url=package_index.url, groups=groups)
    changed = envsync_process(synced, "lock")
    assert changed.returncode == 0
    minor = ".".join(map(str, sys.version_info[:2]))
    assert changed.stdout.splitlines()[1:] == [
        f"  Python {minor} on linux-x86_64:",
        "    + theta 1.0",
    ]

    again = envsync_process(synced, "lock")  # the no-change path answers from what it kept
    assert again.returncode == 0
    assert again.stdout == (
        f"pylock.toml is up to date: 4 package(s) for Python {minor} on linux-x86_64\n"
    )


def test_a_frozen_apply_of_a_stale_lock_does_not_vouch_for_the_lock(
    capsys: pytest.CaptureFixture[str], synced: Path, package_index: PackageIndex
) -> None:
    groups = {"dev": ["cli-tool"]}
    write_spec(synced, ["alpha", "theta"], index_url=package_index.url, groups=groups)
    assert envsync(capsys, "apply", "--frozen", project=synced).code == 0

    result = envsync_process(synced, "lock", importtime=True)

    assert result.stdout.startswith("pylock.toml updated")


def test_lock_without_a_venv_also_answers_without_the_machinery(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    write_spec(tmp_path, ["alpha"], index_url=package_index.url)
    assert envsync(capsys, "lock", "--spec", str(tmp_path / "env.toml")).code == 0
    assert not (tmp_path / ".venv").exists()

    again = envsync_process(tmp_path, "lock", importtime=True)

    assert again.stdout.startswith("pylock.toml is up to date: 2 package(s)")
    assert " envsync.usecases.apply\n" not in again.stderr
    write_spec(tmp_path, ["alpha", "theta"], index_url=package_index.url)
    changed = envsync(capsys, "lock", "--spec", str(tmp_path / "env.toml"))
    assert changed.out.startswith("pylock.toml updated")


@pytest.mark.parametrize("command", ["check", "plan"])
def test_check_and_plan_of_a_fresh_lock_load_no_resolver_and_no_index_client(
    synced: Path, command: str
) -> None:
    result = envsync_process(synced, command, importtime=True)

    assert result.returncode == 0
    for heavy in ("envsync.resolve.keeppins", "envsync.index.simpleapi", "http.client"):
        assert f" {heavy}\n" not in result.stderr, heavy
