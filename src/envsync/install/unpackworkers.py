"""Helper processes that unpack a batch of wheels into the cache as their downloads land. PROCESSES.

Inflating thousands of files is CPU work that threads do not speed up (the GIL), so a batch
of wheels is unpacked by one helper process per CPU, started at once and handed each wheel
as soon as its download is checked: downloading and unpacking overlap. A wheel a helper did
not unpack (it failed, or no helper could start) is unpacked in this process, which reports
any error itself; the cache's entries appear by one rename, so the two never clash.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from typing import TYPE_CHECKING

from envsync.install.download import identity
from envsync.system.parallel import parallel
from envsync.system.process import Worker, clean_env

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

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
    try:
        cache.unpacked(Path(wheel), sha256)
    except Exception:
        pass
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
    helpers = _helpers(cache, count, done) if len(artifacts) >= _HELPED_BATCH else []
    handed: set[str] = set()
    lock = threading.Lock()
    loads = [0] * len(helpers)

    def fetch(artifact: Artifact) -> Path:
        path = cache.fetch(artifact, lookup, connections)
        if helpers:
            with lock:  # to the helper with the fewest bytes so far
                i = loads.index(min(loads))
                loads[i] += _size(path)
            sha256 = identity(artifact)[0]
            if helpers[i].send(f"{path}\t{sha256}"):
                handed.add(sha256)
        return path

    try:
        files = parallel(fetch, artifacts)
    finally:
        for helper in helpers:
            if failure := helper.finish():
                _LOG.debug("a helper could not unpack: %s", failure)
    trees = []
    for path, artifact in zip(files, artifacts, strict=True):
        sha256 = identity(artifact)[0]
        trees.append(cache.unpacked(path, sha256))
        if sha256 not in handed:
            done()
    return trees


def _helpers(cache: Cache, count: int, done: Callable[[], None]) -> list[Worker]:
    """*count* helper processes unpacking into *cache* (none where they cannot start)."""
    if count < 2:  # noqa: PLR2004 - one CPU: this process does it all, without the start-up
        return []
    argv = [sys.executable, "-I", "-c", _UNPACK, json.dumps(sys.path), os.fspath(cache.root)]
    try:
        return [Worker(argv, on_line=lambda _: done(), env=clean_env()) for _ in range(count)]
    except OSError as exc:  # cannot start processes here: this one does the work
        _LOG.debug("unpacking in this process: %s", exc)
        return []


def _size(path: Path) -> int:
    """The size of the file at *path* in bytes (0 if it cannot be read)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0
