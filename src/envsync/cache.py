"""A content-addressed cache of wheels, shared by every project of the user. FILES + NETWORK.

Layout under ``cache_dir()``::

    wheels/<sha256[:2]>/<sha256>/<filename>   a downloaded file, named by the lock's hash
    unpacked/<sha256>/files/...               the same wheel unpacked, for hard-linking
    unpacked/<sha256>/manifest.json           each unpacked file's hash, size, mode and mtime
    tmp/                                      downloads in progress (same filesystem: atomic)

A file is trusted only while it still hashes to its name: a cached wheel is re-hashed on every
use, and a corrupted one is discarded and downloaded again. Unpacked files are hard-linked into
venvs, so an edit in a venv edits the cache too: a file whose size, mode or mtime no longer
matches the manifest makes the whole tree be unpacked again. Every entry appears by one rename,
so a crash or a second envsync running at the same time never leaves a half-written entry.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import http.client
import json
import logging
import os
import stat
import sys
import tempfile
import threading
import urllib.error
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, TypeAlias, TypeVar
from urllib.parse import urlsplit

from envsync import credentials, removal, retry
from envsync._cachedir import cache_root
from envsync._subprocess import Worker, clean_env, redact
from envsync.errors import (
    HashMismatchError,
    IndexAuthError,
    IndexUnreachableError,
    InstallError,
)
from envsync.simpleapi import build_request, hash_file, local_path

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from envsync.credentials import Upstream
    from envsync.lockfile import Artifact

__all__ = ["WORKERS", "Cache", "Member", "Tree", "UpstreamLookup", "cache_dir", "parallel"]

_LOG = logging.getLogger("envsync.cache")
_T = TypeVar("_T")
_R = TypeVar("_R")

#: Finds the index a URL belongs to (for its credentials and for messages), or None.
UpstreamLookup: TypeAlias = "Callable[[str], Upstream | None]"

_CHUNK = 1 << 16
_REFUSED = frozenset({401, 403})
_MANIFEST_FORMAT = 1
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
from envsync.cache import Cache
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


@dataclass(frozen=True, kw_only=True, slots=True)
class Member:
    """One file of an unpacked wheel."""

    path: str
    """Its path inside the wheel (POSIX separators)."""
    hash: str
    """sha256 of its bytes, urlsafe base64 without padding (as RECORD writes it)."""
    size: int
    """Its size in bytes."""
    executable: bool
    """Whether the wheel marks it executable."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Tree:
    """A wheel unpacked in the cache, ready to be linked from."""

    wheel: str
    """The wheel's file name."""
    root: Path
    """The folder holding the wheel's files."""
    dist_info: str
    """Name of the wheel's ``.dist-info`` folder."""
    members: tuple[Member, ...]
    """Every file, in the wheel's order."""


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

    def fetch_all(self, artifacts: Iterable[Artifact], lookup: UpstreamLookup) -> list[Path]:
        """``fetch`` each artifact, in parallel; the first failure is raised after all end."""
        return parallel(lambda artifact: self.fetch(artifact, lookup), artifacts)

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

    def tree(self, sha256: str) -> Tree | None:
        """The wheel with this hash as unpacked earlier, if every file is as it was unpacked."""
        return _load(self.root / "unpacked" / sha256)

    def unpacked(self, wheel: Path, sha256: str) -> Tree:
        """*wheel* (whose hash is *sha256*) unpacked once in the cache, checked on every use."""
        target = self.root / "unpacked" / sha256
        target.parent.mkdir(parents=True, exist_ok=True)
        tree = _load(target)
        if tree is not None:
            return tree
        if target.exists():
            _LOG.warning("unpacking %s again: a file of its cached copy changed", wheel.name)
            self._discard(target)
        building = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
        try:
            _extract(wheel, building)
            removal.move(building, target, within=self._owned())
        except OSError:
            if _load(target) is None:  # not a lost race with another envsync: a real failure
                raise
        finally:
            with contextlib.suppress(OSError):
                removal.delete(building, within=self._owned())
        tree = _load(target)
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


def _extract(wheel: Path, folder: Path) -> None:
    """Unpack *wheel* into ``folder/files`` and write the manifest that vouches for it."""
    from installer.sources import WheelFile  # noqa: PLC0415 - only when something is unpacked

    files = folder / "files"
    with zipfile.ZipFile(wheel) as archive:
        dist_info = WheelFile(archive).dist_info_dir  # checks there is exactly one, named right
        _check_record(archive, f"{dist_info}/RECORD", wheel)
        entries = [
            _extract_member(archive, info, files)
            for info in archive.infolist()
            if not info.is_dir() and _wanted(info.filename, wheel)
        ]
    manifest = {"format": _MANIFEST_FORMAT, "wheel": wheel.name, "dist_info": dist_info}
    manifest["files"] = entries
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")


def _wanted(name: str, wheel: Path) -> bool:
    """False for bytecode caches (installers skip them); an unsafe path is an error."""
    if _unsafe(name):
        raise InstallError(f"{wheel.name} holds a file outside its own folder: {name}")
    return "__pycache__" not in PurePosixPath(name).parts[:-1]


def _unsafe(name: str) -> bool:
    """An absolute path, a drive, a backslash or a ``..`` part: it could leave the venv."""
    parts = PurePosixPath(name).parts
    return not parts or name.startswith("/") or ".." in parts or "\\" in name or ":" in parts[0]


def _check_record(archive: zipfile.ZipFile, record: str, wheel: Path) -> None:
    """Refuse a wheel whose RECORD names a path outside it: no installer should trust one."""
    try:
        text = archive.read(record).decode("utf-8")
    except (KeyError, UnicodeDecodeError) as exc:
        raise InstallError(f"{wheel.name} has no readable {record}: {exc}") from exc
    for row in csv.reader(text.splitlines()):
        if row and row[0] and _unsafe(row[0]):
            msg = f"{wheel.name}'s RECORD names a file outside the wheel: {row[0]}"
            raise InstallError(msg, hint="do not install this wheel; report it to its authors")


def _extract_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, files: Path) -> list[object]:
    """Write one member, hashing it; its manifest row ``[path, hash, size, exec, mode, mtime]``."""
    mode = info.external_attr >> 16
    executable = bool(mode and stat.S_ISREG(mode) and mode & 0o111)
    target = files / info.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    handle = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o777 if executable else 0o666)
    with os.fdopen(handle, "wb") as out, archive.open(info) as source:
        _copy(source, out, digest)
    found = target.stat()
    encoded = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode("ascii")
    return [info.filename, encoded, found.st_size, executable, found.st_mode, found.st_mtime_ns]


def _load(folder: Path) -> Tree | None:
    """The tree in *folder* if its manifest is readable and every file is as it recorded."""
    try:
        data = json.loads((folder / "manifest.json").read_text("utf-8"))
        if data["format"] != _MANIFEST_FORMAT:
            return None
        root = folder / "files"
        rows = [tuple(row) for row in data["files"]]
        if not _all_unchanged(os.fspath(root), rows):
            return None
        members = tuple(
            Member(path=path, hash=digest, size=size, executable=executable)
            for path, digest, size, executable, *_ in rows
        )
        return Tree(wheel=data["wheel"], root=root, dist_info=data["dist_info"], members=members)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _all_unchanged(root: str, rows: Iterable[tuple[object, ...]]) -> bool:
    """Whether every file still has the size, mode and mtime its manifest row recorded.

    The cached files are hard-linked into venvs, so an edit made in a venv lands here too:
    such a tree must not be linked again. One lstat per file, on strings (this runs for
    every file of every wheel installed).
    """
    for row in rows:
        try:
            found = os.lstat(os.path.join(root, str(row[0])))  # noqa: PTH118
        except OSError:
            return False
        if (found.st_size, found.st_mode, found.st_mtime_ns) != (row[2], row[4], row[5]):
            return False
    return True
