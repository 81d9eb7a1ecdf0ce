"""Kept pins are preferences: a relock lets go of those that conflict with the changed spec.

A relock hands the resolver the current lock's pins so that it changes only what it must.
uv takes them as preferences; pip-compile takes them as constraints and lets go of one only
when the conflict names it, so a kept ``c 2.0`` that requires ``a>=2`` makes ``a<2`` fail
(the conflict names ``a``, whose pin pip-tools had already set aside). So the resolver runs
with every pin, then, on a conflict, without the pins of the packages the conflict names,
then without any pin: a conflict left after that is real, and is reported as the resolver
explained it (``compile_errors.ConflictError``).

Whichever run succeeds and whichever backend let go, the answer says which kept pins the new
versions did not keep, and why (``Resolution.released``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from envsync.resolve.compile_errors import ConflictError
from envsync.resolve.protocol import Released

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from packaging.requirements import Requirement
    from packaging.version import Version

    from envsync._types import NormalizedName
    from envsync.core.lockfile import ResolvedPackage
    from envsync.core.pipoutput import Conflict
    from envsync.resolve.protocol import Resolution, Resolver, ResolveRequest

__all__ = ["released", "resolve", "settled"]


def resolve(resolver: Resolver, request: ResolveRequest) -> Resolution:
    """Resolve *request*, letting go of kept pins as far as a conflict needs; say which."""
    kept = _kept(request)
    try:
        return _answer(request, resolver.resolve(request), ())
    except ConflictError as exc:
        if not kept:  # nothing to let go of: the conflict is real
            raise
        first = exc.conflict
    seen = [first] if first else []
    named = first.names() if first else frozenset()
    unnamed = {name: version for name, version in kept.items() if name not in named}
    if unnamed and len(unnamed) < len(kept):  # else the same run again, or the next one
        try:
            return _answer(request, resolver.resolve(_keeping(request, unnamed)), seen)
        except ConflictError as exc:
            seen += [exc.conflict] if exc.conflict else []
    # Raises the conflict left without any pin: the real one, in the resolver's words.
    return _answer(request, resolver.resolve(_keeping(request, {})), seen)


def settled(request: ResolveRequest, resolution: Resolution) -> Resolution:
    """*resolution*, found with every kept pin offered, saying which pins it did not keep."""
    return _answer(request, resolution, ())


def _kept(request: ResolveRequest) -> dict[NormalizedName, Version]:
    """The pins the resolver is asked to keep: none when upgrading, less those to upgrade."""
    if request.upgrade:
        return {}
    return {n: v for n, v in request.preferred.items() if n not in request.upgrade_packages}


def _keeping(request: ResolveRequest, pins: Mapping[NormalizedName, Version]) -> ResolveRequest:
    return dataclasses.replace(request, preferred=pins)


def _answer(
    request: ResolveRequest, resolution: Resolution, conflicts: Sequence[Conflict]
) -> Resolution:
    return dataclasses.replace(resolution, released=released(request, resolution, conflicts))


def released(
    request: ResolveRequest, resolution: Resolution, conflicts: Sequence[Conflict] = ()
) -> tuple[Released, ...]:
    """The kept pins *resolution* did not keep, with why (from *conflicts* where they say).

    Not counted: a package no longer in the lock (nothing needs it), one that became a local
    folder, and one whose pin env.toml's own requirement now excludes (the user asked).
    """
    now = {p.name: p.version for p in resolution.packages}
    wanted = _top_level(request)
    changed = _changed(wanted, request.preferred)
    graph = _Graph(resolution.packages)
    return tuple(
        Released(
            name=name,
            version=version,
            now=new,
            because=_because(name, conflicts, changed, graph),
        )
        for name, version in sorted(_kept(request).items())
        if (new := now.get(name)) is not None
        and new != version
        and not _excluded(version, wanted.get(name, ()))
    )


def _top_level(request: ResolveRequest) -> dict[NormalizedName, list[Requirement]]:
    """env.toml's requirements (main and every group) by package, those of the target only.

    A requirement whose marker is false where the request resolves (``armonly; platform_machine
    == "aarch64"`` on x86_64) asks for nothing there, so it is no change that explains a pin.
    """
    environment = request.target.markers() if request.target is not None else None
    found: dict[NormalizedName, list[Requirement]] = {}
    for req in (*request.dependencies, *(r for g in request.groups for r in g.requirements)):
        if req.marker is not None and not req.marker.evaluate(environment):
            continue
        found.setdefault(canonicalize_name(req.name), []).append(req)
    return found


def _excluded(version: Version, requirements: Iterable[Requirement]) -> bool:
    """Whether env.toml's own requirements rule *version* out (a URL rules every version out)."""
    return any(
        req.url or not req.specifier.contains(version, prereleases=True) for req in requirements
    )


def _changed(
    wanted: Mapping[NormalizedName, Sequence[Requirement]],
    pins: Mapping[NormalizedName, Version],
) -> dict[NormalizedName, str]:
    """The requirements a relock is for, as far as the pins tell: new, or ruling their pin out."""
    return {
        name: ", ".join(map(str, reqs))
        for name, reqs in wanted.items()
        if name not in pins or _excluded(pins[name], reqs)
    }


def _because(
    name: NormalizedName,
    conflicts: Sequence[Conflict],
    changed: Mapping[NormalizedName, str],
    graph: _Graph,
) -> str:
    """Why the pin of *name* went: the conflict that named it, else the change it is tied to."""
    for found in conflicts:
        if name in found.names():
            return "; ".join(map(str, found.demands))
    related = graph.related(name)
    culprits = [req for culprit, req in changed.items() if culprit in related] or list(
        changed.values()
    )
    if culprits:
        return f"it conflicts with {', '.join(culprits)}"
    return "it no longer fits the requirements"


class _Graph:
    """The new resolution's dependency graph, read both ways."""

    def __init__(self, packages: Iterable[ResolvedPackage]) -> None:
        self._down: dict[NormalizedName, tuple[NormalizedName, ...]] = {}
        self._up: dict[NormalizedName, list[NormalizedName]] = {}
        for package in packages:
            self._down[package.name] = package.dependencies
            for dependency in package.dependencies:
                self._up.setdefault(dependency, []).append(package.name)

    def related(self, name: NormalizedName) -> set[NormalizedName]:
        """What *name* needs and what needs it, however indirectly."""
        return _reach(name, self._down) | _reach(name, self._up)


def _reach(
    start: NormalizedName, edges: Mapping[NormalizedName, Sequence[NormalizedName]]
) -> set[NormalizedName]:
    seen: set[NormalizedName] = set()
    todo = [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
