"""``envsync lock``: resolve env.toml into pylock.toml; and the lock an apply installs from.

A fresh lock is kept as it is. A stale one is first pruned (what env.toml no longer asks
for is dropped, from the lock's own graph, without a resolver run), and resolved only when
pruning cannot answer; existing pins are the resolver's preferences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from packaging.utils import canonicalize_name

from envsync.core import lockfile, pruning
from envsync.errors import MissingLockError, ResolutionError, StaleLockError
from envsync.report import PinReleased, Resolving
from envsync.resolve import keeppins
from envsync.resolve.protocol import ResolveRequest
from envsync.usecases import project
from envsync.usecases.backends import resolver_for
from envsync.usecases.context import start
from envsync.usecases.target import find_target

if TYPE_CHECKING:
    from collections.abc import Collection
    from pathlib import Path

    from packaging.pylock import Pylock

    from envsync._types import NormalizedName
    from envsync.core.spec import Spec
    from envsync.usecases.backends import Services
    from envsync.usecases.context import RunContext
    from envsync.usecases.target import Target

__all__ = ["LockChange", "LockOutcome", "Mode", "lock", "lock_for", "outcome_of", "write"]

#: auto: relock when stale. frozen: install the lock as it is, never resolve.
#: locked: fail when the lock is stale.
Mode = Literal["auto", "frozen", "locked"]
LockChange = Literal["unchanged", "created", "updated"]


@dataclass(frozen=True, kw_only=True, slots=True)
class LockOutcome:
    """What ``lock`` did."""

    path: Path
    """The lock file."""
    change: LockChange
    """Whether the file was created, updated or left as it was."""
    packages: int
    """Packages in the lock."""
    python: str
    """Python version the lock is for."""
    local_files: tuple[Path, ...] = ()
    """The local packages' build files the lock depends on (the no-change path watches them)."""


def lock(
    spec: Spec,
    *,
    upgrade: bool = False,
    upgrade_packages: Collection[str] = (),
    services: Services | None = None,
) -> LockOutcome:
    """Resolve *spec* and write pylock.toml; a fresh lock is kept unless asked to upgrade."""
    ctx = start(spec, services)
    project.check_local_sources(spec)  # pip would stumble on a missing folder with a traceback
    target = find_target(spec, ctx.services.reporter, ctx.prober)
    names = frozenset(canonicalize_name(n) for n in upgrade_packages)
    if upgrade or names:
        new = _resolve(ctx, target, upgrade=upgrade, upgrade_packages=names)
        return write(ctx, new)
    # As apply decides: a fresh lock is kept as it is, a stale one pruned or resolved.
    new, change = lock_for(ctx, target, "auto")
    return outcome_of(ctx, new, change) if change == "unchanged" else write(ctx, new)


def lock_for(ctx: RunContext, target: Target, mode: Mode) -> tuple[Pylock, LockChange]:
    """The lock to install from, resolved in memory when it is stale (the caller writes it)."""
    current = ctx.project.lock
    if mode == "frozen":
        if current.lock is None:
            msg = f"--frozen needs a lock, and {current.path} does not exist"
            raise MissingLockError(msg, hint="run `envsync lock` and commit pylock.toml")
        return current.lock, "unchanged"
    why = (
        "there is no pylock.toml yet"
        if current.lock is None
        else project.stale_because(ctx.project, target.version)
    )
    if why is None and current.lock is not None:
        return current.lock, "unchanged"
    if mode == "locked":
        msg = f"the lock is out of date: {why}"
        raise StaleLockError(msg, hint="run `envsync lock` and commit pylock.toml")
    new = _pruned(ctx, target) or _resolve(ctx, target)
    return new, "created" if current.lock is None else "updated"


def write(ctx: RunContext, new: Pylock) -> LockOutcome:
    """Write *new* unless pylock.toml already holds exactly its text."""
    text = lockfile.dumps(new)
    existing = ctx.project.lock.text
    if existing == text:
        return outcome_of(ctx, new, "unchanged")
    project.write_lock(ctx.project.lock.path, text)
    return outcome_of(ctx, new, "created" if existing is None else "updated")


def outcome_of(ctx: RunContext, the_lock: Pylock, change: LockChange) -> LockOutcome:
    """What happened to the lock, for the report."""
    info = ctx.table_of(the_lock) or lockfile.info(the_lock)  # a new lock's is read here
    return LockOutcome(
        path=ctx.project.lock.path,
        change=change,
        packages=len(the_lock.packages),
        python=info.python,
        local_files=ctx.project.local.files,
    )


def _resolve(
    ctx: RunContext,
    target: Target,
    *,
    upgrade: bool = False,
    upgrade_packages: frozenset[NormalizedName] = frozenset(),
) -> Pylock:
    spec, current = ctx.spec, ctx.project.lock.lock
    requirements = len(spec.dependencies) + sum(len(g.requirements) for g in spec.groups)
    ctx.services.reporter.emit(Resolving(python=target.version, requirements=requirements))
    request = ResolveRequest(
        dependencies=spec.dependencies,
        groups=spec.groups,
        python=target.python,
        python_version=target.version,
        index=spec.index,
        root=spec.root,
        preferred=lockfile.pins(current) if current is not None else {},
        upgrade=upgrade,
        upgrade_packages=upgrade_packages,
        sources=spec.sources,
        indexes=spec.indexes,
        build=spec.build,
        routes=ctx.routes(),
    )
    try:
        resolution = keeppins.resolve(ctx.services.resolver or resolver_for(spec), request)
    except ResolutionError as exc:
        if spec.build:
            raise
        # "No version" may only mean "no wheel": say so.
        raise ResolutionError(
            exc.message,
            hint="env.toml says build = false, so only versions with a wheel count: a package "
            "that publishes only an sdist needs build = true",
        ) from exc
    for pin in resolution.released:
        ctx.services.reporter.emit(
            PinReleased(
                package=pin.name, pinned=str(pin.version), now=str(pin.now), because=pin.because
            )
        )
    return lockfile.build_lock(
        spec=spec,
        python=resolution.python,
        packages=resolution.packages,
        roots=resolution.roots,
        local=ctx.project.local.hashes,
    )


def _pruned(ctx: RunContext, target: Target) -> Pylock | None:
    """The current lock less what env.toml no longer asks for, when that is all that changed.

    No resolver run: the lock records its requirements, roots and dependency graph.
    """
    current, info = ctx.project.lock.lock, ctx.project.lock.info
    if current is None or info is None:
        return None
    if project.minor_of(info.python) != project.minor_of(target.version):
        return None
    return pruning.prune(current, ctx.spec, ctx.project.local.hashes, table=info)
