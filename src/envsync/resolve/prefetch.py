"""Index pages read in the background while the resolver runs. NETWORK.

Once pip-compile (or uv) has chosen the versions, ``artifacts.with_files`` reads each pinned
project's page to list its files. A relock mostly keeps the pins it had, so most of those
pages are known before the resolver starts: reading them while it runs, into the run's
``FileListings``, takes that listing off the end of the lock, and against an index tens of
milliseconds away most of its waiting. The listing then finds each page read, or waits for
the read in flight. Nothing here decides anything: a page read for a project the resolver
did not pin is only unused, and one this could not read (after its retries) is kept as that
error, which the listing raises if it needs the page: a page that keeps failing is tried as
often as when the listing read it alone.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from envsync.resolve.artifacts import WORKERS, Sources

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from envsync.index.routes import Routes
    from envsync.resolve.protocol import ResolveRequest

__all__ = ["names_to_prefetch", "prefetching"]

_LOG = logging.getLogger("envsync.resolve.prefetch")


def names_to_prefetch(request: ResolveRequest) -> list[str]:
    """The projects whose pages the listing will most likely read, in that order.

    The pins kept from the lock, then the top-level requirements; not those that come from a
    folder, a URL or git.
    """
    local = {s.package for s in request.sources if s.path is not None}
    top = [*request.dependencies, *(r for g in request.groups for r in g.requirements)]
    wanted = [*request.preferred, *(canonicalize_name(r.name) for r in top if not r.url)]
    skipped = local | set(request.vcs)
    return list(dict.fromkeys(name for name in wanted if name not in skipped))


@contextlib.contextmanager
def prefetching(request: ResolveRequest, routes: Routes) -> Iterator[None]:
    """While the block runs, read the pages of ``names_to_prefetch`` into its listings.

    At the block's end no more reads start; those in flight finish on their own.
    """
    # A project pinned to a named index is read through the routing proxy while the
    # resolver runs, with the proxy's own tries: reading it here too would try it twice.
    names = [name for name in names_to_prefetch(request) if not routes.is_pinned(name)]
    if request.listings is None or not names:  # nothing shared with the listing: no use
        yield
        return
    find_links = request.index.resolved(request.root).find_links
    work = _Prefetch(Sources(routes, find_links, request.listings), names)
    try:
        yield
    finally:
        work.stop()


class _Prefetch:
    """A few daemon threads, each taking the next name and reading its first place's page.

    Daemon threads: a run that ends (an error, Ctrl-C) does not wait for a read in flight,
    which may be waiting on an index that does not answer.
    """

    def __init__(self, sources: Sources, names: Sequence[str]) -> None:
        self._sources = sources
        self._names: queue.SimpleQueue[str] = queue.SimpleQueue()
        for name in names:
            self._names.put(name)
        self._stopped = threading.Event()
        for _ in range(min(WORKERS, len(names))):
            threading.Thread(target=self._work, name="envsync-prefetch", daemon=True).start()

    def stop(self) -> None:
        """Start no more reads."""
        self._stopped.set()

    def _work(self) -> None:
        while not self._stopped.is_set():
            try:
                name = self._names.get_nowait()
            except queue.Empty:
                return
            try:
                # The first place: the one the listing reads first. A page that fails (after
                # its retries) fails the listing with the same error, not after more tries.
                next(iter(self._sources.files(name, keep_failure=True)), None)
            except Exception as exc:  # noqa: BLE001 - the listing raises it, if it needs the page
                _LOG.debug("prefetching %s: %s", name, exc)
