"""Fault points: where the reliability tests interrupt a real apply. Inert unless asked.

``ENVSYNC_FAULT=POINT[:N]`` makes the process send itself ``ENVSYNC_FAULT_SIGNAL`` (``KILL``,
``INT`` or ``TERM``; KILL by default) the N-th time (1st by default) it reaches POINT, or,
with ``ENVSYNC_FAULT_SIGNAL=ENOSPC``, fail there as a full disk does. The
points, in the order an apply reaches them: ``venv-folder`` (a new venv's folder made, signals
held until the step and its undo are both noted), ``downloaded`` (every wheel fetched and checked,
nothing in the venv changed; ``unpacking`` before it, each time a downloaded wheel goes to the
helpers that unpack), ``moving-aside`` (after each file of a replaced dist is moved
out), ``moved-aside`` (after each replaced dist), ``installed`` (after each wheel linked in),
``linking`` (before each file the native installer links or copies into the venv),
``before-commit`` and ``committed`` (the journal says committed, the clean-up is to come),
and ``writing-lock`` / ``writing-spec`` / ``writing-state`` / ``writing-recipe`` (pylock.toml,
init's env.toml, a state file of the no-change path, the pure-removal path's recipe: written
and flushed, not yet renamed into place).
docs/reliability.md lists what the tests do with them.

The variable is read once, at import: without it, ``reached`` costs one comparison, so it
may sit in loops that run once per file.
"""

from __future__ import annotations

import errno
import os
import signal

__all__ = ["reached"]

_WANTED = os.environ.get("ENVSYNC_FAULT", "")
_counts: dict[str, int] = {}


def reached(point: str, number: int | None = None) -> None:
    """Note that the run reached *point*; interrupt it here if the tests asked for that."""
    if not _WANTED:
        return
    name, _, nth = _WANTED.partition(":")
    if name != point:
        return
    count = number if number is not None else _counts.get(point, 0) + 1
    _counts[point] = count
    if count != int(nth or 1):
        return
    which = os.environ.get("ENVSYNC_FAULT_SIGNAL", "KILL").upper()
    if which == "ENOSPC":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    os.kill(os.getpid(), getattr(signal, f"SIG{which}"))
