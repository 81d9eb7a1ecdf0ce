"""``envsync why`` and ``envsync tree`` as text and as JSON data. PURE.

A tree's line says what it is and, in brackets, the requirement lines of the edge to the
line it hangs from: below a root or a package, the requirement that pulled the package in;
inverted (``<-``), the requirement of the package above that pulled in the one below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from envsync.core.lockgraph import MAIN
from envsync.errors import printable

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from envsync.core.lockgraph import Node

__all__ = ["NOT_RECORDED", "label", "node_data", "paths", "render_tree", "render_why"]

#: What an edge whose requirement line the lock does not hold says instead.
NOT_RECORDED = "requirement not recorded"
_INDENT = "  "
_ARROW = "<- "
_REPEATED = " (*)"


def label(node: Node) -> str:
    """``requests 2.32.3``, ``main dependencies`` or ``group dev``."""
    if node.kind == "group":
        return "main dependencies" if node.name == MAIN else f"group {node.name}"
    return f"{node.name} {node.version}".rstrip()


def render_why(node: Node) -> str:
    """*node* (``lockgraph.why``) and its paths to the roots, one parent per line."""
    lines = list(_lines(node, 0, inverted=True))
    if _any_repeated(node):
        lines.append("(*) already on this path: a dependency cycle")
    return "\n".join(lines)


def render_tree(nodes: Iterable[Node], *, inverted: bool = False) -> str:
    """The forest ``lockgraph.tree`` made, one package per line."""
    nodes = tuple(nodes)
    lines = [line for node in nodes for line in _lines(node, 0, inverted=inverted)]
    if any(_any_repeated(node) for node in nodes):
        lines.append("(*) shown in full above")
    return "\n".join(lines)


def _lines(node: Node, level: int, *, inverted: bool) -> Iterator[str]:
    text = label(node) + (_REPEATED if node.repeated else "")
    if node.edge:
        text += f"  ({_edge(node, inverted=inverted)})"
    # A lock is a file anyone may hand us: what it quotes cannot break or recolour a line.
    yield _INDENT * level + (_ARROW if inverted and level else "") + printable(text, one_line=True)
    for child in node.children:
        yield from _lines(child, level + 1, inverted=inverted)


def _edge(node: Node, *, inverted: bool) -> str:
    if not node.requirements:
        return NOT_RECORDED
    lines = " | ".join(node.requirements)
    return f"requires {lines}" if inverted and node.kind == "package" else lines


def _any_repeated(node: Node) -> bool:
    return node.repeated or any(_any_repeated(child) for child in node.children)


# -- JSON ----------------------------------------------------------------------------------


def node_data(node: Node) -> dict[str, Any]:
    """*node* and everything below it as plain data for the JSON report.

    ``requirements`` is the edge's lines (null: not recorded); a tree's top lines have none.
    """
    data: dict[str, Any] = _step(node)
    if node.edge:
        data["requirements"] = list(node.requirements) or None
    data["repeated"] = node.repeated
    data["children"] = [node_data(child) for child in node.children]
    return data


def _step(node: Node) -> dict[str, Any]:
    if node.kind == "group":
        return {"kind": "main"} if node.name == MAIN else {"kind": "group", "name": node.name}
    return {"kind": "package", "name": node.name, "version": node.version or None}


def paths(node: Node) -> list[list[dict[str, Any]]]:
    """Each path of a ``why`` answer from a root down to the package, as plain data.

    Each step after the root carries the lines that pulled it in (null: not recorded). A
    branch that ends in a cycle, or at a package nothing pulls in, leads to no root: it is
    in the tree, not here.
    """
    found: list[list[dict[str, Any]]] = []

    def climb(at: Node, below: list[dict[str, Any]]) -> None:
        if at.kind == "group":
            found.append([_step(at), *below])
            return
        for parent in at.children:
            step = {**_step(at), "requirements": list(parent.requirements) or None}
            climb(parent, [step, *below])

    climb(node, [])
    return found
