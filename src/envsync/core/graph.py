"""What a set of top-level packages reaches through the lock's dependency graph. PURE.

Only the standard library: the pure-removal fast path (``quickprune``) walks the same graph
before anything else of envsync is imported.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (5 ms): start-up path

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["closure"]


def closure(edges: Mapping[str, Iterable[str]], roots: Iterable[str]) -> set[str]:
    """The names *roots* reach through *edges* (each name's dependencies), roots included."""
    todo = list(roots)
    reached: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(edges.get(name, ()))
    return reached
