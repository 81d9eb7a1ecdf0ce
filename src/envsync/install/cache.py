"""A content-addressed cache of wheels, shared by every project of the user. FILES + NETWORK.

Layout under ``cache_dir()``::

    wheels/<sha256[:2]>/<sha256>/<filename>   a downloaded file, named by the lock's hash
    unpacked/<sha256>/files/...               the same wheel unpacked, for hard-linking
    unpacked/<sha256>/manifest.json           each unpacked file's hash, size, mode and mtime
    tmp/                                      downloads in progress (same filesystem: atomic)
    pages/, probes/, lock-state/              index pages, interpreter answers, lock states

A file is trusted only while it still hashes to its name: a cached wheel is re-hashed on every
use, and a corrupted one is discarded and downloaded again. Unpacked files are hard-linked into
venvs, so an edit in a venv edits the cache too: a file whose size, mode or mtime no longer
matches the manifest makes the whole tree be unpacked again (``apply --verify`` re-hashes
every byte too). Every entry appears by one rename,
so a crash or a second envsync running at the same time never leaves a half-written entry.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import logging
import os
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, TypeAlias, TypeVar
from urllib.parse import urlsplit

from envsync.errors import (
    EnvsyncError,
    HashMismatchError,
    IndexAuthError,
    IndexUnreachableError,
    InstallError,
    printable,
)
from envsync.index import credentials, retry
from envsync.index.simpleapi import build_request, hash_file, local_path
from envsync.install import unpack
from envsync.install.unpack import Member, Tree
from envsync.system import removal
from envsync.system.cachedir import cache_root
from envsync.system.process import Worker, clean_env, redact

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from envsync.core.lockfile import Artifact
    from envsync.index.credentials import Upstream

__all__ = [
    "SUBFOLDERS",
    "WORKERS",
    "Cache",
    "Member",
    "Tree",
    "UpstreamLookup",
    "cache_dir",
    "parallel",
]

_LOG = logging.getLogger("envsync.install.cache")
_T = TypeVar("_T")
_R = TypeVar("_R")

#: Finds the index a URL belongs to (for its credentials and for messages), or None.
UpstreamLookup: TypeAlias = "Callable[[str], Upstream | None]"

_CHUNK = 1 << 16
#: Every folder envsync keeps in its cache (``envsync cache clean`` removes only these).
SUBFOLDERS = frozenset({"wheels", "unpacked", "tmp", "pages", "probes", "lock-state"})
_REFUSED = frozenset({401, 403})
#: Parallel downloads: enough to hide latency, few enough to be polite to an index.
WORKERS = 8
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


def parallel(
    function: Callable[[_T], _R], items: Iterable[_T], *, workers: int = WORKERS
) -> list[_R]:
    """``[function(item) ...]`` on up to *workers* threads; the first error is raised after all end.

    Threads suit waiting (downloads) and work that releases the GIL (hashing, inflating).
    """
    todo = list(items)
    if len(todo) <= 1 or workers <= 1:
        return [function(item) for item in todo]
    with ThreadPoolExecutor(max_workers=min(workers, len(todo))) as pool:
        return list(pool.map(function, todo))


def cache_dir() -> Path:
    """``$ENVSYNC_CACHE_DIR``, else ``$XDG_CACHE_HOME/envsync``, else ``~/.cache/envsync``."""
    return Path(cache_root())


@dataclass(frozen=True, slots=True)
class Cache:
    """The cache at *root* (``cache_dir()`` by default)."""

    root: Path
    """The cache folder."""

    @classmethod
    def default(cls) -> Cache:
        """The user's cache."""
        return cls(cache_dir())

    def wheel_path(self, sha256: str, filename: str) -> Path:
        """Where the file with this hash and name is kept."""
        return self.root / "wheels" / sha256[:2] / sha256 / filename

    # -- downloads --------------------------------------------------------------------------

    def fetch(self, artifact: Artifact, lookup: UpstreamLookup) -> Path:
        """The cached file of *artifact*, downloaded and checked against its sha256 if need be.

        A cached file that no longer has its hash is discarded and fetched again. A download
        cut short is tried again (see ``retry``); one that arrived whole but whose hash differs
        from the lock's raises HashMismatchError. Neither leaves anything behind.
        """
        sha256, filename = _identity(artifact)
        path = self.wheel_path(sha256, filename)
        if path.is_file():
            if hash_file(path) == sha256:
                return path
            _LOG.warning("discarding %s from the cache: its content changed", path)
            removal.delete(path, within=self._owned())
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=self.root / "tmp", prefix=f"{filename}.")
        try:
            with os.fdopen(handle, "wb") as out:
                found = _download(artifact.url, out, lookup)
            if found != sha256:
                raise _mismatch(artifact, filename, sha256, found)
            path.parent.mkdir(parents=True, exist_ok=True)
            removal.move(partial, path, within=self._owned())
        finally:
            removal.delete(partial, within=self._owned())
        return path

    # -- unpacked wheels --------------------------------------------------------------------

    def tree(self, sha256: str, *, rehash: bool = False) -> Tree | None:
        """The wheel with this hash as unpacked earlier, if every file is as it was unpacked.

        Usually a file's size, mode and mtime vouch for it. With *rehash* (``--verify``)
        every byte is hashed too, and an entry with a file changed in place (bit rot, an
        edit that kept the mtime) is discarded, so that it is unpacked again from the wheel.
        """
        folder = self.root / "unpacked" / sha256
        tree = unpack.load(folder)
        if tree is not None and rehash and (changed := unpack.changed_files(tree)):
            _LOG.warning(
                "unpacking %s again: %s changed in the cache",
                tree.wheel,
                printable(changed[0], one_line=True),
            )
            self._discard(folder)
            return None
        return tree

    def unpacked(self, wheel: Path, sha256: str) -> Tree:
        """*wheel* (whose hash is *sha256*) unpacked once in the cache, checked on every use."""
        target = self.root / "unpacked" / sha256
        target.parent.mkdir(parents=True, exist_ok=True)
        tree = unpack.load(target)
        if tree is not None:
            return tree
        if target.exists():
            _LOG.warning("unpacking %s again: a file of its cached copy changed", wheel.name)
            self._discard(target)
        building = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
        try:
            unpack.extract(wheel, building, unpack.Limits.from_environment())
            removal.move(building, target, within=self._owned())
        except OSError:
            if unpack.load(target) is None:  # not a lost race with another envsync: a real failure
                raise
        finally:
            with contextlib.suppress(OSError):
                removal.delete(building, within=self._owned())
        tree = unpack.load(target)
        if tree is None:
            raise InstallError(f"could not unpack {wheel.name} into the cache at {target}")
        return tree

    def fetch_and_unpack(
        self,
        artifacts: Sequence[Artifact],
        lookup: UpstreamLookup,
        done: Callable[[], None] = lambda: None,
    ) -> list[Tree]:
        """Each artifact downloaded, checked and unpacked; *done* is called as each is ready.

        Inflating thousands of files is CPU work that threads do not speed up (the GIL), so a
        batch of wheels is unpacked by one helper process per CPU, started at once and handed
        each wheel as soon as its download is checked: downloading and unpacking overlap. A
        wheel a helper did not unpack is unpacked here, which reports any error itself.
        """
        count = min(os.cpu_count() or 1, len(artifacts))
        helpers = self._helpers(count, done) if len(artifacts) >= _HELPED_BATCH else []
        handed: set[str] = set()
        lock = threading.Lock()
        loads = [0] * len(helpers)

        def fetch(artifact: Artifact) -> Path:
            path = self.fetch(artifact, lookup)
            if helpers:
                with lock:  # to the helper with the fewest bytes so far
                    i = loads.index(min(loads))
                    loads[i] += _size(path)
                sha256 = _identity(artifact)[0]
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
            sha256 = _identity(artifact)[0]
            trees.append(self.unpacked(path, sha256))
            if sha256 not in handed:
                done()
        return trees

    def _helpers(self, count: int, done: Callable[[], None]) -> list[Worker]:
        """*count* helper processes unpacking into this cache (none where they cannot start)."""
        if count < 2:  # noqa: PLR2004 - one CPU: this process does it all, without the start-up
            return []
        argv = [sys.executable, "-I", "-c", _UNPACK, json.dumps(sys.path), os.fspath(self.root)]
        try:
            return [Worker(argv, on_line=lambda _: done(), env=clean_env()) for _ in range(count)]
        except OSError as exc:  # cannot start processes here: this one does the work
            _LOG.debug("unpacking in this process: %s", exc)
            return []

    def remove(self, path: Path) -> None:
        """Delete *path*, a file or folder inside this cache; symlinks are removed, not followed.

        The one way ``envsync cache`` deletes, through the guarded deleter: a path outside the
        cache, or reached through a symlinked folder (which could lead out of it), is refused.
        """
        owned = self._owned()
        if not owned.contains(path):
            raise EnvsyncError(f"envsync does not delete {path}: it is not inside {self.root}")
        if path.is_symlink() or not path.is_dir():
            removal.delete(path, within=owned)
        else:
            self._discard(path)

    def remove_root(self) -> None:
        """Delete the cache folder itself, once ``remove`` has emptied it."""
        if not removal.delete_empty_root(self._owned()):
            raise EnvsyncError(f"envsync did not delete {self.root}: it is not empty")

    def _discard(self, folder: Path) -> None:
        """Move *folder* out of the way (one rename), then delete it."""
        trash = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".trash-"))
        owned = self._owned()
        removal.move(folder, trash / "old", within=owned)  # missing: another envsync did it
        with contextlib.suppress(OSError):
            removal.delete(trash, within=owned)

    def _owned(self) -> removal.Owned:
        """The cache folder, as the folder whose contents envsync may delete."""
        return removal.Owned.cache(self.root)


def _identity(artifact: Artifact) -> tuple[str, str]:
    """The hash and file name the cache keys *artifact* by."""
    if not artifact.sha256:
        raise InstallError(f"{artifact.url} has no sha256 in the lock: it cannot be cached")
    filename = artifact.filename or PurePosixPath(urlsplit(artifact.url).path).name
    return artifact.sha256.lower(), filename


def _mismatch(artifact: Artifact, filename: str, wanted: str, found: str) -> HashMismatchError:
    return HashMismatchError(
        f"{filename} does not match the hash in pylock.toml: expected sha256 {wanted}, "
        f"downloaded {found} (from {redact(artifact.url)})",
        hint="the index served different bytes than were locked; if that is expected, "
        "run `envsync lock --upgrade-package NAME`",
    )


def _download(url: str, out: IO[bytes], lookup: UpstreamLookup) -> str:
    """Copy *url* into *out*; return the hex sha256 of what was copied."""
    if urlsplit(url).scheme == "file":
        digest = hashlib.sha256()
        try:
            with local_path(url).open("rb") as source:
                _copy(source, out, digest)
        except OSError as exc:
            raise _unreachable(url, exc) from exc
        return digest.hexdigest()
    where = lookup(url)
    request = build_request(url, login=where.login if where else None)
    try:
        return retry.call(
            lambda timeout: _download_once(request, out, timeout), url=url, doing="cannot download"
        )
    except urllib.error.HTTPError as exc:
        if exc.code in _REFUSED:
            raise _refused(url, where, exc.code) from None
        raise _unreachable(url, exc) from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise _unreachable(url, exc) from exc


def _download_once(request: urllib.request.Request, out: IO[bytes], timeout: float) -> str:
    """One try at copying the answer to *request* into *out* (emptied first); its sha256."""
    out.seek(0)
    out.truncate()
    digest = hashlib.sha256()
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) from the lock
        received = _copy(response, out, digest)
        # Counted, not trusted to read(): a wheel cut short must be fetched again, not
        # reported as a hash mismatch.
        retry.check_complete(response.headers.get("Content-Length"), received)
    return digest.hexdigest()


def _copy(source: IO[bytes], out: IO[bytes], digest: hashlib._Hash) -> int:
    """Copy *source* into *out*, hashing it; the number of bytes copied."""
    copied = 0
    while chunk := source.read(_CHUNK):
        digest.update(chunk)
        out.write(chunk)
        copied += len(chunk)
    return copied


def _refused(url: str, where: Upstream | None, status: int) -> IndexAuthError:
    if where is not None:
        return credentials.refused(where, status)
    return IndexAuthError(
        f"{redact(url)} refused the download (HTTP {status})",
        hint="give envsync the index's credentials: ~/.netrc or the ENVSYNC_INDEX_* variables",
    )


def _unreachable(url: str, exc: BaseException) -> IndexUnreachableError:
    return IndexUnreachableError(
        redact(f"cannot download {url}: {exc}"),
        hint="check [index] url in env.toml and your network",
    )


# -- unpacking ------------------------------------------------------------------------------


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
