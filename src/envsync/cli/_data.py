"""Use-case results -> the ``data`` part of the JSON report (schemas/report.schema.json)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from envsync.core import render

if TYPE_CHECKING:
    from collections.abc import Sequence

    from envsync.core.targets import LockTarget
    from envsync.report import PinReleased
    from envsync.usecases.apply import Outcome
    from envsync.usecases.check import CheckOutcome
    from envsync.usecases.lock import LockOutcome

__all__ = ["check_data", "lock_data", "outcome_data", "target_data"]


def lock_data(lock: LockOutcome, released: Sequence[PinReleased] = ()) -> dict[str, Any]:
    """What happened (or would happen) to pylock.toml: its targets, their changes, pins let go."""
    return {
        "path": str(lock.path),
        "change": lock.change,
        "packages": lock.packages,
        "targets": [target_data(t) for t in lock.targets],
        "changes": [
            {
                "target": target_data(c.target),
                "new_target": c.new_target,
                "added": [{"name": n, "version": v} for n, v in c.added],
                "removed": [{"name": n, "version": v} for n, v in c.removed],
                "changed": [{"name": n, "from": old, "to": new} for n, old, new in c.changed],
            }
            for c in lock.changes
        ],
        "released": [
            {"package": p.package, "pinned": p.pinned, "now": p.now, "because": p.because}
            for p in released
        ],
    }


def target_data(target: LockTarget | None) -> dict[str, str] | None:
    """A lock target: its Python version and platform name."""
    if target is None:
        return None
    return {"python": target.python, "platform": target.platform.name}


def outcome_data(outcome: Outcome, released: Sequence[PinReleased] = ()) -> dict[str, Any]:
    """A plan or an apply: the venv, the lock (and pins let go), the groups, every change."""
    return {
        "venv": {
            "path": str(outcome.venv),
            "python": outcome.python,
            "change": outcome.venv_change,
            "reason": outcome.venv_reason,
        },
        "target": target_data(outcome.target),
        "lock": lock_data(outcome.lock, released),
        "groups": list(outcome.groups),
        "main": outcome.main,
        "plan": render.plan_to_json(outcome.plan),
        "applied": outcome.applied,
    }


def check_data(outcome: CheckOutcome) -> dict[str, Any]:
    """The JSON report's data for check."""
    return {
        "in_sync": outcome.in_sync(),
        "lock": {
            "path": str(outcome.lock_path),
            "state": outcome.lock_state,
            "reason": outcome.lock_reason,
        },
        "venv": {"path": str(outcome.venv), "state": outcome.venv_state, "python": outcome.python},
        "target": target_data(outcome.target),
        "groups": list(outcome.chosen.groups),
        "main": outcome.chosen.main,
        "plan": render.plan_to_json(outcome.plan) if outcome.plan is not None else None,
        "drift": [{"package": d.package, "kind": d.kind, "path": d.path} for d in outcome.drift],
    }
