"""One envsync at a time per venv: an inter-process lock that apply, lock and run hold.

The lock is an OS file lock (``filelock``: flock on POSIX, msvcrt on Windows) on
``.<venv name>.envsync.lock`` (``.venv.envsync.lock`` for ``.venv``) beside the venv, never
inside it, since an apply may remove and recreate the venv while it holds the lock. The kernel
drops the lock when its process dies, so a crash never leaves the venv locked. Beside the lock,
``<lock file>.json`` says which process holds it, so a run that has to wait can say what it
waits for. Touches only those two files and, if it is missing, the venv's parent folder.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout

from envsync.errors import LockTimeoutError, VenvError
from envsync.system import atomic, removal
from envsync.venv.lockname import lock_file

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["hold", "holder", "lock_path"]


def lock_path(venv: Path) -> Path:
    """The lock file of *venv*: beside it, named after it, the same for every spelling of it."""
    return Path(lock_file(venv))


@contextlib.contextmanager
def hold(
    venv: Path,
    *,
    timeout: float | None,
    command: str,
    notice: Callable[[str], None],
) -> Iterator[None]:
    """Hold *venv*'s lock for the block; wait for another envsync at most *timeout* seconds.

    ``None`` waits as long as it takes, ``0`` fails at once. Before waiting, *notice* gets one
    line saying who holds the lock. *command* (such as ``envsync apply``) is what a run that
    waits for this one is told.
    """
    path = lock_path(venv)
    lock = FileLock(path)
    _acquire(lock, venv, None if timeout == math.inf else timeout, notice)
    try:
        _announce(path, command)
        yield
    finally:
        with contextlib.suppress(OSError):
            removal.delete_own_file(_info_path(path))
        lock.release()


def holder(venv: Path) -> str | None:
    """Who holds *venv*'s lock, as ``pid N, `envsync apply```; None when nobody says."""
    try:
        info = json.loads(_info_path(lock_path(venv)).read_text("utf-8"))
        return f"pid {int(info['pid'])}, `{info['command']}`"
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _acquire(
    lock: FileLock, venv: Path, timeout: float | None, notice: Callable[[str], None]
) -> None:
    """Take *lock* at once if it is free; else say so, and wait up to *timeout*."""
    try:
        _try(lock, venv, timeout=0)
    except Timeout:
        if timeout == 0:
            raise _timed_out(venv, timeout) from None
        limit = "" if timeout is None else f" (up to {timeout:g} s)"
        notice(f"Waiting for {_who(venv)} to finish with {venv}{limit}...")
        try:
            _try(lock, venv, timeout=-1 if timeout is None else timeout)
        except Timeout:
            raise _timed_out(venv, timeout) from None


def _try(lock: FileLock, venv: Path, *, timeout: float) -> None:
    """Acquire within *timeout* (0: one attempt, -1: no limit).

    A folder envsync cannot create or write is reported as the user's to fix.
    """
    try:
        lock_path(venv).parent.mkdir(parents=True, exist_ok=True)
        lock.acquire(timeout=timeout)
    except Timeout:
        raise  # an OSError too, but it means "held", the caller's business
    except OSError as exc:
        msg = f"cannot lock {venv} for this run: {exc}"
        raise VenvError(msg, hint=f"check that {lock_path(venv).parent} is writable") from exc


def _timed_out(venv: Path, timeout: float | None) -> LockTimeoutError:
    waited = f" after waiting {timeout:g} s" if timeout else ""
    msg = f"{_who(venv)} is still using {venv}{waited}"
    hint = (
        "wait for it to finish and run this again, or give it longer with --lock-timeout; "
        f"if no envsync is running, delete {lock_path(venv)}"
    )
    return LockTimeoutError(msg, hint=hint)


def _who(venv: Path) -> str:
    found = holder(venv)
    return f"another envsync ({found})" if found else "another envsync"


def _announce(path: Path, command: str) -> None:
    """Say who holds the lock; best effort, since only a waiting run's message depends on it."""
    info = json.dumps({"pid": os.getpid(), "command": command})
    with contextlib.suppress(OSError):
        atomic.write_text(_info_path(path), info)


def _info_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")
