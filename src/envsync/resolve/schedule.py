"""The targets of one lock run, resolved in parallel, foreign ones sharing pip processes.

Each target is one request; they run on as many threads as the machine has CPUs, since each
resolver run is a process that keeps a CPU busy. Where the resolver can (pip's route for
foreign targets, ``foreignbatch``), the foreign targets are dealt into as many batches as
there are threads, each batch one pip process that imports pip once: on two CPUs, six
targets take four processes instead of six. Every request keeps its pins as preferences
(``keeppins``), and a target that fails in a batch is resolved again on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from envsync.resolve import keeppins
from envsync.resolve.protocol import ForeignBatchResolver
from envsync.system.parallel import parallel

if TYPE_CHECKING:
    from collections.abc import Sequence

    from envsync.resolve.protocol import Resolution, Resolver, ResolveRequest

__all__ = ["resolve_all"]


def resolve_all(
    resolver: Resolver, requests: Sequence[ResolveRequest], *, workers: int
) -> list[Resolution]:
    """Each request's resolution, in the order of *requests*."""
    items = _items(resolver, requests, workers)
    found: dict[int, Resolution] = {}

    def run(item: list[int]) -> list[tuple[int, Resolution]]:
        if len(item) == 1:
            return [(item[0], keeppins.resolve(resolver, requests[item[0]]))]
        assert isinstance(resolver, ForeignBatchResolver)  # noqa: S101 - _items checked it
        answers = resolver.resolve_foreign_batch([requests[k] for k in item])
        return [
            (
                k,
                keeppins.settled(requests[k], answer)
                if answer
                else keeppins.resolve(resolver, requests[k]),
            )
            for k, answer in zip(item, answers, strict=True)
        ]

    for pairs in parallel(run, items, workers=workers):
        found.update(pairs)
    return [found[k] for k in range(len(requests))]


def _items(resolver: Resolver, requests: Sequence[ResolveRequest], workers: int) -> list[list[int]]:
    """The units of work: batches of foreign requests (longest first), then single ones."""
    foreign = [k for k, r in enumerate(requests) if r.foreign]
    batches: list[list[int]] = []
    if isinstance(resolver, ForeignBatchResolver) and resolver.BATCHES_FOREIGN:
        count = min(workers, len(foreign)) or 1
        batches = [b for b in (foreign[k::count] for k in range(count)) if len(b) > 1]
    batched = {k for batch in batches for k in batch}
    return [*batches, *([k] for k in range(len(requests)) if k not in batched)]
