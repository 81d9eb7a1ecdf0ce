"""The lock's dependency graph on one environment: why a package is there, and the tree. PURE.

The edges are the lock's PEP 751 ``dependencies`` between the packages the environment
installs; each carries the requirement lines that pulled it in: the parent's Requires-Dist
(``[packages.tool.envsync] requires``), or for a top-level package env.toml's requirement
(``[tool.envsync] requirements``). A lock written before those were recorded still has every
edge, without its text. ``why`` walks up from a package to the roots (the main dependencies
and each group), every path; ``tree`` walks down from the roots (or up from the leaves), each
package expanded once, a package met again marked as repeated: cycles end there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from envsync.core.graph import closure
from envsync.core.lockmerge import recorded_requires
from envsync.core.lockselect import package_version

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence

    from packaging.pylock import Package, Pylock

    from envsync.core.locktable import LockInfo

__all__ = ["MAIN", "Edge", "Graph", "Node", "build", "installs", "tree", "why"]

#: The root name of the main dependencies (groups go by their own names).
MAIN = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Edge:
    """A package pulled in by a package or a root, and the requirement lines that did it."""

    child: str
    """The package pulled in (normalized name)."""
    requirements: tuple[str, ...]
    """The lines naming it that hold on this environment; empty: not recorded in the lock."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Graph:
    """What one environment installs from a lock, as a graph."""

    versions: Mapping[str, str]
    """Each installed package's version ("" for a source tree whose version is not known)."""
    roots: Mapping[str, tuple[Edge, ...]]
    """Each chosen root's top-level packages (``MAIN`` first, then the groups by name)."""
    children: Mapping[str, tuple[Edge, ...]]
    """Each package's dependencies on this environment, by name."""

    def parents(self, name: str) -> list[tuple[Literal["group", "package"], str, Edge]]:
        """What pulls *name* in: the roots that ask for it, then the packages, by name."""
        found: list[tuple[Literal["group", "package"], str, Edge]] = [
            ("group", root, e)
            for root, edges in self.roots.items()
            for e in edges
            if e.child == name
        ]
        found += [
            ("package", parent, e)
            for parent, edges in sorted(self.children.items())
            for e in edges
            if e.child == name
        ]
        return found


@dataclass(frozen=True, kw_only=True, slots=True)
class Node:
    """One line of a tree: a package or a root, under the line it hangs from."""

    kind: Literal["group", "package"]
    """A root (the main dependencies, or a group) or a package."""
    name: str
    """The package's name; the group's name (``MAIN``: the main dependencies)."""
    version: str = ""
    """The package's version."""
    requirements: tuple[str, ...] = ()
    """The lines of the edge between this line and the one it hangs from (empty: not
    recorded, or no edge: a tree's top line)."""
    edge: bool = True
    """Whether an edge joins it to the line it hangs from (False for a tree's top lines)."""
    repeated: bool = False
    """Shown in full elsewhere (or already on this path): its branch is not repeated."""
    children: tuple[Node, ...] = ()
    """The lines hanging from it."""


# -- the graph -----------------------------------------------------------------------------


def installs(package: Package, environment: Mapping[str, str], groups: Collection[str]) -> bool:
    """Whether the lock installs *package* on *environment* with *groups* (its marker)."""
    if package.marker is None:
        return True
    env = {**environment, "extras": frozenset(), "dependency_groups": frozenset(groups)}
    return package.marker.evaluate(env, context="lock_file")  # type: ignore[arg-type]


def build(
    lock: Pylock,
    table: LockInfo,
    *,
    environment: Mapping[str, str],
    groups: Sequence[str],
    main: bool = True,
) -> Graph:
    """The graph of what *lock* installs on *environment* with *groups* (and the main ones).

    With ``main=False`` (``--only-group``), only what the groups' own packages need, as
    ``lockselect.select`` chooses.
    """
    chosen: dict[str, Package] = {}
    for package in lock.packages:  # one entry per name fits an environment (lockcheck)
        if installs(package, environment, groups):
            chosen.setdefault(package.name, package)
    roots = [MAIN] * main + sorted(set(groups))
    wanted = {root: _root_names(table, root) for root in roots}
    if not main:
        kept = closure(_edges(chosen), [n for names in wanted.values() for n in names])
        chosen = {name: p for name, p in chosen.items() if name in kept}
    texts = {name: recorded_requires(p) for name, p in chosen.items()}
    extras = _extras(texts.values(), table.requirements.values())
    return Graph(
        versions={name: str(package_version(p) or "") for name, p in sorted(chosen.items())},
        roots={
            root: tuple(
                Edge(child=n, requirements=_lines(table.requirements.get(root, ()), n, environment))
                for n in names
                if n in chosen
            )
            for root, names in wanted.items()
        },
        children={
            name: tuple(
                Edge(
                    child=child,
                    requirements=_lines(texts[name], child, environment, extras.get(name, set())),
                )
                for child in _children(p, chosen)
            )
            for name, p in sorted(chosen.items())
        },
    )


def _root_names(table: LockInfo, root: str) -> list[str]:
    """A root's top-level packages: recorded, or else read from its requirements."""
    if root in table.roots:
        return sorted(set(table.roots[root]))
    return sorted({name for text in table.requirements.get(root, ()) if (name := _name(text))})


def _edges(chosen: Mapping[str, Package]) -> dict[str, list[str]]:
    return {name: _children(p, chosen) for name, p in chosen.items()}


def _children(package: Package, chosen: Mapping[str, Package]) -> list[str]:
    """The dependencies of *package* installed here (of the version named, if one is)."""
    found = set()
    for dependency in package.dependencies or ():
        name = str(dependency.get("name"))
        version = dependency.get("version")
        other = chosen.get(name)
        if other is not None and (version is None or str(other.version) == str(version)):
            found.add(name)
    return sorted(found)


def _name(text: str) -> str | None:
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:  # pragma: no cover - lockcheck refused the lock already
        return None


def _extras(*texts: Iterable[Iterable[str]]) -> dict[str, set[str]]:
    """The extras each package is asked for anywhere in the lock's recorded lines."""
    found: dict[str, set[str]] = {}
    for lines in (line for group in texts for line in group):
        for text in lines:
            try:
                requirement = Requirement(text)
            except InvalidRequirement:  # pragma: no cover - lockcheck refused the lock already
                continue
            found.setdefault(canonicalize_name(requirement.name), set()).update(requirement.extras)
    return found


def _lines(
    texts: Iterable[str],
    child: str,
    environment: Mapping[str, str],
    extras: Collection[str] = (),
) -> tuple[str, ...]:
    """The lines of *texts* naming *child* that hold here (with any of *extras* asked for).

    When none holds (an extra the lock cannot know was asked for), every line naming it:
    the edge is real (the lock records it), so its likeliest cause is shown.
    """
    naming = [t for t in texts if _name(t) == child]
    holding = [t for t in naming if _holds(t, environment, extras)]
    return tuple(holding or naming)


def _holds(text: str, environment: Mapping[str, str], extras: Collection[str]) -> bool:
    marker = Requirement(text).marker
    if marker is None:
        return True
    # The environment is a whole target's (targets.markers), so every name is defined.
    return any(marker.evaluate({**environment, "extra": e}) for e in ("", *sorted(extras)))


# -- walks ---------------------------------------------------------------------------------


def why(graph: Graph, name: str) -> Node:
    """*name* and, above it, every path up to a root.

    Each parent comes with the line that pulled the package below it in. A package already
    on the path (a cycle) is marked repeated, and the path ends there.
    """
    return Node(
        kind="package",
        name=name,
        version=graph.versions[name],
        edge=False,
        children=_up(graph, name, (name,)),
    )


def _up(graph: Graph, name: str, path: tuple[str, ...]) -> tuple[Node, ...]:
    found = []
    for kind, parent, edge in graph.parents(name):
        if kind == "group":
            found.append(Node(kind="group", name=parent, requirements=edge.requirements))
            continue
        repeated = parent in path
        found.append(
            Node(
                kind="package",
                name=parent,
                version=graph.versions[parent],
                requirements=edge.requirements,
                repeated=repeated,
                children=() if repeated else _up(graph, parent, (*path, parent)),
            )
        )
    return tuple(found)


def tree(
    graph: Graph, *, depth: int | None = None, invert: bool = False, package: str | None = None
) -> tuple[Node, ...]:
    """The forest: each root with its packages below; inverted, each leaf. Or *package* alone.

    Inverted, what pulls a package in hangs below it. Each package is expanded once, at its
    first place; later places mark it repeated. Packages no top reaches come last, as tops.
    Below *depth* levels nothing is shown (a package cut off there is not marked as seen).
    """
    walk = _Walk(graph, depth, invert=invert)
    if package is not None:
        return (walk.top(package),)
    if invert:
        found = [walk.top(n) for n, kids in graph.children.items() if not kids]
    else:
        found = [
            Node(kind="group", name=root, edge=False, children=walk.below(edges, 1))
            for root, edges in graph.roots.items()
        ]
    reached = _reached(graph, invert=invert)
    for name in graph.versions:
        if name not in reached and name not in walk.seen:  # seen: under an earlier one
            found.append(walk.top(name))
    return tuple(found)


def _reached(graph: Graph, *, invert: bool) -> set[str]:
    """The packages a tree's walk reaches from its tops: the roots, or (inverted) the leaves."""
    if not invert:
        down = {name: [e.child for e in edges] for name, edges in graph.children.items()}
        return closure(down, [e.child for edges in graph.roots.values() for e in edges])
    up: dict[str, list[str]] = {}
    for parent, edges in graph.children.items():
        for edge in edges:
            up.setdefault(edge.child, []).append(parent)
    return closure(up, [name for name, edges in graph.children.items() if not edges])


class _Walk:
    """One tree walk: which packages it has expanded so far."""

    def __init__(self, graph: Graph, depth: int | None, *, invert: bool) -> None:
        self.graph, self.depth, self.invert = graph, depth, invert
        self.seen: set[str] = set()

    def top(self, name: str) -> Node:
        self.seen.add(name)
        return Node(
            kind="package",
            name=name,
            version=self.graph.versions[name],
            edge=False,
            children=self._next(name, 1),
        )

    def below(self, edges: Iterable[Edge], level: int) -> tuple[Node, ...]:
        if self.depth is not None and level > self.depth:
            return ()
        return tuple(self._package(e.child, e.requirements, level) for e in edges)

    def _package(self, name: str, requirements: tuple[str, ...], level: int) -> Node:
        version = self.graph.versions[name]
        if name in self.seen:
            return Node(
                kind="package", name=name, version=version, requirements=requirements, repeated=True
            )
        expand = self.depth is None or level < self.depth
        if expand:  # a package cut off by --depth may still be expanded further up
            self.seen.add(name)
        children = self._next(name, level + 1) if expand else ()
        return Node(
            kind="package",
            name=name,
            version=version,
            requirements=requirements,
            children=children,
        )

    def _next(self, name: str, level: int) -> tuple[Node, ...]:
        if not self.invert:
            return self.below(self.graph.children[name], level)
        if self.depth is not None and level > self.depth:
            return ()
        return tuple(
            Node(kind="group", name=parent, requirements=edge.requirements)
            if kind == "group"
            else self._package(parent, edge.requirements, level)
            for kind, parent, edge in self.graph.parents(name)
        )
