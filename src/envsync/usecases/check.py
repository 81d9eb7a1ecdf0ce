"""The CI gate: is the lock fresh for env.toml, and does the venv equal the lock? Reads only.

Never resolves, never changes anything: it reads env.toml, pylock.toml and the venv, and
says how they differ. It searches for interpreters only where env.toml has ``[envs]``: the
lock's targets include the Python of an environment whose venv is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from envsync.core.names import LOCK_NAME
from envsync.core.selection import GroupSelection
from envsync.errors import LockError
from envsync.install import transaction
from envsync.usecases import locktargets, project, remembered, target
from envsync.usecases.context import start
from envsync.usecases.planning import choose_groups, drift_of, plan_in
from envsync.venv import create, environment

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from packaging.pylock import Pylock

    from envsync.core.planner import InstalledDist, Plan
    from envsync.core.selection import Chosen
    from envsync.core.spec import Spec
    from envsync.core.targets import LockTarget
    from envsync.usecases.context import RunContext
    from envsync.venv.drift import DriftItem
    from envsync.venv.environment import VenvInfo

__all__ = ["CheckOutcome", "LockState", "VenvState", "check", "check_in"]

LockState = Literal["fresh", "stale", "missing"]
#: interrupted: an apply was killed part way and left its journal (``transaction``).
VenvState = Literal["ok", "missing", "wrong-python", "interrupted", "broken"]


@dataclass(frozen=True, kw_only=True, slots=True)
class CheckOutcome:
    """Everything check found."""

    lock_path: Path
    """pylock.toml."""
    lock_state: LockState
    """fresh, stale (with ``lock_reason``) or missing."""
    lock_reason: str | None
    """Why the lock is stale."""
    venv: Path
    """The venv."""
    venv_state: VenvState
    """ok, missing, or made from a Python the spec does not accept."""
    python: str | None
    """The venv's Python version, when there is a venv."""
    plan: Plan | None
    """What apply would change in the venv; None when there is no venv or lock to compare."""
    drift: tuple[DriftItem, ...]
    """Files that no longer match their RECORD (with ``verify``)."""
    chosen: Chosen
    """The groups checked."""
    target: LockTarget | None = None
    """The venv's lock target (its Python on this platform), when there is a venv."""
    remembered: bool = False
    """Whether the groups checked are the ones the venv was last applied with (no group
    options were given, and the venv remembers some)."""

    def in_sync(self) -> bool:
        """True when nothing differs: CI may go on."""
        return (
            self.lock_state == "fresh"
            and self.venv_state == "ok"
            and self.plan is not None
            and self.plan.is_empty()
            and not self.drift
        )


def check(
    spec: Spec, *, groups: GroupSelection | None = None, verify: bool = False
) -> CheckOutcome:
    """Compare env.toml, pylock.toml and the venv; with *verify*, re-hash installed files."""
    return check_in(start(spec), groups=groups, verify=verify)


def check_in(
    ctx: RunContext, *, groups: GroupSelection | None = None, verify: bool = False
) -> CheckOutcome:
    """``check`` within a run that has already read its project (``run`` checks first)."""
    spec = ctx.spec
    known = [g.name for g in spec.groups]
    selection = remembered.recall(groups, spec.venv, known=known, reporter=ctx.services.reporter)
    chosen = choose_groups(spec, selection)
    recalled = selection != (groups or GroupSelection())
    path, the_lock = ctx.project.lock.path, ctx.project.lock.lock
    # A venv path over the user's files is an error here too; a venv whose interpreter is
    # gone cannot be inspected: it is reported as broken, and apply makes it again.
    broken = target.check_venv_path(spec)
    if broken or not create.is_venv(spec.venv):
        lock_state, reason = _lock_state(ctx, None)
        return CheckOutcome(
            lock_path=path, lock_state=lock_state, lock_reason=reason, venv=spec.venv,
            venv_state="broken" if broken else "missing", python=None, plan=None, drift=(),
            chosen=chosen, remembered=recalled,
        )  # fmt: skip
    info, installed = environment.inspect(spec.venv, prober=ctx.prober)
    version = str(info.version)
    here = locktargets.machine_target(version, info.markers, info.tags)
    if problem := locktargets.not_served(ctx.project.lock.info, here):
        raise problem
    lock_state, reason = _lock_state(ctx, locktargets.spec_targets(spec, here, ctx.prober))
    found = drift_of(info) if verify else ()
    plan = None
    if the_lock is not None:
        plan = _plan(ctx, the_lock, info, installed, chosen, found)
        if plan is None:  # the lock cannot be installed here at all
            lock_state, reason = "stale", f"pylock.toml does not fit the venv's Python {version}"
    return CheckOutcome(
        lock_path=path,
        lock_state=lock_state,
        lock_reason=reason,
        venv=spec.venv,
        venv_state=_venv_state(spec, info),
        python=version,
        target=here,
        plan=plan,
        drift=found,
        chosen=chosen,
        remembered=recalled,
    )


def _venv_state(spec: Spec, info: VenvInfo) -> VenvState:
    if transaction.pending(spec.venv):
        return "interrupted"
    return "ok" if spec.python.contains(info.version, prereleases=True) else "wrong-python"


def _lock_state(
    ctx: RunContext, targets: Sequence[LockTarget] | None
) -> tuple[LockState, str | None]:
    if ctx.project.lock.lock is None:
        return "missing", f"there is no {LOCK_NAME}"
    why = project.stale_because(ctx.project, targets)
    return ("fresh", None) if why is None else ("stale", why)


def _plan(  # noqa: PLR0917 - one private step of check, called once
    ctx: RunContext,
    the_lock: Pylock,
    info: VenvInfo,
    installed: tuple[InstalledDist, ...],
    chosen: Chosen,
    found: tuple[DriftItem, ...],
) -> Plan | None:
    """What apply would change, as apply plans it; None when the lock cannot fit at all."""
    try:
        reinstall = {d.package for d in found}
        return plan_in(ctx, the_lock, info, chosen=chosen, installed=installed, reinstall=reinstall)
    except LockError:
        return None
