"""One envsync at a time per venv: real processes wait for each other, say so, and give up on time.

The last test runs two applies of different locks into one venv at the same moment, round after
round: the venv must always end equal to one lock, never a mix. Without the venv lock it fails
(checked by hand once, by making ``cli._locking.holding`` a ``nullcontext``).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import TYPE_CHECKING

import pytest
import tomli_w
from filelock import FileLock

from envsync.venv import venvlock

from helpers import envsync_process, envsync_started, lock_versions

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Iterator
    from pathlib import Path

    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e

NO_CHANGES = "No changes. The environment matches the lock."
ROUNDS = 20


def project(root: Path, deps: list[str], index: PackageIndex, venv: Path | None = None) -> Path:
    """Write env.toml into *root* (its venv at *venv* if given) and return *root*."""
    root.mkdir(parents=True, exist_ok=True)
    env: dict[str, object] = {"dependencies": deps}
    if venv is not None:
        env["venv"] = str(venv)
    data = {"env": env, "index": {"url": index.url}}
    (root / "env.toml").write_text(tomli_w.dumps(data), "utf-8")
    return root


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; none outlives it, even a stopped one."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()  # closes its pipes, whatever became of it


def wait_for(condition: object, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not callable(condition) or not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_second_apply_waits_for_the_first_and_says_for_whom(
    tmp_path: Path, package_index: PackageIndex, processes: list[subprocess.Popen[str]]
) -> None:
    root = project(tmp_path, ["alpha"], package_index)
    venv = tmp_path / ".venv"
    # The first apply stops itself (SIGSTOP) while it holds the lock, about to write pylock.toml.
    first = envsync_started(root, "apply", fault="writing-lock", fault_signal="STOP")
    processes.append(first)
    _, status = os.waitpid(first.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status)
    err = tmp_path / "second.err"
    with err.open("w") as sink:
        second = envsync_started(root, "apply", stderr=sink)
    processes.append(second)
    line = (
        f"Waiting for another envsync (pid {first.pid}, `envsync apply`) to finish with {venv}..."
    )
    wait_for(lambda: line in err.read_text(), "the waiting line")
    time.sleep(0.5)
    assert second.poll() is None  # still waiting: the first one holds the venv

    os.kill(first.pid, signal.SIGCONT)
    _, first_err = first.communicate(timeout=120)
    assert first.returncode == 0, first_err
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0, err.read_text()
    assert NO_CHANGES in out  # it looked at the venv only once the first had finished
    assert err.read_text().count("Waiting for") == 1


def test_a_lock_held_too_long_fails_with_a_clear_message(
    tmp_path: Path, package_index: PackageIndex
) -> None:
    root = project(tmp_path, ["alpha"], package_index)
    venv = tmp_path / ".venv"
    with FileLock(venvlock.lock_path(venv)).acquire(timeout=0):
        began = time.monotonic()
        result = envsync_process(root, "apply", "--lock-timeout", "0.5")
        waited = time.monotonic() - began

    assert result.returncode == 1
    assert waited >= 0.5
    assert result.stderr.splitlines() == [
        f"Waiting for another envsync to finish with {venv} (up to 0.5 s)...",
        f"error: another envsync is still using {venv} after waiting 0.5 s",
        (
            "hint: wait for it to finish and run this again, or give it longer with "
            f"--lock-timeout; if no envsync is running, delete {tmp_path / '.venv.envsync.lock'}"
        ),
    ]
    assert not venv.exists()
    assert not (tmp_path / "pylock.toml").exists()


def test_json_reports_a_held_lock_as_the_error_locked(
    tmp_path: Path, package_index: PackageIndex
) -> None:
    root = project(tmp_path, ["alpha"], package_index)
    with FileLock(venvlock.lock_path(tmp_path / ".venv")).acquire(timeout=0):
        result = envsync_process(root, "apply", "--json", "--lock-timeout", "0")

    assert result.returncode == 1
    assert "Waiting" not in result.stderr  # 0 fails at once
    report = json.loads(result.stdout)
    assert (report["status"], report["exit_code"]) == ("error", 1)
    assert [e["code"] for e in report["errors"]] == ["locked"]


@pytest.mark.fastpath
def test_lock_and_run_take_the_lock_and_plan_and_check_do_not(
    tmp_path: Path, package_index: PackageIndex
) -> None:
    root = project(tmp_path, ["alpha"], package_index)
    assert envsync_process(root, "apply").returncode == 0
    venv = tmp_path / ".venv"
    holding = f"another envsync (pid {os.getpid()}, `envsync apply`) is still using {venv}"
    with venvlock.hold(venv, timeout=0, command="envsync apply", notice=print):
        # --upgrade: a plain lock of an unchanged spec answers from the lock-free no-change path
        for args in (
            ("lock", "--upgrade", "--lock-timeout", "0"),
            ("run", "--lock-timeout=0", "--", "true"),
        ):
            refused = envsync_process(root, *args)
            assert refused.returncode == 1
            assert holding in refused.stderr
        for args in (("plan",), ("check",)):
            assert envsync_process(root, *args).returncode == 0
        # The no-change path only reads; it answers even while the venv is locked.
        fast = envsync_process(root, "apply", "--lock-timeout", "0")
        assert (fast.returncode, fast.stdout) == (0, NO_CHANGES + "\n")


def test_the_lock_is_beside_the_venv_however_it_is_spelt(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    spellings = [
        tmp_path / "real" / ".venv",
        tmp_path / "real" / "sub" / ".." / ".venv",
        tmp_path / "link" / ".venv",
    ]
    assert {venvlock.lock_path(p) for p in spellings} == {tmp_path / "real" / ".venv.envsync.lock"}
    assert venvlock.lock_path(tmp_path / "envs" / "py") == tmp_path / "envs" / ".py.envsync.lock"


def test_a_missing_parent_folder_is_made_for_the_lock(tmp_path: Path) -> None:
    venv = tmp_path / "not" / "yet" / ".venv"
    with venvlock.hold(venv, timeout=0, command="envsync apply", notice=print):
        assert venvlock.lock_path(venv).exists()
        assert venvlock.holder(venv) == f"pid {os.getpid()}, `envsync apply`"
        assert not venv.exists()
    assert venvlock.holder(venv) is None


def test_run_releases_the_lock_before_the_command_starts(
    tmp_path: Path, package_index: PackageIndex
) -> None:
    root = project(tmp_path, ["alpha"], package_index)
    lock = venvlock.lock_path(tmp_path / ".venv")
    take = "import sys, filelock; filelock.FileLock(sys.argv[1]).acquire(timeout=0)"
    result = envsync_process(root, "run", "--", sys.executable, "-c", take, str(lock))
    assert result.returncode == 0, result.stderr


def installed(venv: Path) -> dict[str, str]:
    """The venv's distributions, name -> version, read from its dist-info folders."""
    found = {}
    for info in venv.glob("lib/python*/site-packages/*.dist-info"):
        name, version = info.name.removesuffix(".dist-info").rsplit("-", 1)
        found[name.replace("_", "-").lower()] = version
    return found


def test_concurrent_applies_of_different_locks_never_mix(
    tmp_path: Path, package_index: PackageIndex, processes: list[subprocess.Popen[str]]
) -> None:
    venv = tmp_path / "shared-venv"
    roots = {
        name: project(tmp_path / name, deps, package_index, venv=venv)
        for name, deps in {"a": ["alpha"], "b": ["gamma", "delta"], "c": ["theta"]}.items()
    }
    for root in roots.values():
        assert envsync_process(root, "lock").returncode == 0
    wanted = {name: lock_versions(root) for name, root in roots.items()}
    assert wanted["a"].keys().isdisjoint(wanted["b"])

    for _ in range(ROUNDS):
        # From a third state, so that both applies have work to do: install and remove.
        reset = envsync_process(roots["c"], "apply", "--frozen")
        assert reset.returncode == 0, reset.stderr
        assert installed(venv) == wanted["c"]
        racers = {name: envsync_started(roots[name], "apply", "--frozen") for name in ("a", "b")}
        processes.extend(racers.values())
        done = {name: proc.communicate(timeout=120) for name, proc in racers.items()}
        for name, proc in racers.items():
            assert proc.returncode == 0, done[name][1]

        now = installed(venv)
        winner = next((name for name in ("a", "b") if now == wanted[name]), None)
        assert winner is not None, f"the venv is a mix: {now}"
        waited = [name for name in ("a", "b") if "Waiting for" in done[name][1]]
        assert waited in ([], [winner])  # whoever waited went last
        assert envsync_process(roots[winner], "check").returncode == 0
