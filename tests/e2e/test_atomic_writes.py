"""Files envsync writes are replaced whole: a run killed mid-write leaves the old file or none.

A real ``envsync`` process is killed (SIGKILL) at the fault points ``writing-lock``,
``writing-spec`` and ``writing-state``: its new file is written and flushed, not yet renamed. The
target must hold exactly its old bytes (or not exist), and the next run must succeed, land the
new content and sweep the dead run's temporary file.
"""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

import pytest

from envsync.core.names import STATE_NAME
from envsync.usecases import nochange

from helpers import envsync_process, write_spec

if TYPE_CHECKING:
    import subprocess
    from pathlib import Path

    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e

KILLED = -signal.SIGKILL
NO_CHANGES = "No changes. The environment matches the lock."


def content(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def temporaries(path: Path) -> list[Path]:
    """The temporary files written for *path*."""
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


def killed_at_the_write(result: subprocess.CompletedProcess[str], path: Path) -> None:
    assert result.returncode == KILLED, result.stderr
    assert len(temporaries(path)) == 1  # the new file was written: the kill came before the rename


@pytest.mark.parametrize("had_lock", [True, False], ids=["replaced", "created"])
def test_a_lock_killed_mid_write_leaves_the_old_lock(
    tmp_path: Path, package_index: PackageIndex, had_lock: bool
) -> None:
    lock = tmp_path / "pylock.toml"
    if had_lock:
        write_spec(tmp_path, ["alpha"], index_url=package_index.url)
        assert envsync_process(tmp_path, "lock").returncode == 0
    old = content(lock)
    write_spec(tmp_path, ["alpha", "theta"], index_url=package_index.url)

    killed_at_the_write(envsync_process(tmp_path, "lock", fault="writing-lock"), lock)
    assert content(lock) == old

    again = envsync_process(tmp_path, "lock")
    assert again.returncode == 0, again.stderr
    assert 'name = "theta"' in lock.read_text("utf-8")
    assert temporaries(lock) == []


@pytest.mark.parametrize("had_spec", [True, False], ids=["replaced", "created"])
def test_an_init_killed_mid_write_leaves_the_old_spec(tmp_path: Path, had_spec: bool) -> None:
    spec = tmp_path / "env.toml"
    if had_spec:
        spec.write_text('[env]\ndependencies = ["alpha"]\n', "utf-8")
    old = content(spec)
    (tmp_path / "requirements.txt").write_text("theta==1.0\n", "utf-8")
    args = ("init", "--from", "requirements.txt", "--force")

    killed_at_the_write(envsync_process(tmp_path, *args, fault="writing-spec", cwd=tmp_path), spec)
    assert content(spec) == old

    again = envsync_process(tmp_path, *args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "theta==1.0" in spec.read_text("utf-8")
    assert temporaries(spec) == []


@pytest.mark.fastpath
def test_an_apply_killed_writing_its_state_leaves_the_old_state(
    tmp_path: Path, package_index: PackageIndex
) -> None:
    write_spec(tmp_path, ["alpha"], index_url=package_index.url)
    assert envsync_process(tmp_path, "apply").returncode == 0
    state = tmp_path / ".venv" / STATE_NAME
    old = content(state)
    # Other options, same venv: nothing to install, so only the state is rewritten. (An apply
    # that changes the venv deletes the state before it starts: see test_transactions.py.)
    killed_at_the_write(
        envsync_process(tmp_path, "apply", "--frozen", fault="writing-state"), state
    )
    assert content(state) == old

    full = envsync_process(
        tmp_path, "apply", "--frozen", importtime=True
    )  # the old state is for other options
    assert full.returncode == 0, full.stderr
    assert " envsync.usecases.apply\n" in full.stderr
    assert content(state) != old
    assert temporaries(state) == []
    fast = envsync_process(tmp_path, "apply", "--frozen", importtime=True)
    assert fast.stdout == NO_CHANGES + "\n"
    assert " envsync.usecases.apply\n" not in fast.stderr


def test_a_lock_killed_writing_its_state_leaves_the_old_state(
    tmp_path: Path, package_index: PackageIndex
) -> None:
    write_spec(tmp_path, ["alpha"], index_url=package_index.url)
    assert envsync_process(tmp_path, "lock").returncode == 0
    state = tmp_path / nochange.lock_state_path(str(tmp_path / "env.toml"))
    old = content(state)
    assert b"2 package(s)" in (old or b"")  # alpha and beta
    write_spec(tmp_path, ["alpha", "theta"], index_url=package_index.url)

    killed_at_the_write(envsync_process(tmp_path, "lock", fault="writing-state"), state)
    assert content(state) == old

    again = envsync_process(tmp_path, "lock")
    assert again.returncode == 0, again.stderr
    assert b"3 package(s)" in (content(state) or b"")  # alpha, beta and theta
    assert temporaries(state) == []
