"""Drop requirements from a lock without resolving. PURE.

When env.toml differs from what a lock was resolved from only by requirements taken away
(a dependency, a group entry, a whole group), the new lock is the old one minus what nothing
needs any more: PEP 751 ``dependencies`` record the graph, ``[tool.envsync]`` the roots and
the requirements. Removing a package then costs no resolver run. Anything else (a new or
changed requirement, another index, another Python) returns None: resolve as usual.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from envsync.core import lockfile
from envsync.core.graph import closure
from envsync.core.lockmerge import TargetResolution, split
from envsync.core.spec import Group

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from packaging.pylock import Pylock

    from envsync.core.locktable import LockInfo
    from envsync.core.spec import Spec

__all__ = ["prune"]


def prune(
    lock: Pylock,
    spec: Spec,
    local: Mapping[str, str] | None = None,
    *,
    table: LockInfo | None = None,
) -> Pylock | None:
    """*lock* cut down to *spec*, when *spec* only removed requirements; else None.

    *table* is the lock's ``[tool.envsync]`` where the caller holds it already.
    """
    table = table or lockfile.info(lock)
    old = table.requirements
    new = _requirements_of(spec)
    if not old or not _only_removed(old, new):
        return None
    if lockfile.fingerprint(_with_requirements(spec, old), local) != table.fingerprint:
        return None  # something besides the requirements changed
    if not table.targets:
        return None  # a lock of an older format: resolve, to record its targets
    roots = _remaining_roots(table.roots, old, new)
    kept = [_pruned(split(lock, target, table.roots), roots) for target in table.targets]
    return lockfile.build_lock(spec=spec, resolutions=kept, local=local)


def _pruned(resolution: TargetResolution, roots: Mapping[str, tuple[str, ...]]) -> TargetResolution:
    """One target's packages that the remaining roots still reach, each with its groups."""
    edges: dict[str, tuple[str, ...]] = {p.name: p.dependencies for p in resolution.packages}
    present = set(edges)
    needs = {
        root: closure(edges, [n for n in names if n in present]) for root, names in roots.items()
    }
    packages = []
    for package in resolution.packages:
        groups = frozenset(root for root, names in needs.items() if package.name in names)
        if groups:
            main = "" in groups
            packages.append(dataclasses.replace(package, groups=frozenset() if main else groups))
    return TargetResolution(
        target=resolution.target,
        packages=tuple(packages),
        roots={root: tuple(n for n in names if n in present) for root, names in roots.items()},
    )


def _requirements_of(spec: Spec) -> dict[str, tuple[str, ...]]:
    """As ``LockInfo.requirements`` reads them back: credentials stripped."""
    table = lockfile.requirements_table(spec)
    found = {"": tuple(table["dependencies"])}
    found.update((name, tuple(reqs)) for name, reqs in table["groups"].items())
    return found


def _only_removed(old: Mapping[str, Iterable[str]], new: Mapping[str, Iterable[str]]) -> bool:
    """Every root of *new* was in *old*, with a subset of its requirements."""
    return all(root in old and set(reqs) <= set(old[root]) for root, reqs in new.items())


def _with_requirements(spec: Spec, old: Mapping[str, tuple[str, ...]]) -> Spec:
    """*spec* with the requirements the lock was made from, to compare everything else."""
    return dataclasses.replace(
        spec,
        dependencies=tuple(Requirement(r) for r in old.get("", ())),
        groups=tuple(
            Group(name=name, requirements=tuple(Requirement(r) for r in reqs))
            for name, reqs in sorted(old.items())
            if name
        ),
    )


def _remaining_roots(
    roots: Mapping[str, tuple[str, ...]],
    old: Mapping[str, tuple[str, ...]],
    new: Mapping[str, tuple[str, ...]],
) -> dict[str, tuple[str, ...]]:
    """Each remaining root's top-level packages, less the names no requirement asks for now."""
    kept = {}
    for root, reqs in new.items():
        asked = {canonicalize_name(Requirement(r).name) for r in reqs}
        dropped = {canonicalize_name(Requirement(r).name) for r in old[root]} - asked
        kept[root] = tuple(n for n in roots.get(root, ()) if n not in dropped)
    return kept
