"""`envsync run -- CMD`: the command runs in the synced venv; its exit code comes back."""

from __future__ import annotations

import signal
import time
from typing import TYPE_CHECKING

import pytest

from helpers import envsync_process, envsync_started, venv_packages, write_spec

if TYPE_CHECKING:
    from pathlib import Path

    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e

SHOW = "import alpha, os, sys; print(alpha.__version__, sys.prefix, os.environ['VIRTUAL_ENV'])"


@pytest.fixture
def project(tmp_path: Path, package_index: PackageIndex) -> Path:
    write_spec(tmp_path, ["alpha"], index_url=package_index.url, groups={"dev": ["cli-tool"]})
    return tmp_path


def test_run_syncs_first_then_runs_inside_the_venv(project: Path) -> None:
    result = envsync_process(project, "run", "--", "python", "-c", SHOW)

    assert result.returncode == 0, result.stderr
    venv = str(project / ".venv")
    assert result.stdout.split() == ["2.0", venv, venv]  # only the command's own output
    assert "Creating" in result.stderr  # envsync's progress stays on stderr
    assert venv_packages(project) == {"alpha": "2.0", "beta": "2.0"}


def test_run_on_a_synced_venv_starts_no_install(project: Path, package_index: PackageIndex) -> None:
    assert envsync_process(project, "run", "--", "python", "-c", "pass").returncode == 0
    requests = len(package_index.requests)

    result = envsync_process(project, "run", "--", "python", "-c", SHOW)

    assert result.returncode == 0
    assert result.stderr == ""
    assert len(package_index.requests) == requests


def test_a_relock_before_the_command_says_what_changed_on_stderr(
    project: Path, package_index: PackageIndex
) -> None:
    assert envsync_process(project, "run", "--", "python", "-c", "pass").returncode == 0
    write_spec(
        project, ["alpha", "gamma"], index_url=package_index.url, groups={"dev": ["cli-tool"]}
    )

    result = envsync_process(project, "run", "--", "python", "-c", "print('hi')")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "hi\n"  # the command's stdout stays its own
    # As `envsync apply` says it: the lock's changes per target, and what was applied.
    assert "pylock.toml updated" in result.stderr
    assert "    + gamma 1.0" in result.stderr
    assert "1 installed" in result.stderr


def test_the_exit_code_is_passed_through(project: Path) -> None:
    result = envsync_process(project, "run", "--", "python", "-c", "raise SystemExit(7)")
    assert result.returncode == 7


def test_console_scripts_of_the_venv_are_on_path(project: Path) -> None:
    result = envsync_process(project, "run", "--group", "dev", "--", "hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hello from cli-tool"


def test_a_missing_command_is_a_clear_error(project: Path) -> None:
    result = envsync_process(project, "run", "--", "no-such-command-here")
    assert result.returncode == 127
    assert "error: command not found: no-such-command-here" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_sync_needs_an_existing_venv(project: Path) -> None:
    result = envsync_process(project, "run", "--no-sync", "--", "python", "-c", "pass")
    assert result.returncode == 1
    assert "--no-sync forbids making it" in result.stderr
    assert not (project / ".venv").exists()


def test_no_sync_runs_in_the_venv_as_it_is(project: Path, package_index: PackageIndex) -> None:
    assert envsync_process(project, "run", "--", "python", "-c", "pass").returncode == 0
    write_spec(project, ["alpha", "theta"], index_url=package_index.url)

    result = envsync_process(project, "run", "--no-sync", "--", "python", "-c", "import theta")

    assert result.returncode == 1  # theta was not installed: nothing was synced
    assert "theta" not in venv_packages(project)


def test_frozen_syncs_from_the_lock_without_resolving(
    project: Path, package_index: PackageIndex
) -> None:
    assert envsync_process(project, "run", "--", "python", "-c", "pass").returncode == 0
    lock = (project / "pylock.toml").read_bytes()
    write_spec(project, ["alpha", "theta"], index_url=package_index.url)

    result = envsync_process(project, "run", "--frozen", "--", "python", "-c", "import alpha")

    assert result.returncode == 0, result.stderr
    assert (project / "pylock.toml").read_bytes() == lock
    assert "theta" not in venv_packages(project)


def test_sigterm_reaches_the_command_and_its_exit_code_comes_back(project: Path) -> None:
    assert envsync_process(project, "run", "--", "python", "-c", "pass").returncode == 0  # synced
    ready = project / "ready"
    code = (
        "import pathlib, signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(42))\n"
        f"pathlib.Path({str(ready)!r}).touch()\n"
        "time.sleep(60)\n"
    )
    argv = ("run", "--", "python", "-c", code)
    with envsync_started(project, *argv, stdout=None, stderr=None) as envsync:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        envsync.send_signal(signal.SIGTERM)  # to envsync only, as `kill PID` does
        assert envsync.wait(timeout=30) == 42


def test_no_command_is_a_usage_error(project: Path) -> None:
    result = envsync_process(project, "run")
    assert result.returncode == 1
    assert "no command given" in result.stderr
