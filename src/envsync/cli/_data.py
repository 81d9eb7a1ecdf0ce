"""Use-case results -> the ``data`` part of the JSON report (schemas/report.schema.json)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from envsync.core import render

if TYPE_CHECKING:
    from envsync.usecases.apply import Outcome
    from envsync.usecases.lock import LockOutcome

__all__ = ["lock_data", "outcome_data"]


def lock_data(lock: LockOutcome) -> dict[str, Any]:
    """What happened (or would happen) to pylock.toml."""
    return {
        "path": str(lock.path),
        "change": lock.change,
        "packages": lock.packages,
        "python": lock.python,
    }


def outcome_data(outcome: Outcome) -> dict[str, Any]:
    """A plan or an apply: the venv, the lock, the groups and every change."""
    return {
        "venv": {
            "path": str(outcome.venv),
            "python": outcome.python,
            "change": outcome.venv_change,
            "reason": outcome.venv_reason,
        },
        "lock": lock_data(outcome.lock),
        "groups": list(outcome.groups),
        "main": outcome.main,
        "plan": render.plan_to_json(outcome.plan),
        "applied": outcome.applied,
    }
