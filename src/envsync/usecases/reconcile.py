"""The use cases: lock, plan, apply. Plain calls into the effects, in a fixed, commented order.

Nothing here prints: progress goes to the injected Reporter, results are returned.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from packaging.utils import canonicalize_name

from envsync.core import lockfile, pruning
from envsync.core.planner import Change, Plan, make_plan
from envsync.core.selection import Chosen, GroupSelection, choose
from envsync.errors import (
    ApplyError,
    BuildError,
    EnvsyncError,
    Interrupted,
    MissingLockError,
    ResolutionError,
    StaleLockError,
)
from envsync.install import transaction
from envsync.install.pip import Installer, PipInstaller
from envsync.install.uv import UvInstaller
from envsync.report import Locked, NullReporter, Planned, Reporter, Resolving, Step
from envsync.resolve.piptools import PipToolsResolver
from envsync.resolve.protocol import Resolver, ResolveRequest
from envsync.resolve.uv import UvResolver, find_uv
from envsync.system import faults
from envsync.usecases import projectfiles
from envsync.usecases.target import (
    check_local_sources,
    find_target,
    local_inputs,
    minor_of,
    policy,
    staleness,
)
from envsync.venv import create, environment, interpreters

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
    from pathlib import Path

    from packaging.pylock import Pylock

    from envsync._types import NormalizedName
    from envsync.core.lockfile import Wanted
    from envsync.core.planner import InstalledDist
    from envsync.core.spec import InstallerName, Spec
    from envsync.usecases.target import Target, VenvChange
    from envsync.venv.drift import DriftItem
    from envsync.venv.interpreters import Interpreter

__all__ = [
    "LockOutcome",
    "Mode",
    "Outcome",
    "Services",
    "apply",
    "installer_for",
    "lock",
    "plan",
    "resolver_for",
]

#: auto: relock when stale. frozen: install the lock as it is, never resolve.
#: locked: fail when the lock is stale.
Mode = Literal["auto", "frozen", "locked"]
LockChange = Literal["unchanged", "created", "updated"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Services:
    """The effects a use case runs against; tests and other backends swap them."""

    resolver: Resolver | None = None
    """Turns the spec into pins and artifacts; None: the backend env.toml chooses."""
    installer: Installer | None = None
    """Installs and removes dists; None: the backend env.toml chooses (``installer_for``)."""
    reporter: Reporter = field(default_factory=NullReporter)
    """Receives progress events."""


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


def _native(spec: Spec, reporter: Reporter, verify: bool) -> Installer:
    # Imported here: plan, check and an apply with nothing to do never load it.
    from envsync.install.native import NativeInstaller  # noqa: PLC0415

    return NativeInstaller(
        compile_bytecode=spec.compile_bytecode,
        link_mode=spec.link_mode,
        rehash_cache=verify,
        reporter=reporter,
    )


def _uv(spec: Spec, _reporter: Reporter, _verify: bool) -> Installer:
    uv = _require_uv("installer", 'installer = "native" (or "pip")')
    return UvInstaller(uv=uv, compile_bytecode=spec.compile_bytecode, link_mode=spec.link_mode)


#: The backends ``[env] installer`` names, each made from the spec, the reporter and whether
#: ``--verify`` asks for cached files to be re-hashed (pip and uv re-read the archives anyway).
_INSTALLERS: Mapping[InstallerName, Callable[[Spec, Reporter, bool], Installer]] = {
    "native": _native,
    "pip": lambda _spec, _reporter, _verify: PipInstaller(),
    "uv": _uv,
}


def _require_uv(key: str, instead: str) -> Path:
    """The uv binary for the ``[env] KEY = "uv"`` asking for it; else an error saying the fix."""
    uv = find_uv()
    if uv is None:
        msg = f'env.toml asks for {key} = "uv", but uv is not installed'
        raise EnvsyncError(msg, hint=f"install uv (pip install uv), or set {instead}")
    return uv


def resolver_for(spec: Spec) -> Resolver:
    """The resolver backend *spec* chooses (``[env] resolver``, pip-tools by default)."""
    if spec.resolver == "pip-tools":
        return PipToolsResolver()
    return UvResolver(uv=_require_uv("resolver", 'resolver = "pip-tools"'))


def installer_for(
    spec: Spec, reporter: Reporter | None = None, *, verify: bool = False
) -> Installer:
    """The installer backend *spec* chooses (``[env] installer``, native by default).

    With *verify*, the native installer re-hashes each cache entry before linking from it.
    """
    return _INSTALLERS[spec.installer](spec, reporter or NullReporter(), verify)


# -- lock ----------------------------------------------------------------------------------


def lock(
    spec: Spec,
    *,
    upgrade: bool = False,
    upgrade_packages: Collection[str] = (),
    services: Services | None = None,
) -> LockOutcome:
    """Resolve *spec* and write pylock.toml; a fresh lock is kept unless asked to upgrade."""
    services = services or Services()
    check_local_sources(spec)  # pip would stumble on a missing folder with a traceback
    target = find_target(spec, services.reporter)
    current = projectfiles.read_lock(projectfiles.lock_path(spec))
    names = frozenset(canonicalize_name(n) for n in upgrade_packages)
    if (
        current is not None
        and not (upgrade or names)
        and staleness(current, spec, target.version) is None
    ):
        return _lock_outcome(spec, current, "unchanged")
    new = None if upgrade or names else _pruned(spec, target, current)
    if new is None:
        new = _resolve(spec, target, current, services, upgrade=upgrade, upgrade_packages=names)
    return _write_lock(spec, new)


def _resolve(
    spec: Spec,
    target: Target,
    current: Pylock | None,
    services: Services,
    *,
    upgrade: bool = False,
    upgrade_packages: frozenset[NormalizedName] = frozenset(),
) -> Pylock:
    requirements = len(spec.dependencies) + sum(len(g.requirements) for g in spec.groups)
    services.reporter.emit(Resolving(python=target.version, requirements=requirements))
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
    )
    try:
        resolution = (services.resolver or resolver_for(spec)).resolve(request)
    except ResolutionError as exc:
        if not spec.build:  # "no version" may only mean "no wheel": say so
            exc.hint = (
                "env.toml says build = false, so only versions with a wheel count: a package "
                "that publishes only an sdist needs build = true"
            )
        raise
    return lockfile.build_lock(
        spec=spec,
        python=resolution.python,
        packages=resolution.packages,
        roots=resolution.roots,
        local=local_inputs(spec),
    )


def _write_lock(spec: Spec, new: Pylock) -> LockOutcome:
    """Write *new* unless pylock.toml already holds exactly its text."""
    path = projectfiles.lock_path(spec)
    text = lockfile.dumps(new)
    try:
        existing: str | None = path.read_text("utf-8")
    except FileNotFoundError:
        existing = None
    if existing == text:
        return _lock_outcome(spec, new, "unchanged")
    projectfiles.write_lock(path, text)
    return _lock_outcome(spec, new, "created" if existing is None else "updated")


def _lock_outcome(spec: Spec, lock: Pylock, change: LockChange) -> LockOutcome:
    return LockOutcome(
        path=projectfiles.lock_path(spec),
        change=change,
        packages=len(lock.packages),
        python=lockfile.info(lock).python,
    )


# -- plan and apply ------------------------------------------------------------------------


def plan(
    spec: Spec,
    *,
    groups: GroupSelection | None = None,
    mode: Mode = "auto",
    services: Services | None = None,
) -> Outcome:
    """What apply would do; changes nothing (a stale lock is resolved in memory only)."""
    services = services or Services()
    check_local_sources(spec)  # pip would stumble on a missing folder with a traceback
    chosen, target, the_lock, lock_change = _prepare(spec, groups, mode, services)
    installed = _installed(spec.venv) if target.change == "keep" else ()
    the_plan = _plan(spec, the_lock, target, chosen, installed)
    return _outcome(spec, target, the_lock, lock_change, chosen, the_plan, applied=False)


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
    services = services or Services()
    check_local_sources(spec)  # pip would stumble on a missing folder with a traceback
    # 0. A run killed part way left its journal: put the venv back (or finish) first.
    if repaired := transaction.recover(spec.venv):
        services.reporter.emit(Step(what=f"{spec.venv}: {repaired}"))
    # 1. Resolve first: a failed resolve must leave everything as it was.
    chosen, target, the_lock, lock_change = _prepare(spec, groups, mode, services)
    # 2. Make the venv when missing or made from a Python the spec no longer accepts.
    with _venv_for(spec, target, services.reporter):
        the_plan, info = _sync(spec, the_lock, target, chosen, services, verify=verify)
    # 3. The venv now equals the lock: only now is a new lock worth keeping.
    if lock_change != "unchanged":
        lock_change = _write_lock(spec, the_lock).change
        services.reporter.emit(Locked(packages=len(the_lock.packages), written=True))
    done = _outcome(spec, target, the_lock, lock_change, chosen, the_plan, applied=True)
    return replace(done, site_packages=(info.purelib, info.platlib))


def _prepare(
    spec: Spec, groups: GroupSelection | None, mode: Mode, services: Services
) -> tuple[Chosen, Target, Pylock, LockChange]:
    """The chosen groups, the target interpreter and the lock to install from."""
    asked = groups or GroupSelection()
    # Groups are checked first, against the spec, so a typo costs no resolve; a frozen
    # install knows only the lock's groups.
    if mode != "frozen":
        known = [g.name for g in spec.groups]
        chosen = choose(asked, known=known, default=spec.default_groups)
    target = find_target(spec, services.reporter)
    the_lock, lock_change = _lock_for(spec, target, mode, services)
    if mode == "frozen":
        table = lockfile.info(the_lock)
        chosen = choose(asked, known=table.groups, default=table.default_groups)
    return chosen, target, the_lock, lock_change


def _sync(
    spec: Spec,
    the_lock: Pylock,
    target: Target,
    chosen: Chosen,
    services: Services,
    *,
    verify: bool = False,
) -> tuple[Plan, environment.VenvInfo]:
    """Plan against the venv as it is, show the plan, carry it out, and check the result."""
    info, installed = environment.inspect(spec.venv)
    found = _drift(info) if verify else ()
    the_plan = _plan(
        spec, the_lock, target, chosen, installed, info=info, reinstall={d.package for d in found}
    )
    services.reporter.emit(Planned(plan=the_plan))
    # The no-change path returns here, without starting pip.
    if not the_plan.is_empty():
        stray = [d.path for d in found if d.kind == "unrecorded"]
        wanted = [a.want for a in the_plan.of(*_INSTALLING) if a.want is not None]
        _refuse_builds(wanted, spec)
        installer = services.installer or installer_for(spec, services.reporter, verify=verify)
        index = spec.index.resolved(spec.root)
        direct = spec.direct_urls()  # their hosts' logins, which the lock leaves out
        if wanted:  # every file fetched and checked before anything in the venv changes
            installer.prepare(
                info.python,
                wanted,
                index=index,
                indexes=spec.indexes,
                sources=spec.sources,
                direct=direct,
            )
        writes = installer.writes(info.python, wanted) if wanted else None  # vetted
        faults.reached("downloaded")
        replaced = [a.name for a in the_plan.of(*_REPLACING)]
        # In a venv this run made there is nothing of another dist's to overwrite.
        overwritten = writes if writes and target.change == "keep" else ()
        with _transaction(spec.venv, replaced, (info.purelib, info.platlib), overwritten):
            create.remove_stray_files(spec.venv, {info.purelib, info.platlib}, stray)
            if wanted:
                services.reporter.emit(Step(what=f"installing {len(wanted)} package(s)"))
                installer.install(
                    info.python,
                    wanted,
                    index=index,
                    indexes=spec.indexes,
                    sources=spec.sources,
                    direct=direct,
                )
            if removed := the_plan.of(Change.REMOVE):  # moved aside by the transaction
                services.reporter.emit(Step(what=f"removed {len(removed)} package(s)"))
            _verify(spec, the_lock, target, chosen)
    return the_plan, info


#: Changes that install a file.
_INSTALLING = (Change.INSTALL, Change.UPGRADE, Change.DOWNGRADE, Change.REINSTALL)
#: Changes whose old dist leaves the venv: moved aside first, deleted only at commit.
_REPLACING = (Change.UPGRADE, Change.DOWNGRADE, Change.REINSTALL, Change.REMOVE)


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
        exc.message += f" (nothing was changed: {root} is as it was before this run)"
        raise
    except KeyboardInterrupt as exc:
        restored = None if txn is not None and txn.committed else root
        raise Interrupted(str(exc) or "interrupted", restored=restored) from exc


def _lock_for(
    spec: Spec,
    target: Target,
    mode: Mode,
    services: Services,
) -> tuple[Pylock, LockChange]:
    """The lock to install from, resolved in memory when it is stale (the caller writes it)."""
    path = projectfiles.lock_path(spec)
    current = projectfiles.read_lock(path)
    if mode == "frozen":
        if current is None:
            msg = f"--frozen needs a lock, and {path} does not exist"
            raise MissingLockError(msg, hint="run `envsync lock` and commit pylock.toml")
        return current, "unchanged"
    why = (
        "there is no pylock.toml yet"
        if current is None
        else staleness(current, spec, target.version)
    )
    if why is None and current is not None:
        return current, "unchanged"
    if mode == "locked":
        msg = f"the lock is out of date: {why}"
        raise StaleLockError(msg, hint="run `envsync lock` and commit pylock.toml")
    new = _pruned(spec, target, current) or _resolve(spec, target, current, services)
    return new, "created" if current is None else "updated"


def _pruned(spec: Spec, target: Target, current: Pylock | None) -> Pylock | None:
    """The current lock less what env.toml no longer asks for, when that is all that changed.

    No resolver run: the lock records its requirements, roots and dependency graph.
    """
    if current is None or minor_of(lockfile.info(current).python) != minor_of(target.version):
        return None
    return pruning.prune(current, spec, local_inputs(spec))


def _installed(root: Path) -> tuple[InstalledDist, ...]:
    return environment.inspect(root)[1]


def _plan(
    spec: Spec,
    the_lock: Pylock,
    target: Target,
    chosen: Chosen,
    installed: Sequence[InstalledDist],
    *,
    info: environment.VenvInfo | None = None,
    reinstall: set[NormalizedName] | None = None,
) -> Plan:
    markers = info.markers if info else target.markers
    tags = info.tags if info else target.tags
    wanted = lockfile.select(
        the_lock,
        environment=markers,
        tags=tags,
        groups=chosen.groups,
        root=spec.root,
        main=chosen.main,
    )
    return make_plan(wanted, installed, policy(spec, reinstall or ()))


def _venv_for(
    spec: Spec, target: Target, reporter: Reporter
) -> contextlib.AbstractContextManager[None]:
    """A no-op for a venv that fits; else a new venv that is undone if the block fails."""
    if target.change == "keep":
        return contextlib.nullcontext()
    interpreter = interpreters.probe(target.python)
    if target.change == "create":
        reporter.emit(Step(what=f"creating {spec.venv} with Python {target.version}"))
    else:
        reporter.emit(Step(what=f"recreating {spec.venv}: {target.reason}"))
    return _new_venv(spec.venv, interpreter, replace=target.change == "recreate")


@contextlib.contextmanager
def _new_venv(root: Path, interpreter: Interpreter, *, replace: bool) -> Iterator[None]:
    with create.new_venv(root, interpreter, replace=replace):
        # What the new venv would answer is known from its interpreter: no probe of it.
        environment.expect_new_venv(root, interpreter.executable)
        yield


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


def _verify(spec: Spec, the_lock: Pylock, target: Target, chosen: Chosen) -> None:
    """Re-read the venv: apply promises the venv equals the lock, so check it."""
    info, installed = environment.inspect(spec.venv)
    left = _plan(spec, the_lock, target, chosen, installed, info=info)
    if not left.is_empty():
        names = ", ".join(f"{a.name} ({a.change.value})" for a in left.changes())
        msg = f"after installing, the venv still differs from the lock: {names}"
        raise ApplyError(msg, left=[a.name for a in left.changes()])


def _outcome(  # noqa: PLR0917 - a private constructor helper, called twice
    spec: Spec,
    target: Target,
    the_lock: Pylock,
    lock_change: LockChange,
    chosen: Chosen,
    the_plan: Plan,
    *,
    applied: bool,
) -> Outcome:
    return Outcome(
        plan=the_plan,
        venv=spec.venv,
        venv_change=target.change,
        venv_reason=target.reason,
        python=target.version,
        lock=_lock_outcome(spec, the_lock, lock_change),
        groups=chosen.groups,
        main=chosen.main,
        applied=applied,
    )


def _drift(info: environment.VenvInfo) -> tuple[DriftItem, ...]:
    """``drift.verify``, imported only for ``--verify``: it re-hashes every installed file."""
    from envsync.venv import drift  # noqa: PLC0415 - not needed on the usual path

    return drift.verify(info)
