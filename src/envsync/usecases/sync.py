"""The step of apply that changes the venv: plan against it, install, remove, verify.

The order is fixed and each reason is said where it is taken: every file is fetched and
checked before anything in the venv changes, all changes happen inside one transaction,
and the venv is read again at the end, since apply promises it equals the lock.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from envsync.core.planner import SEED, Change
from envsync.errors import ApplyError, BuildError, EnvsyncError, Interrupted, RolledBackError
from envsync.install import transaction
from envsync.report import Planned, Step
from envsync.system import faults
from envsync.usecases import replay
from envsync.usecases.backends import installer_for
from envsync.usecases.planning import drift_of, plan_in
from envsync.venv import create, environment

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from packaging.pylock import Pylock

    from envsync.core.lockfile import Wanted
    from envsync.core.planner import Plan
    from envsync.core.selection import Chosen
    from envsync.core.spec import Spec
    from envsync.install.protocol import Origins
    from envsync.usecases.context import RunContext
    from envsync.usecases.target import Target

__all__ = ["sync"]

#: Changes that install a file.
_INSTALLING = (Change.INSTALL, Change.UPGRADE, Change.DOWNGRADE, Change.REINSTALL)
#: Changes whose old dist leaves the venv: moved aside first, deleted only at commit.
_REPLACING = (Change.UPGRADE, Change.DOWNGRADE, Change.REINSTALL, Change.REMOVE)


def sync(
    ctx: RunContext,
    the_lock: Pylock,
    target: Target,
    chosen: Chosen,
    *,
    verify: bool = False,
) -> tuple[Plan, environment.VenvInfo, replay.Keeping | None]:
    """Plan against the venv as it is, show the plan, carry it out, and check the result.

    Also the replica of a venv this run created, being kept (``Services.replica``): the
    caller finishes or abandons it.
    """
    spec, reporter = ctx.spec, ctx.services.reporter
    info, installed = environment.inspect(spec.venv, prober=ctx.prober)
    found = drift_of(info) if verify else ()
    reinstall = {d.package for d in found}
    the_plan = plan_in(ctx, the_lock, info, chosen=chosen, installed=installed, reinstall=reinstall)
    reporter.emit(Planned(plan=the_plan))
    # The no-change path returns here, without starting pip.
    if the_plan.is_empty():
        return the_plan, info, None
    stray = [d.path for d in found if d.kind == "unrecorded"]
    wanted = [a.want for a in the_plan.of(*_INSTALLING) if a.want is not None]
    _refuse_builds(wanted, spec)
    writes: Sequence[str] | None = None
    if wanted:  # a removal needs no installer nor logins, nor the ~35 ms of imports behind them
        installer = ctx.services.installer or installer_for(spec, reporter, verify=verify)
        where = _origins(ctx)
        installer.prepare(info, wanted, **where)  # every file fetched and checked first
        writes = installer.writes(info, wanted)  # vetted
    faults.reached("downloaded")
    replaced = [a.name for a in the_plan.of(*_REPLACING)]
    # In a venv this run made there is nothing of another dist's to overwrite.
    overwritten = writes if writes and target.change == "keep" else ()
    keeping: replay.Keeping | None = None
    try:
        with _transaction(spec.venv, replaced, (info.purelib, info.platlib), overwritten):
            create.remove_stray_files(spec.venv, {info.purelib, info.platlib}, stray)
            if wanted:
                reporter.emit(Step(what=f"installing {len(wanted)} package(s)"))
                installer.install(info, wanted, **where)
            if removed := the_plan.of(Change.REMOVE):  # moved aside by the transaction
                reporter.emit(Step(what=f"removed {len(removed)} package(s)"))
            # Inside the transaction: a failing ensurepip puts the venv back as well.
            if any(a.reason == SEED for a in the_plan.of(Change.INSTALL)):
                reporter.emit(Step(what="putting pip in with the venv's ensurepip (seed = true)"))
                create.seed(spec.venv)
            keeping = _keeping(ctx, target)  # its files are all in: kept beside the check
            _verify(ctx, the_lock, chosen)
    except BaseException:
        if keeping is not None:
            keeping.abandon()
        raise
    return the_plan, info, keeping


def _keeping(ctx: RunContext, target: Target) -> replay.Keeping | None:
    """The replica of a venv this run created, started when the caller wants one kept.

    Only a venv of hard links is kept: copies and clones promise each venv its own files.
    """
    linked = ctx.spec.link_mode == "hardlink"
    wanted = ctx.services.replica and target.change == "create" and linked
    return replay.keeping(str(ctx.spec.venv)) if wanted else None


def _origins(ctx: RunContext) -> Origins:
    """Where the installer fetches from, with the run's routes (shared with the resolver)."""
    spec = ctx.spec
    return {
        "index": spec.index.resolved(spec.root),
        "indexes": spec.indexes,
        "sources": spec.sources,
        "direct": spec.direct_urls(),  # their hosts' logins, which the lock leaves out
        "routes": ctx.routes(),
    }


@contextlib.contextmanager
def _transaction(
    root: Path, replaced: Sequence[str], libs: Sequence[Path], writes: Sequence[str]
) -> Iterator[None]:
    """The venv's changes as one transaction; a failure says whether the venv was put back."""
    txn: transaction.Transaction | None = None
    try:
        with transaction.applying(root, replaced, libs, writes) as txn:
            yield
    except EnvsyncError as exc:
        raise RolledBackError(exc, venv=root) from exc
    except KeyboardInterrupt as exc:
        restored = None if txn is not None and txn.committed else root
        raise Interrupted(str(exc) or "interrupted", restored=restored) from exc


def _refuse_builds(wanted: Sequence[Wanted], spec: Spec) -> None:
    """With ``build = false``, stop before a package whose only file here is an sdist."""
    if spec.build:
        return
    built = sorted(w.name for w in wanted if not w.artifact.is_wheel())
    if built:
        raise BuildError(
            f"{', '.join(built)} can only be installed by building it from source here, "
            "and env.toml says build = false",
            hint="allow building (build = true), or pin a version that publishes a wheel "
            "for this platform",
        )


def _verify(ctx: RunContext, the_lock: Pylock, chosen: Chosen) -> None:
    """Re-read the venv: apply promises the venv equals the lock, so check it."""
    info, installed = environment.inspect(ctx.spec.venv, prober=ctx.prober)
    left = plan_in(ctx, the_lock, info, chosen=chosen, installed=installed)
    if not left.is_empty():
        names = ", ".join(f"{a.name} ({a.change.value})" for a in left.changes())
        msg = f"after installing, the venv still differs from the lock: {names}"
        raise ApplyError(msg, left=[a.name for a in left.changes()])
