"""``envsync lock``: resolve env.toml into pylock.toml; and the lock an apply installs from.

A fresh lock is kept as it is. A stale one is first pruned (what env.toml no longer asks
for is dropped, from the lock's own graph, without a resolver run), and resolved only when
pruning cannot answer; existing pins are the resolver's preferences.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from packaging.utils import canonicalize_name

from envsync.core import lockfile, pruning
from envsync.core.lockdiff import TargetChanges, changes
from envsync.core.lockmerge import TargetResolution, missing_files, recorded_by_wheel, split
from envsync.errors import MissingLockError, ResolutionError, StaleLockError
from envsync.report import PinReleased, Resolving, Step
from envsync.resolve.protocol import ResolveRequest
from envsync.usecases import project
from envsync.usecases.backends import resolver_for
from envsync.usecases.context import start
from envsync.usecases.locktargets import Runner, runner_for, spec_targets, target_of
from envsync.usecases.target import find_target

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence
    from pathlib import Path

    from packaging.pylock import Pylock
    from packaging.version import Version

    from envsync._types import NormalizedName
    from envsync.core.resolved import LockedVcs
    from envsync.core.spec import Spec
    from envsync.core.targets import LockTarget
    from envsync.resolve.ahead import Calls
    from envsync.resolve.artifacts import FileListings
    from envsync.resolve.protocol import Resolution, Resolver
    from envsync.usecases.backends import Services
    from envsync.usecases.context import RunContext
    from envsync.usecases.target import Target

__all__ = [
    "LockChange",
    "LockOutcome",
    "Mode",
    "lock",
    "lock_for",
    "outcome_of",
    "upgraded",
    "write",
]

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
    """Package entries in the lock."""
    targets: tuple[LockTarget, ...]
    """The Pythons and platforms the lock serves."""
    changes: tuple[TargetChanges, ...] = ()
    """Per target, what changed against the previous lock (empty when nothing did)."""
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
    machine = find_target(spec, ctx.services.reporter, ctx.prober)
    if upgrade or upgrade_packages:
        return write(ctx, upgraded(ctx, machine, upgrade_packages, every=upgrade))
    # As apply decides: a fresh lock is kept as it is, a stale one pruned or resolved.
    new, change = lock_for(ctx, machine, "auto")
    return outcome_of(ctx, new, change) if change == "unchanged" else write(ctx, new)


def upgraded(
    ctx: RunContext, machine: Target, packages: Collection[str], *, every: bool = False
) -> Pylock:
    """The lock resolved again with *packages* (or *every* package) unpinned, in memory."""
    names = frozenset(canonicalize_name(n) for n in packages)
    targets = spec_targets(ctx.spec, target_of(machine), ctx.prober)
    return _resolve(ctx, machine, targets, upgrade=every, upgrade_packages=names)


def lock_for(ctx: RunContext, machine: Target, mode: Mode) -> tuple[Pylock, LockChange]:
    """The lock to install from, resolved in memory when it is stale (the caller writes it)."""
    current = ctx.project.lock
    if mode == "frozen":
        if current.lock is None:
            msg = f"--frozen needs a lock, and {current.path} does not exist"
            raise MissingLockError(msg, hint="run `envsync lock` and commit pylock.toml")
        return current.lock, "unchanged"
    targets = spec_targets(ctx.spec, target_of(machine), ctx.prober)
    why = (
        "there is no pylock.toml yet"
        if current.lock is None
        else project.stale_because(ctx.project, targets)
    )
    if why is None and current.lock is not None:
        return current.lock, "unchanged"
    if mode == "locked":
        msg = f"the lock is out of date: {why}"
        raise StaleLockError(msg, hint="run `envsync lock` and commit pylock.toml")
    if current.lock is not None:  # say why the lock changes, as Terraform says why it replaces
        ctx.services.reporter.emit(Step(what=f"relocking: {why}"))
    new = _pruned(ctx, targets) or _resolve(ctx, machine, targets)
    return new, "created" if current.lock is None else "updated"


def write(ctx: RunContext, new: Pylock) -> LockOutcome:
    """Write *new* unless pylock.toml already holds exactly its text."""
    text = lockfile.dumps(new)
    existing = ctx.project.lock.text
    if existing == text:
        return outcome_of(ctx, new, "unchanged")
    project.write_lock(ctx.project.lock.path, text)
    # Imported here: only a run that wrote a lock keeps the recipe of the next relock.
    from envsync.usecases import aheadrecipe  # noqa: PLC0415

    aheadrecipe.keep(ctx, new, text)
    return outcome_of(ctx, new, "created" if existing is None else "updated")


def outcome_of(ctx: RunContext, the_lock: Pylock, change: LockChange) -> LockOutcome:
    """What happened to the lock, for the report: per target, what changed."""
    info = ctx.table_of(the_lock) or lockfile.info(the_lock)  # a new lock's is read here
    current = ctx.project.lock
    old = (current.lock, current.info) if current.lock and current.info else None
    # A first lock has nothing to compare with: its size and targets say it all.
    changed = (
        () if old is None or change == "unchanged" else changes(old, (the_lock, info), info.targets)
    )
    return LockOutcome(
        path=current.path,
        change=change,
        packages=len(the_lock.packages),
        targets=info.targets,
        changes=tuple(c for c in changed if c),
        local_files=ctx.project.local.files,
    )


def _resolve(
    ctx: RunContext,
    machine: Target,
    targets: Sequence[LockTarget],
    *,
    upgrade: bool = False,
    upgrade_packages: frozenset[NormalizedName] = frozenset(),
) -> Pylock:
    """Resolve each target that needs it (in parallel), keep the others', merge them."""
    spec = ctx.spec
    kept = {} if upgrade or upgrade_packages else _reusable(ctx, targets)
    runners = [runner_for(t, machine, ctx.prober) for t in targets if t not in kept]
    requirements = len(spec.dependencies) + sum(len(g.requirements) for g in spec.groups)
    for runner in runners:
        target = runner.target
        event = Resolving(
            python=target.python, platform=target.platform.name, requirements=requirements
        )
        ctx.services.reporter.emit(event)
    # An upgrade is never repeated as it is: its runs are neither started ahead nor recorded.
    calls = None if upgrade or upgrade_packages else _calls(ctx, runners)
    resolver = (ctx.services.resolver or resolver_for(spec, calls)) if runners else None
    # Imported here, as the resolver is: plan and apply of a fresh lock never list files.
    from envsync.resolve.artifacts import FileListings  # noqa: PLC0415

    # The targets list the same pages: each is read once. The lock on disk says what its
    # wheels' metadata files said: a relock reads only those of versions new to it.
    listings = FileListings(recorded_by_wheel(ctx.project.lock.lock))

    vcs = _commits(ctx, upgrade=upgrade, upgrade_packages=upgrade_packages) if runners else {}
    requests = [
        _request(ctx, r, listings, vcs, upgrade=upgrade, upgrade_packages=upgrade_packages)
        for r in runners
    ]
    answers = _resolve_all(resolver, requests, build=spec.build) if resolver else []
    _report_released(ctx, [a for r, a in zip(runners, answers, strict=True) if _had_pins(ctx, r)])
    resolved = [
        TargetResolution(target=r.target, packages=a.packages, roots=a.roots)
        for r, a in zip(runners, answers, strict=True)
    ]
    every = sorted([*kept.values(), *resolved], key=lambda r: r.target.key)
    for resolution in every:
        _check_installable(resolution, build=spec.build)
    return lockfile.build_lock(spec=spec, resolutions=every, local=ctx.project.local.hashes)


def _calls(ctx: RunContext, runners: Sequence[Runner]) -> Calls:
    """The resolver's runner: it takes over a run started ahead, and records what it ran."""
    from envsync.resolve.ahead import Calls  # noqa: PLC0415 - as the resolver: when resolving
    from envsync.system.process import run  # noqa: PLC0415

    python = os.fspath(runners[0].python) if len(runners) == 1 else None
    ctx.memory.calls = Calls(run, ctx.services.ahead, python=python)
    return ctx.memory.calls


def _reusable(ctx: RunContext, targets: Sequence[LockTarget]) -> dict[LockTarget, TargetResolution]:
    """The targets whose inputs did not change: their part of the current lock, as it is."""
    current, info = ctx.project.lock.lock, ctx.project.lock.info
    if current is None or info is None or not info.targets:
        return {}
    if info.inputs != lockfile.inputs_fingerprint(ctx.spec, ctx.project.local.hashes):
        return {}
    return {t: split(current, t, info.roots) for t in targets if t in info.targets}


def _commits(
    ctx: RunContext, *, upgrade: bool, upgrade_packages: frozenset[NormalizedName]
) -> dict[NormalizedName, LockedVcs]:
    """Each git requirement's commit, looked up once for every target (``resolve.vcs``)."""
    from envsync.resolve import vcs  # noqa: PLC0415 - as the resolver: only when resolving

    spec = ctx.spec
    wanted = vcs.vcs_requirements(
        [*spec.dependencies, *(r for g in spec.groups for r in g.requirements)]
    )
    if not wanted:
        return {}
    locked = vcs.locked_commits(ctx.project.lock.lock)
    return vcs.pin_commits(wanted, locked, upgrade=upgrade, upgrade_packages=upgrade_packages)


def _request(
    ctx: RunContext,
    runner: Runner,
    listings: FileListings,
    vcs: Mapping[NormalizedName, LockedVcs],
    *,
    upgrade: bool,
    upgrade_packages: frozenset[NormalizedName],
) -> ResolveRequest:
    spec = ctx.spec
    return ResolveRequest(
        dependencies=spec.dependencies,
        groups=spec.groups,
        python=runner.python,
        python_version=runner.target.python,
        index=spec.index,
        root=spec.root,
        preferred=_preferences(ctx, runner.target),
        upgrade=upgrade,
        upgrade_packages=upgrade_packages,
        sources=spec.sources,
        indexes=spec.indexes,
        build=spec.build,
        routes=ctx.routes(),  # looked up once per run, shared by every target
        target=runner.target,
        foreign=runner.foreign,
        listings=listings,
        vcs=vcs,
    )


def _preferences(ctx: RunContext, target: LockTarget) -> dict[NormalizedName, Version]:
    """The pins a target keeps from the lock on disk (``preferences``)."""
    return lockfile.preferences(ctx.project.lock.lock, ctx.project.lock.info, target)


def _resolve_all(
    resolver: Resolver, requests: Sequence[ResolveRequest], *, build: bool
) -> list[Resolution]:
    """Each target's resolution: in parallel, bounded by the CPU count (``schedule``)."""
    # Imported here: plan and apply of a fresh lock never resolve (nor load pip's errors).
    from envsync.resolve import schedule  # noqa: PLC0415

    try:
        return schedule.resolve_all(resolver, requests, workers=os.cpu_count() or 1)
    except ResolutionError as exc:
        if build:
            raise
        # "No version" may only mean "no wheel": say so.
        raise ResolutionError(
            exc.message,
            hint="env.toml says build = false, so only versions with a wheel count: a package "
            "that publishes only an sdist needs build = true",
        ) from exc


def _had_pins(ctx: RunContext, runner: Runner) -> bool:
    """Whether the current lock pinned the runner's target: a new target only borrowed pins.

    A lock that names no targets (format 1) served the one it was resolved for.
    """
    info = ctx.project.lock.info
    return info is None or not info.targets or runner.target in info.targets


def _report_released(ctx: RunContext, answers: Sequence[Resolution]) -> None:
    """Say which kept pins the relock let go of (once, however many targets let go of it)."""
    said: set[tuple[str, str]] = set()
    for answer in answers:
        for pin in answer.released:
            if (pin.name, str(pin.version)) in said:
                continue
            said.add((pin.name, str(pin.version)))
            event = PinReleased(
                package=pin.name, pinned=str(pin.version), now=str(pin.now), because=pin.because
            )
            ctx.services.reporter.emit(event)


def _check_installable(resolution: TargetResolution, *, build: bool) -> None:
    """Every package of the target has a file the target can install: else one error."""
    missing = missing_files(resolution, build=build)
    if not missing:
        return
    target = resolution.target
    names = ", ".join(f"{p.name} {p.version}" for p in missing)
    raise ResolutionError(
        f"nothing in the lock installs on {target}: {names} "
        f"({'has' if len(missing) == 1 else 'have'} no wheel for {target.platform.name}"
        f"{'' if build else ' and build = false'}{' and no sdist' if build else ''})",
        hint=f"pin a version that ships a wheel for {target.platform.name}, "
        + ("allow building from sdists (build = true), " if not build else "")
        + f"or drop {target.platform.name} from env.toml's [lock] platforms",
    )


def _pruned(ctx: RunContext, targets: Sequence[LockTarget]) -> Pylock | None:
    """The current lock less what env.toml no longer asks for, when that is all that changed.

    No resolver run: the lock records its requirements, roots and dependency graph.
    """
    current, info = ctx.project.lock.lock, ctx.project.lock.info
    if current is None or info is None or set(info.targets) != set(targets):
        return None
    return pruning.prune(current, ctx.spec, ctx.project.local.hashes, table=info)
