"""``envsync why`` and ``envsync tree``: the lock's dependency graph, read from the lock alone.

Nothing is resolved, downloaded or installed, and no index is asked: the graph is the lock's
``dependencies`` on the chosen target (this machine's, as export chooses it, or a named one),
each edge with the requirement line the lock records for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from envsync.core import lockgraph
from envsync.core.targets import describe
from envsync.core.tomlcheck import closest
from envsync.errors import MissingLockError, PackageNotInstalledError
from envsync.usecases import locktargets, project, remembered, target
from envsync.usecases.context import start

# export's choice of a named target, shared: one meaning of --platform / --python
from envsync.usecases.export import named_target
from envsync.usecases.planning import choose_groups

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from packaging.pylock import Pylock

    from envsync.core.locktable import LockInfo
    from envsync.core.selection import Chosen, GroupSelection
    from envsync.core.spec import Spec
    from envsync.report import Reporter
    from envsync.usecases.context import RunContext

__all__ = ["Inspected", "Why", "graph_of", "why"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Inspected:
    """The lock's graph on the chosen target, and what the caller should warn about."""

    graph: lockgraph.Graph
    """What the target installs, as a graph."""
    target: str
    """The target, as a person reads it (``Python 3.12 on linux-x86_64``)."""
    stale: str | None
    """Why the lock is out of date for env.toml (it is read as it is), or None."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Why:
    """``envsync why PKG``: the package and every path that pulls it in."""

    inspected: Inspected
    """The graph it was found in."""
    answer: lockgraph.Node
    """The package, with what pulls it in below it (``lockgraph.why``)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class _Chosen:
    """A target's marker environment, and the groups."""

    environment: Mapping[str, str]
    groups: Chosen
    target: str
    stale: str | None


def graph_of(
    spec: Spec,
    groups: GroupSelection | None,
    reporter: Reporter,
    *,
    platform: str | None = None,
    python: str | None = None,
) -> Inspected:
    """The lock's graph for this machine, or for the target *platform* / *python*."""
    ctx = start(spec)
    the_lock, info = _lock(ctx)
    chosen = _choose(ctx, info, groups, reporter, platform=platform, python=python)
    return _inspected(the_lock, info, chosen)


def why(
    spec: Spec,
    package: str,
    groups: GroupSelection | None,
    reporter: Reporter,
    *,
    platform: str | None = None,
    python: str | None = None,
) -> Why:
    """Why the chosen target installs *package*: every path from a root down to it.

    PackageNotInstalledError when the lock has no such package (with the closest name), or
    the target does not install it (naming the targets, or the groups, that do).
    """
    ctx = start(spec)
    the_lock, info = _lock(ctx)
    name = str(canonicalize_name(package))
    locked = sorted({p.name for p in the_lock.packages})
    if name not in locked:
        raise _unknown(package, locked)
    chosen = _choose(ctx, info, groups, reporter, platform=platform, python=python)
    inspected = _inspected(the_lock, info, chosen)
    if name not in inspected.graph.versions:
        raise _not_here(name, the_lock, info, chosen)
    return Why(inspected=inspected, answer=lockgraph.why(inspected.graph, name))


def _lock(ctx: RunContext) -> tuple[Pylock, LockInfo]:
    lock, info = ctx.project.lock.lock, ctx.project.lock.info
    if lock is None or info is None:
        msg = f"this command reads the lock, and {ctx.project.lock.path} does not exist"
        raise MissingLockError(msg, hint="run `envsync lock` first")
    return lock, info


def _choose(
    ctx: RunContext,
    info: LockInfo,
    groups: GroupSelection | None,
    reporter: Reporter,
    *,
    platform: str | None,
    python: str | None,
) -> _Chosen:
    """The target (this machine's, or the named one of the lock's) and the groups, as export."""
    spec = ctx.spec
    if platform is None and python is None:  # this machine's: the venv's groups, as check
        groups = remembered.recall(groups, spec.venv, known=info.groups, reporter=reporter)
    chosen = choose_groups(spec, groups, lock=info)  # the lock's groups, as export
    if platform is None and python is None:
        found = target.find_target(spec, reporter, ctx.prober)
        here = locktargets.target_of(found)
        if problem := locktargets.not_served(info, here):
            raise problem
        stale = project.stale_because(ctx.project, locktargets.spec_targets(spec, here, ctx.prober))
        return _Chosen(environment=found.markers, groups=chosen, target=str(here), stale=stale)
    named = named_target(info, platform, python)
    stale = project.stale_because(ctx.project, None)
    return _Chosen(environment=named.markers(), groups=chosen, target=str(named), stale=stale)


def _inspected(the_lock: Pylock, info: LockInfo, chosen: _Chosen) -> Inspected:
    graph = lockgraph.build(
        the_lock,
        info,
        environment=chosen.environment,
        groups=chosen.groups.groups,
        main=chosen.groups.main,
    )
    return Inspected(graph=graph, target=chosen.target, stale=chosen.stale)


def _unknown(package: str, locked: Sequence[str]) -> PackageNotInstalledError:
    guess = closest(str(canonicalize_name(package)), list(locked))
    hint = f"did you mean {guess!r}?" if guess else "`envsync tree` lists what the lock installs"
    return PackageNotInstalledError(f"pylock.toml has no package {package!r}", hint=hint)


def _not_here(
    name: str, the_lock: Pylock, info: LockInfo, chosen: _Chosen
) -> PackageNotInstalledError:
    """The error for a locked package this target does not install, with who does."""
    entries = [p for p in the_lock.packages if p.name == name]
    groups = chosen.groups.groups
    msg = f"{name} is in the lock, but not installed on {chosen.target} with these groups"
    if targets := [
        t for t in info.targets if any(lockgraph.installs(p, t.markers(), groups) for p in entries)
    ]:
        return PackageNotInstalledError(msg, hint=f"it is installed on {describe(targets)}")
    needing = [
        g
        for g in info.groups
        if any(lockgraph.installs(p, chosen.environment, (g,)) for p in entries)
    ]
    hint = (
        "it is installed with " + ", ".join(f"--group {g}" for g in needing)
        if needing
        else "no target of the lock installs it with these groups"
    )
    return PackageNotInstalledError(msg, hint=hint)
