"""One lock from the resolutions of several targets, and each target's part of a lock. PURE.

Each target (a Python on a platform) is resolved on its own; ``merge`` turns those answers
into the lock's package entries: one entry per version of a package, whose marker is true on
exactly the targets (and groups) that need that version, and no marker where every target
needs it for the main dependencies. ``split`` reads a target's part back from a lock, so a
target whose inputs did not change keeps its resolution without running a resolver, and
``missing_files`` is the check that every target can install every package it needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from packaging.markers import Marker
from packaging.pylock import (
    PackageArchive,
    PackageDirectory,
    PackageSdist,
    PackageVcs,
    PackageWheel,
)
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from envsync.core.lockselect import package_version
from envsync.core.resolved import LockedFile, LockedVcs, ResolvedPackage
from envsync.core.targets import subset_marker

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence

    from packaging.pylock import Package, Pylock

    from envsync._types import NormalizedName
    from envsync.core.targets import LockTarget

__all__ = [
    "Entry",
    "TargetResolution",
    "merge",
    "missing_files",
    "recorded_by_wheel",
    "recorded_requires",
    "roots_of",
    "split",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class TargetResolution:
    """What one target resolved to."""

    target: LockTarget
    """The Python and platform."""
    packages: tuple[ResolvedPackage, ...]
    """Its packages; ``groups`` says which groups need each on this target."""
    roots: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Each group's own top-level packages on this target (``""``: the main ones)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Entry:
    """One package entry of the merged lock."""

    package: ResolvedPackage
    """The package, its files and its dependencies on the targets that need it."""
    marker: Marker | None
    """True on exactly the targets and groups that need it; None: always installed."""
    dependencies: tuple[tuple[NormalizedName, str | None], ...]
    """Each dependency's name, with the version where the lock holds more than one."""


def _identity(p: ResolvedPackage) -> tuple[str, ...]:
    """What makes two targets' packages the same lock entry: name, version and source."""
    archive = p.archive.filename if p.archive else ""
    commit = p.vcs.commit_id if p.vcs else ""
    return (p.name, str(p.version), p.directory or "", archive, str(p.editable), commit)


def merge(resolutions: Sequence[TargetResolution]) -> tuple[Entry, ...]:
    """The lock entries serving every resolution, sorted by name then version."""
    every = [r.target for r in resolutions]
    found: dict[tuple[str, ...], ResolvedPackage] = {}
    needs: dict[tuple[str, ...], dict[LockTarget, frozenset[str]]] = {}
    deps: dict[tuple[str, ...], set[NormalizedName]] = {}
    requires: dict[tuple[str, ...], set[str]] = {}
    for resolution in resolutions:
        for package in resolution.packages:
            key = _identity(package)
            found.setdefault(key, package)
            needs.setdefault(key, {})[resolution.target] = package.groups
            deps.setdefault(key, set()).update(package.dependencies)
            # A version's lines, each target keeping those of its own dependencies.
            requires.setdefault(key, set()).update(package.requires)
    versions: dict[str, set[str]] = {}
    for package in found.values():
        versions.setdefault(package.name, set()).add(str(package.version))
    entries = [
        Entry(
            package=replace(package, requires=tuple(sorted(requires[key]))),
            marker=_marker(needs[key], every),
            dependencies=_dependencies(deps[key], key, needs, found, versions),
        )
        for key, package in found.items()
    ]
    return tuple(sorted(entries, key=lambda e: (e.package.name, str(e.package.version))))


def _marker(
    needs: Mapping[LockTarget, frozenset[str]], every: Sequence[LockTarget]
) -> Marker | None:
    """The marker of an entry that *needs* names the targets (and their groups) of."""
    by_groups: dict[frozenset[str], list[LockTarget]] = {}
    for target, groups in needs.items():
        by_groups.setdefault(groups, []).append(target)
    if frozenset() in by_groups and len(by_groups[frozenset()]) == len(every):
        return None  # the main dependencies need it everywhere
    parts = [
        _both(subset_marker(targets, every), _groups_marker(groups))
        for groups, targets in sorted(by_groups.items(), key=lambda item: sorted(item[0]))
    ]
    text = " or ".join(f"({p})" for p in parts if p) if len(parts) > 1 else parts[0]
    return Marker(text) if text else None


def _groups_marker(groups: frozenset[str]) -> str | None:
    if not groups:
        return None
    return " or ".join(f"'{g}' in dependency_groups" for g in sorted(groups))


def _both(left: str | None, right: str | None) -> str | None:
    if left is None or right is None:
        return left or right
    return f"({left}) and ({right})"


def _dependencies(
    names: Iterable[NormalizedName],
    key: tuple[str, ...],
    needs: Mapping[tuple[str, ...], Mapping[LockTarget, frozenset[str]]],
    found: Mapping[tuple[str, ...], ResolvedPackage],
    versions: Mapping[str, set[str]],
) -> tuple[tuple[NormalizedName, str | None], ...]:
    """Each dependency by name; by name and version where the lock holds several versions.

    PEP 751 asks for enough keys to tell the entry apart: the versions listed are those the
    dependency has on the targets this entry serves.
    """
    mine = set(needs[key])
    listed: set[tuple[NormalizedName, str | None]] = set()
    for name in names:
        if len(versions.get(name, ())) <= 1:
            listed.add((name, None))
            continue
        listed.update(
            (name, str(package.version))
            for other, package in found.items()
            if package.name == name and mine & set(needs[other])
        )
    return tuple(sorted(listed, key=lambda d: (d[0], d[1] or "")))


# -- a target's part of a lock -------------------------------------------------------------


def split(
    lock: Pylock, target: LockTarget, roots: Mapping[str, Collection[str]]
) -> TargetResolution:
    """What *lock* holds for *target*: each package it needs there, and for which groups.

    *roots* are the lock's recorded top-level packages per group (``[tool.envsync]``).
    """
    groups = tuple(lock.dependency_groups or ())
    base = target.markers()
    chosen: list[ResolvedPackage] = []
    for package in lock.packages:
        needed = _needed_by(package.marker, base, groups)
        if needed is not None:
            chosen.append(_resolved(package, needed))
    names = {p.name for p in chosen}
    packages = tuple(_only_deps(p, names) for p in chosen)
    return TargetResolution(
        target=target,
        packages=packages,
        roots={g: tuple(n for n in found if n in names) for g, found in roots.items()},
    )


def _needed_by(
    marker: Marker | None, base: Mapping[str, str], groups: Sequence[str]
) -> frozenset[str] | None:
    """The groups that need a package with *marker* (empty: the main dependencies); None: none."""

    def true_with(chosen: Iterable[str]) -> bool:
        env = {**base, "extras": frozenset(), "dependency_groups": frozenset(chosen)}
        return marker is None or marker.evaluate(env, context="lock_file")  # type: ignore[arg-type]

    if true_with(()):
        return frozenset()
    needing = frozenset(g for g in groups if true_with((g,)))
    return needing or None


def _resolved(package: Package, groups: frozenset[str]) -> ResolvedPackage:
    directory = package.directory
    return ResolvedPackage(
        name=package.name,
        version=package_version(package),
        groups=groups,
        dependencies=tuple(sorted({str(d["name"]) for d in package.dependencies or ()})),  # type: ignore[misc]
        wheels=tuple(_locked(w, w.filename) for w in package.wheels or ()),
        sdist=_locked(package.sdist, package.sdist.filename) if package.sdist else None,
        directory=directory.path if isinstance(directory, PackageDirectory) else None,
        editable=bool(directory.editable) if isinstance(directory, PackageDirectory) else False,
        archive=_archive(package.archive),
        vcs=_vcs(package.vcs),
        index=package.index,
        requires_python=str(package.requires_python) if package.requires_python else None,
        requires=recorded_requires(package),
    )


def recorded_requires(package: Package) -> tuple[str, ...]:
    """The Requires-Dist lines the lock records for *package* (``[packages.tool.envsync]``).

    Empty for a lock written before they were recorded, or a package the index offered no
    metadata for; ``lockcheck`` has checked the key's shape.
    """
    table = (package.tool or {}).get("envsync")
    found = table.get("requires") if isinstance(table, dict) else None
    return tuple(str(text) for text in found) if isinstance(found, list) else ()


def recorded_by_wheel(lock: Pylock | None) -> dict[str, tuple[str, ...]]:
    """Each wheel's sha256 in *lock*, with the Requires-Dist lines recorded for its version.

    What a relock needs to record those lines again without reading the metadata files.
    """
    found: dict[str, tuple[str, ...]] = {}
    for package in lock.packages if lock is not None else ():
        if lines := recorded_requires(package):
            found.update({w.hashes["sha256"]: lines for w in package.wheels or ()})
    return found


def _locked(file: PackageWheel | PackageSdist | PackageArchive, name: str) -> LockedFile:
    return LockedFile(
        filename=name, url=file.url, path=file.path, sha256=file.hashes["sha256"], size=file.size
    )


def _archive(archive: PackageArchive | None) -> LockedFile | None:
    if archive is None:
        return None
    return _locked(archive, (archive.url or archive.path or "").rsplit("/", 1)[-1])


def _vcs(vcs: PackageVcs | None) -> LockedVcs | None:
    if vcs is None or vcs.url is None:  # lockcheck refuses a vcs entry without a url
        return None
    return LockedVcs(
        url=vcs.url,
        commit_id=vcs.commit_id,
        requested_revision=vcs.requested_revision,
        subdirectory=vcs.subdirectory,
    )


def _only_deps(package: ResolvedPackage, names: Collection[str]) -> ResolvedPackage:
    kept = tuple(d for d in package.dependencies if d in names)
    if kept == package.dependencies:
        return package
    # The lines of the dependencies this target does not have go with them, as a resolution
    # of this target alone would not have recorded them.
    requires = tuple(r for r in package.requires if _requirement_name(r) in kept)
    return replace(package, dependencies=kept, requires=requires)


def _requirement_name(text: str) -> str:
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:  # pragma: no cover - lockcheck refused the lock already
        return ""


def roots_of(resolutions: Iterable[TargetResolution]) -> dict[str, tuple[str, ...]]:
    """Each group's top-level packages on any target (``""``: the main ones)."""
    found: dict[str, set[str]] = {}
    for resolution in resolutions:
        for group, names in resolution.roots.items():
            found.setdefault(group, set()).update(names)
    return {group: tuple(sorted(names)) for group, names in sorted(found.items())}


# -- can every target install what it needs? -----------------------------------------------


def missing_files(resolution: TargetResolution, *, build: bool) -> list[ResolvedPackage]:
    """The packages *resolution*'s target has no file to install from (sorted by name).

    A package is installable when a wheel's tags are among the target's, or it has an sdist
    and building is allowed, or it is a local folder or direct archive. A platform whose tags
    are not known (a machine no named platform matches) is not checked here.
    """
    if not resolution.target.platform.tags:
        return []
    accepted = frozenset(resolution.target.tags())
    return [p for p in resolution.packages if not _installable(p, accepted, build=build)]


def _installable(package: ResolvedPackage, accepted: frozenset[object], *, build: bool) -> bool:
    if package.directory is not None or package.archive is not None or package.vcs is not None:
        return True
    if any(_wheel_tags(w) & accepted for w in package.wheels):
        return True
    return build and package.sdist is not None


def _wheel_tags(wheel: LockedFile) -> frozenset[object]:
    try:
        return frozenset(parse_wheel_filename(wheel.filename)[3])
    except InvalidWheelFilename:
        return frozenset()
