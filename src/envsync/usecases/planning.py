"""The steps plan, apply and check share: which groups, what the venv must change, what stays.

One function each, so that check's verdict and apply's plan can never disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from envsync.core import lockfile
from envsync.core.planner import Plan, Policy, make_plan
from envsync.core.selection import Chosen, GroupSelection, choose
from envsync.venv import installed as installed_dists

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence

    from packaging.pylock import Pylock

    from envsync._types import NormalizedName
    from envsync.core.lockfile import LockInfo
    from envsync.core.planner import InstalledDist
    from envsync.core.spec import Spec
    from envsync.usecases.context import RunContext
    from envsync.venv.drift import DriftItem
    from envsync.venv.environment import VenvInfo

__all__ = ["choose_groups", "drift_of", "plan_for", "plan_in", "policy"]


def choose_groups(
    spec: Spec, asked: GroupSelection | None, *, lock: LockInfo | None = None
) -> Chosen:
    """The groups to install, checked against env.toml's groups, or the lock's when given.

    A frozen install and an export know only the lock's groups; everything else checks
    against the spec first, so a typo costs no resolve.
    """
    asked = asked or GroupSelection()
    if lock is not None:
        return choose(asked, known=lock.groups, default=lock.default_groups)
    return choose(asked, known=[g.name for g in spec.groups], default=spec.default_groups)


def plan_for(
    spec: Spec,
    the_lock: Pylock,
    *,
    markers: Mapping[str, str],
    tags: Sequence[str],
    chosen: Chosen,
    installed: Sequence[InstalledDist],
    reinstall: Collection[NormalizedName] = (),
    table: LockInfo | None = None,
) -> Plan:
    """What the venv (with these markers and tags, holding *installed*) must change.

    *table* is the lock's tool table when the caller holds it (read once per run).
    LockError when the lock does not fit these markers and tags at all.
    """
    wanted = lockfile.select(
        the_lock,
        environment=markers,
        tags=tags,
        groups=chosen.groups,
        root=spec.root,
        main=chosen.main,
        table=table,
    )
    return make_plan(wanted, installed, policy(spec, reinstall))


def plan_in(
    ctx: RunContext,
    the_lock: Pylock,
    info: VenvInfo,
    *,
    chosen: Chosen,
    installed: Sequence[InstalledDist],
    reinstall: Collection[NormalizedName] = (),
) -> Plan:
    """``plan_for`` the venv *info* describes, holding *installed*: apply's and check's plan."""
    return plan_for(
        ctx.spec,
        the_lock,
        markers=info.markers,
        tags=info.tags,
        chosen=chosen,
        installed=installed,
        reinstall=reinstall,
        table=ctx.table_of(the_lock),
    )


def drift_of(info: VenvInfo) -> tuple[DriftItem, ...]:
    """Installed files that no longer match their RECORD (``--verify``): every file re-hashed."""
    from envsync.venv import drift  # noqa: PLC0415 - not needed on the usual path

    return drift.verify(info)


def policy(spec: Spec, reinstall: Iterable[NormalizedName] = ()) -> Policy:
    """Never remove what the spec keeps, nor envsync itself when the venv is its own."""
    keep = set(spec.keep)
    if _same_path(spec.venv, Path(sys.prefix)):
        keep |= installed_dists.own_requirements()
    return Policy(keep=frozenset(keep), reinstall=frozenset(reinstall), seed=spec.seed)


def _same_path(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
