"""``parallel``: one function over many items on a few threads, the results in order.

Threads suit waiting (downloads) and work that releases the GIL (hashing, inflating,
compiling in helper processes); CPU-bound Python gains nothing from them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = ["WORKERS", "parallel"]

_T = TypeVar("_T")
_R = TypeVar("_R")

#: Threads at most, by default: enough to hide a network's latency, few enough to be polite
#: to an index that serves the downloads.
WORKERS = 8


def parallel(
    function: Callable[[_T], _R], items: Iterable[_T], *, workers: int = WORKERS
) -> list[_R]:
    """``[function(item) ...]`` on up to *workers* threads; the first error is raised after all end.

    One item (or one worker) runs in this thread: no pool is started for it.
    """
    todo = list(items)
    if len(todo) <= 1 or workers <= 1:
        return [function(item) for item in todo]
    with ThreadPoolExecutor(max_workers=min(workers, len(todo))) as pool:
        return list(pool.map(function, todo))
