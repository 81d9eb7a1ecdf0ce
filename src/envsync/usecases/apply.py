"""``envsync plan`` and ``envsync apply``: what the venv must change, and changing it.

Plain calls in a fixed, commented order. Nothing here prints: progress goes to the injected
Reporter, results are returned.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from envsync.core.selection import GroupSelection
from envsync.install import transaction
from envsync.report import Locked, Step
from envsync.usecases import locktargets, project, remembered, replay
from envsync.usecases.context import start
from envsync.usecases.lock import lock_for, outcome_of
from envsync.usecases.lock import write as write_lock
from envsync.usecases.planning import choose_groups, plan_for
from envsync.usecases.sync import sync
from envsync.usecases.target import find_target
from envsync.venv import create, environment, interpreters

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from packaging.pylock import Pylock

    from envsync.core.lockfile import LockInfo
    from envsync.core.planner import Plan
    from envsync.core.selection import Chosen
    from envsync.core.spec import Spec
    from envsync.core.targets import LockTarget
    from envsync.usecases.backends import Services
    from envsync.usecases.context import RunContext
    from envsync.usecases.lock import LockChange, LockOutcome, Mode
    from envsync.usecases.target import Target, VenvChange
    from envsync.venv.interpreters import Interpreter

__all__ = ["Outcome", "Prepared", "apply", "apply_in", "plan", "prepare"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcome:
    """What ``plan`` found, or ``apply`` did."""

    plan: Plan
    """The changes to the venv's packages."""
    venv: Path
    """The venv."""
    venv_change: VenvChange
    """Whether the venv is (to be) created or recreated."""
    venv_reason: str | None
    """Why it is recreated."""
    python: str
    """Version of the venv's interpreter."""
    target: LockTarget | None = None
    """This machine's lock target (the venv's Python on this platform)."""
    lock: LockOutcome
    """What happened (or would happen) to the lock."""
    groups: tuple[str, ...]
    """The groups installed."""
    main: bool
    """Whether the main dependencies are installed (False with ``--only-group``)."""
    applied: bool
    """False for ``plan``, which changes nothing."""
    site_packages: tuple[Path, ...] = ()
    """The venv's site-packages folders after apply (empty for plan)."""
    selection: GroupSelection = field(default_factory=GroupSelection)
    """The group options installed: those asked for, else the ones the venv remembered."""
    installed: Pylock | None = None
    """The lock apply installed (None for plan): what pylock.toml now holds."""
    replica: replay.Keeping | None = None
    """The venv this apply created, being kept as a replica (``Services.replica``): the
    caller finishes or abandons it."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Prepared:
    """What plan and apply decide before looking at the venv's packages."""

    chosen: Chosen
    """The groups to install."""
    selection: GroupSelection
    """The group options they come from (asked for, or remembered by the venv)."""
    target: Target
    """The interpreter, and whether the venv is kept, created or recreated."""
    lock: Pylock
    """The lock to install from (resolved in memory when the one on disk is stale)."""
    lock_change: LockChange
    """What installing it does to pylock.toml."""


def plan(
    spec: Spec,
    *,
    groups: GroupSelection | None = None,
    mode: Mode = "auto",
    services: Services | None = None,
) -> Outcome:
    """What apply would do; changes nothing (a stale lock is resolved in memory only)."""
    ctx = start(spec, services)
    project.check_local_sources(spec)  # pip would stumble on a missing folder with a traceback
    ready = prepare(ctx, groups, mode)
    target = ready.target
    installed = (
        environment.inspect(spec.venv, prober=ctx.prober)[1] if target.change == "keep" else ()
    )
    the_plan = plan_for(
        spec,
        ready.lock,
        markers=target.markers,
        tags=target.tags,
        chosen=ready.chosen,
        installed=installed,
        table=ctx.table_of(ready.lock),
    )
    return _outcome(ctx, ready, ready.lock_change, the_plan, applied=False)


def apply(
    spec: Spec,
    *,
    groups: GroupSelection | None = None,
    mode: Mode = "auto",
    verify: bool = False,
    services: Services | None = None,
) -> Outcome:
    """Make the venv match the lock exactly, locking and creating the venv as needed.

    With *verify*, installed files are re-hashed against their RECORD and packages whose
    files changed are reinstalled. Nothing is kept from a failed run: a venv made by this
    run is removed (a replaced one restored), and a new lock is written only once the venv
    matches it.
    """
    return apply_in(start(spec, services), groups=groups, mode=mode, verify=verify)


def apply_in(
    ctx: RunContext,
    *,
    groups: GroupSelection | None = None,
    mode: Mode = "auto",
    verify: bool = False,
) -> Outcome:
    """``apply`` within a run that has already read its project (``run`` checks first)."""
    spec, reporter = ctx.spec, ctx.services.reporter
    project.check_local_sources(spec)  # pip would stumble on a missing folder with a traceback
    # 0. A run killed part way left its journal: put the venv back (or finish) first.
    if repaired := transaction.recover(spec.venv):
        reporter.emit(Step(what=f"{spec.venv}: {repaired}"))
    # 1. Resolve first: a failed resolve must leave everything as it was.
    ready = prepare(ctx, groups, mode)
    if verify:  # a file --verify finds changed may be one a replica links, its stat put back
        replay.forget_all()
    # 2. Make the venv when missing or made from a Python the spec no longer accepts.
    with _venv_for(ctx, ready.target):
        the_plan, info, keeping = sync(ctx, ready.lock, ready.target, ready.chosen, verify=verify)
    try:
        # 3. The venv now equals the lock: only now is a new lock worth keeping.
        lock_change = ready.lock_change
        if lock_change != "unchanged":
            lock_change = write_lock(ctx, ready.lock).change
            reporter.emit(Locked(packages=len(ready.lock.packages), written=True))
        done = _outcome(ctx, ready, lock_change, the_plan, applied=True)
    except BaseException:
        if keeping is not None:
            keeping.abandon()
        raise
    libs = (info.purelib, info.platlib)
    return replace(done, site_packages=libs, installed=ready.lock, replica=keeping)


def prepare(ctx: RunContext, groups: GroupSelection | None, mode: Mode) -> Prepared:
    """The chosen groups, the target interpreter and the lock to install from."""
    # Groups are checked first, against the spec, so a typo costs no resolve; a frozen
    # install knows only the lock's groups, checked once the lock is known to exist.
    picked = _groups(ctx, groups) if mode != "frozen" else None
    target = find_target(ctx.spec, ctx.services.reporter, ctx.prober)
    here = locktargets.target_of(target)
    targets = locktargets.spec_targets(ctx.spec, here, ctx.prober) if mode != "frozen" else ()
    if mode != "frozen" and (problem := locktargets.uncovered(ctx.spec, targets, here)):
        raise problem  # before anything is resolved: the spec does not name this machine
    the_lock, lock_change = lock_for(ctx, target, mode)
    if lock_change == "unchanged" and (
        problem := locktargets.not_served(ctx.table_of(the_lock), here)
    ):
        raise problem
    selection, chosen = picked or _groups(ctx, groups, lock=ctx.project.lock.info)
    return Prepared(
        chosen=chosen, selection=selection, target=target, lock=the_lock, lock_change=lock_change
    )


def _groups(
    ctx: RunContext, asked: GroupSelection | None, *, lock: LockInfo | None = None
) -> tuple[GroupSelection, Chosen]:
    """The group options (asked for, else the venv's remembered ones) and the groups chosen.

    Checked against env.toml's groups, or the lock's when given (a frozen install).
    """
    known = lock.groups if lock is not None else [g.name for g in ctx.spec.groups]
    reporter = ctx.services.reporter
    selection = remembered.recall(asked, ctx.spec.venv, known=known, reporter=reporter)
    return selection, choose_groups(ctx.spec, selection, lock=lock)


def _venv_for(ctx: RunContext, target: Target) -> contextlib.AbstractContextManager[None]:
    """A no-op for a venv that fits; else a new venv that is undone if the block fails."""
    if target.change == "keep":
        return contextlib.nullcontext()
    venv, reporter = ctx.spec.venv, ctx.services.reporter
    interpreter = target.interpreter or interpreters.probe(target.python, prober=ctx.prober)
    if target.change == "create":
        reporter.emit(Step(what=f"creating {venv} with Python {target.version}"))
    else:
        reporter.emit(Step(what=f"recreating {venv}: {target.reason}"))
    return _new_venv(ctx, interpreter, replace=target.change == "recreate")


@contextlib.contextmanager
def _new_venv(ctx: RunContext, interpreter: Interpreter, *, replace: bool) -> Iterator[None]:
    with create.new_venv(ctx.spec.venv, interpreter, replace=replace):
        # What the new venv would answer is known from its interpreter: no probe of it.
        environment.expect_new_venv(ctx.spec.venv, interpreter.executable, prober=ctx.prober)
        yield


def _outcome(
    ctx: RunContext, ready: Prepared, lock_change: LockChange, the_plan: Plan, *, applied: bool
) -> Outcome:
    return Outcome(
        plan=the_plan,
        venv=ctx.spec.venv,
        venv_change=ready.target.change,
        venv_reason=ready.target.reason,
        python=ready.target.version,
        target=locktargets.target_of(ready.target),
        lock=outcome_of(ctx, ready.lock, lock_change),
        groups=ready.chosen.groups,
        main=ready.chosen.main,
        applied=applied,
        selection=ready.selection,
    )
