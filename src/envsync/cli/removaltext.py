"""What an apply that only removed requirements prints, on the fast path (``quickremove``).

The full path's own words, from the functions it prints them with: the plan, the progress
lines, ``Applied to ...`` and the lock's change, in the order the full path prints them
(stderr and stdout apart). No packaging: a removed dist's version is the lock's text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from envsync.cli import text
from envsync.core import render
from envsync.core.names import LOCK_NAME, SPEC_CHANGED
from envsync.core.planner import Action, Change, InstalledDist, Plan

if TYPE_CHECKING:
    from packaging.version import Version

    from envsync._types import NormalizedName
    from envsync.usecases.quickremove import Removed

__all__ = ["fresh_summary", "texts"]


def texts(done: Removed, *, color: bool) -> tuple[str, list[str]]:
    """(stdout, stderr lines) of the full path's apply that made the same change."""
    plan = Plan(
        actions=tuple(
            Action(
                name=cast("NormalizedName", name),
                change=Change.REMOVE,
                have=InstalledDist(name=cast("NormalizedName", name), version=cast("Version", v)),
            )
            for name, v in done.gone
        )
    )
    out = [render.render_plan(plan, color=color)]
    progress = [text.step_line(f"relocking: {SPEC_CHANGED}")]
    if done.gone:
        out.append(text.applied_line(done.venv, plan))
        progress.append(text.step_line(f"removed {len(done.gone)} package(s)"))
    progress.append(text.locked_line(done.packages))
    if done.removed:  # a lock that lost no package changed for no target: apply says nothing
        head = text.lock_head(LOCK_NAME, "updated", done.packages, done.targets)
        out.append("\n".join([head, *text.target_lines(done.targets, (), (), done.removed)]))
    return "".join(f"{part}\n" for part in out), progress


def fresh_summary(done: Removed) -> str:
    """What ``lock`` says next, with nothing changed (the lock state's summary)."""
    return text.lock_head(LOCK_NAME, "unchanged", done.packages, done.targets)
