"""Fault points: where the reliability tests interrupt a real apply. Inert unless asked.

``ENVSYNC_FAULT=POINT[:N]`` makes the process send itself ``ENVSYNC_FAULT_SIGNAL`` (``KILL``,
``INT`` or ``TERM``; KILL by default) the N-th time (1st by default) it reaches POINT. The
points, in the order an apply reaches them: ``downloaded`` (every wheel fetched and checked,
nothing in the venv changed), ``moving-aside`` (after each file of a replaced dist is moved
out), ``moved-aside`` (after each replaced dist), ``installed`` (after each wheel linked in),
``before-commit`` and ``committed`` (the journal says committed, the clean-up is to come),
and ``writing-lock`` / ``writing-spec`` / ``writing-state`` (pylock.toml, init's env.toml, a
state file of the no-change path: written and flushed, not yet renamed into place).
docs/reliability.md lists what the tests do with them.

Without the variable, ``reached`` is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

__all__ = ["reached"]

_counts: dict[str, int] = {}


def reached(point: str, number: int | None = None) -> None:
    """Note that the run reached *point*; interrupt it here if the tests asked for that."""
    wanted = os.environ.get("ENVSYNC_FAULT")
    if not wanted:
        return
    name, _, nth = wanted.partition(":")
    if name != point:
        return
    count = number if number is not None else _counts.get(point, 0) + 1
    _counts[point] = count
    if count != int(nth or 1):
        return
    which = os.environ.get("ENVSYNC_FAULT_SIGNAL", "KILL").upper()
    os.kill(os.getpid(), getattr(signal, f"SIG{which}"))
