"""Helper processes that unpack a batch of wheels into the cache as their downloads land. PROCESSES.

Inflating thousands of files is CPU work that threads do not speed up (the GIL), so a batch
of wheels is unpacked by one helper process per CPU, started at once: forked from this one
where that is safe (``system.forked``), else started anew. Each wheel whose
download is checked goes to the first helper that is idle, the largest waiting first:
downloading and unpacking overlap, and no helper sits idle while another has a queue. A
wheel a helper did not unpack (it failed, it died, or no helper could start) is unpacked in
this process, which reports any error itself; the cache's entries appear by one rename, so
the two never clash.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from envsync.install.download import identity
from envsync.system import faults, forked
from envsync.system.parallel import parallel
from envsync.system.process import Worker, clean_env

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from envsync.core.lockfile import Artifact
    from envsync.index.connections import Connections
    from envsync.install.cache import Cache
    from envsync.install.download import UpstreamLookup
    from envsync.install.unpack import Tree

__all__ = ["fetch_and_unpack"]

_LOG = logging.getLogger("envsync.install.unpackworkers")

#: Wheels from which unpacking in helper processes pays for starting them (~40 ms each,
#: hidden behind the downloads).
_HELPED_BATCH = 4
#: How often (seconds) the wait for an idle helper looks whether any is still alive.
_POLL = 0.1
# Runs in a helper process: argv[1] is envsync's sys.path, [2] the cache; each stdin line is
# "WHEEL<tab>SHA256". Prints each hash once that wheel is unpacked (or failed: the caller
# unpacks it again, and reports the error).
_UNPACK = """\
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
from pathlib import Path
from envsync.install.cache import Cache
cache = Cache(Path(sys.argv[2]))
for line in sys.stdin:
    wheel, sha256 = line.rstrip("\\n").split("\\t")
    cache.unpack_quietly(Path(wheel), sha256)
    print(sha256, flush=True)
"""


def fetch_and_unpack(
    cache: Cache,
    artifacts: Sequence[Artifact],
    lookup: UpstreamLookup,
    done: Callable[[], None] = lambda: None,
    connections: Connections | None = None,
) -> list[Tree]:
    """Each artifact downloaded into *cache*, checked and unpacked; *done* called as each is.

    Helpers start only for a batch big enough to pay for them, on two CPUs or more.
    """
    count = min(os.cpu_count() or 1, len(artifacts))
    dispatch = _Dispatch(done)
    if len(artifacts) >= _HELPED_BATCH:
        dispatch.start(_helpers(cache, count, dispatch.finished))

    def fetch(artifact: Artifact) -> Path:
        path = cache.fetch(artifact, lookup, connections)
        dispatch.add(_size(path), f"{path}\t{identity(artifact)[0]}")
        faults.reached("unpacking")  # a wheel handed over: the helpers are at work
        return path

    try:
        files = parallel(fetch, artifacts)
    except BaseException:
        # The batch fails (a download, or Ctrl-C): no helper starts on another wheel, and
        # the ones still waiting stay in the cache, downloaded, for the next run to unpack.
        dispatch.finish(hand_over=False)
        raise
    dispatch.finish()
    trees = []
    for path, artifact in zip(files, artifacts, strict=True):
        sha256 = identity(artifact)[0]
        trees.append(cache.unpacked(path, sha256))  # a wheel no helper unpacked: here
        if sha256 not in dispatch.reported:
            done()
    return trees


class Helper(Protocol):
    """A helper process fed one line at a time: a ``Worker`` or a ``forked.Forked``."""

    @property
    def running(self) -> bool:
        """Whether it may still take work."""
        ...

    def send(self, line: str) -> bool:
        """Give it *line*; False if it is gone."""
        ...

    def finish(self) -> str | None:
        """Tell it there is no more work and wait for it; why it failed, or None."""
        ...


class _Dispatch:
    """Hands each downloaded wheel to an idle helper, the largest waiting first.

    A helper holds one wheel at a time. The others wait here rather than in a helper's
    queue, so the last large wheels go to whichever helper frees up first, not to one still
    busy with a queue of its own while the other has nothing left.
    """

    def __init__(self, done: Callable[[], None]) -> None:
        self._done = done
        self._helpers: list[Helper] = []
        self._busy: list[bool] = []
        self._waiting: list[tuple[int, str]] = []
        self._changed = threading.Condition()
        self.reported: set[str] = set()
        """The sha256 of each wheel a helper said it is done with (unpacked, or failed)."""

    def start(self, helpers: list[Helper]) -> None:
        """Hand work to *helpers* (none: the caller unpacks everything)."""
        self._helpers = helpers
        self._busy = [False] * len(helpers)

    def add(self, size: int, line: str) -> None:
        """A downloaded wheel (*size* bytes), as the helpers' input line, for the next idle one."""
        with self._changed:
            self._waiting.append((size, line))
            self._feed()

    def finished(self, index: int, sha256: str) -> None:
        """Helper *index* is done with the wheel *sha256*: it may take the next one."""
        self._done()
        with self._changed:
            self.reported.add(sha256)
            self._busy[index] = False
            self._feed()
            self._changed.notify_all()

    def finish(self, *, hand_over: bool = True) -> None:
        """Wait until every waiting wheel was handed over, then for the helpers to end.

        A helper that dies holding a wheel says nothing: that wheel is the caller's to unpack,
        as is every wheel left waiting once no helper is alive. Without *hand_over*, the
        wheels still waiting are dropped: the helpers end with the one each holds.
        """
        with self._changed:
            if not hand_over:
                self._waiting.clear()
            while self._waiting and any(helper.running for helper in self._helpers):
                self._changed.wait(_POLL)
        for helper in self._helpers:
            if failure := helper.finish():
                _LOG.debug("a helper could not unpack: %s", failure)

    def _feed(self) -> None:
        """Hand the largest waiting wheels to idle helpers (the condition's lock is held)."""
        self._waiting.sort()
        for i, helper in enumerate(self._helpers):
            if self._waiting and not self._busy[i] and helper.running:
                # A helper that is gone is not sent it again: the caller unpacks the wheel.
                self._busy[i] = helper.send(self._waiting.pop()[1])


def _helpers(cache: Cache, count: int, finished: Callable[[int, str], None]) -> list[Helper]:
    """*count* helper processes unpacking into *cache* (none where they cannot start).

    Forked where that is safe (``system.forked``): they then start with envsync loaded,
    not 40-50 ms of CPU each later. *finished* is told which helper (its index) is done
    with which wheel (its sha256).
    """
    if count < 2:  # noqa: PLR2004 - one CPU: this process does it all, without the start-up
        return []

    def reporter(index: int) -> Callable[[str], None]:
        return lambda sha256: finished(index, sha256)

    if forked.may_fork():
        try:
            helpers = forked.start(count, lambda line: _unpack_line(cache, line), reporter)
        except OSError as exc:  # started anew instead, below
            _LOG.debug("could not fork helpers: %s", exc)
        else:
            _LOG.debug("unpacking in %d forked helper processes", count)
            return list(helpers)
    argv = [sys.executable, "-I", "-c", _UNPACK, json.dumps(sys.path), os.fspath(cache.root)]
    try:
        workers = [Worker(argv, on_line=reporter(i), env=clean_env()) for i in range(count)]
    except OSError as exc:  # cannot start processes here: this one does the work
        _LOG.debug("unpacking in this process: %s", exc)
        return []
    _LOG.debug("unpacking in %d helper processes started anew", count)
    return list(workers)


def _unpack_line(cache: Cache, line: str) -> str:
    """What a forked helper does with one line: as ``_UNPACK`` does in a helper started anew."""
    wheel, sha256 = line.split("\t")
    cache.unpack_quietly(Path(wheel), sha256)
    return sha256


def _size(path: Path) -> int:
    """The size of the file at *path* in bytes (0 if it cannot be read)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0
