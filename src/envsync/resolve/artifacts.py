"""Each pinned version's files, with their hashes: what the lock records of a package. NETWORK.

pip-compile chooses the versions; this lists every file the index publishes for each chosen
version (not only this machine's wheels), so the lock covers every platform. A project pinned
to a named index is looked up there only; find-links pages and folders come after the
indexes. A direct URL or local archive is hashed; a local folder is recorded as a directory.

A lock for several targets lists the files once per target, from the same indexes, in
parallel: ``FileListings`` keeps what one lock run read (each place's files for a project,
each hash computed) so that every page is read, and every file hashed, once per run.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar
from urllib.parse import urlsplit

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from envsync.core.lockfile import LockedFile, ResolvedPackage
from envsync.errors import ResolutionError
from envsync.index import coremetadata, credentials, simpleapi
from envsync.resolve import compile_output

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from packaging.utils import NormalizedName

    from envsync.index.connections import Connections
    from envsync.index.routes import Routes
    from envsync.resolve.protocol import ResolveRequest

__all__ = ["WORKERS", "FileListings", "Sources", "with_files"]

#: How many index pages and files are read at once.
WORKERS = 8

_K = TypeVar("_K", bound=Hashable)
_T = TypeVar("_T")
Listing = tuple[simpleapi.IndexFile, ...]
Requires = tuple[Requirement, ...] | None


class FileListings:
    """What one lock run read: each place's files for a project, each file's sha256.

    One instance serves every target of a run (``ResolveRequest.listings``), from several
    threads: the first to ask for a key reads it while later askers wait for that answer, so
    a page is read once however many targets list it at the same moment. A failure reaches
    every thread waiting for it; it is not kept (the next to ask reads again) unless the
    reader asks for that (``keep_failure``). Keys are URLs (and paths), never logins: one
    run has one login per index.
    """

    def __init__(self, recorded: Mapping[str, tuple[str, ...]] | None = None) -> None:
        self._recorded = dict(recorded or {})
        """The Requires-Dist lines a previous lock recorded, by the sha256 of a wheel of
        their version: the lock is the cache of what its wheels' metadata said."""
        self._lock = threading.Lock()
        self._listings: dict[Hashable, _Pending[Listing]] = {}
        self._hashes: dict[str, _Pending[str]] = {}
        self._requires: dict[str, _Pending[Requires]] = {}

    def files(
        self,
        key: Hashable,
        read: Callable[[], Iterable[simpleapi.IndexFile]],
        *,
        keep_failure: bool = False,
    ) -> Listing:
        """The files *read* lists for *key*: read now, or as read earlier in this run.

        With *keep_failure*, a read that fails (after its retries) answers every later ask
        with its error, rather than letting the next reader try again: a page read ahead
        of the listing (``prefetch``) is then still tried only as often as one read.
        """
        return _once(self._lock, self._listings, key, lambda: tuple(read()), keep=keep_failure)

    def sha256(self, url: str, compute: Callable[[], str]) -> str:
        """The sha256 of the file at *url*: computed now, or as computed earlier in this run."""
        return _once(self._lock, self._hashes, url, compute)

    def recorded(self, sha256: str | None) -> tuple[str, ...] | None:
        """The lines a previous lock recorded for the version of the wheel *sha256*, if any."""
        return None if sha256 is None else self._recorded.get(sha256)

    def requires(self, url: str, read: Callable[[], Requires]) -> Requires:
        """The Requires-Dist of the wheel at *url*: read now, or as read earlier in this run."""
        return _once(self._lock, self._requires, url, read)


class _Pending(Generic[_T]):
    """One key's answer: made by the thread that asked first, awaited by the others."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._answer: tuple[_T] | None = None
        self._error: BaseException | None = None

    def set(self, answer: tuple[_T] | None, error: BaseException | None = None) -> None:
        """Give the answer (a 1-tuple), or the error that stopped it being made."""
        self._answer, self._error = answer, error
        self._done.set()

    def wait(self) -> _T:
        """The answer, once made; the error that stopped it, raised again."""
        self._done.wait()
        if self._answer is None:
            raise self._error or RuntimeError("no answer")
        return self._answer[0]


def _once(
    lock: threading.Lock,
    done: dict[_K, _Pending[_T]],
    key: _K,
    make: Callable[[], _T],
    *,
    keep: bool = False,
) -> _T:
    """*make*'s answer for *key*, made by the first thread to ask; the others wait for it.

    A failure reaches those waiting; it is kept for later askers only with *keep*.
    """
    with lock:
        pending = done.get(key)
        mine = pending is None
        if pending is None:
            pending = done[key] = _Pending()
    if not mine:
        return pending.wait()
    try:
        answer = make()
    except BaseException as exc:
        if not keep:
            with lock:
                del done[key]  # not kept: the next to ask tries again
        pending.set(None, exc)
        raise
    pending.set((answer,))
    return answer


def with_files(
    pins: Sequence[compile_output.Pin],
    request: ResolveRequest,
    versions: dict[str, str],
    routes: Routes,
) -> tuple[ResolvedPackage, ...]:
    """Every pin as a locked package: its groups, dependencies and files, sorted by name.

    *versions* are the versions of local project folders, by URL, and of git checkouts, by
    commit id (pip-compile prints neither).
    """
    groups = compile_output.roots(pins)
    deps = compile_output.dependencies(pins)
    listings = request.listings or FileListings()  # a caller without a run: this call's own
    sources = Sources(routes, request.index.resolved(request.root).find_links, listings)

    def one(pin: compile_output.Pin) -> ResolvedPackage:
        base = ResolvedPackage(
            name=pin.name,
            version=None,
            groups=groups[pin.name],
            dependencies=deps[pin.name],
            editable=pin.editable,
        )
        vcs = request.vcs.get(pin.name)
        if vcs is not None:  # versions of git checkouts are known by their commit
            found = versions.get(vcs.commit_id)
            return replace(base, vcs=vcs, version=Version(found) if found else None)
        url = pin.requirement.url
        if url:
            found = versions.get(url)
            return _direct(
                replace(base, version=Version(found) if found else None),
                url,
                request.root,
                listings,
            )
        return _from_sources(base, pin, sources, request.root)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return tuple(sorted(pool.map(one, pins), key=lambda p: p.name))


class Sources:
    """The indexes and find-links locations, queried for one project at a time."""

    def __init__(self, routes: Routes, find_links: Sequence[str], listings: FileListings) -> None:
        self.routes = routes
        self.find_links = find_links
        self.listings = listings

    def files(self, name: str, *, keep_failure: bool = False) -> Iterable[tuple[str, Listing]]:
        """Each place that may serve *name*, with its files: a pinned name, its index only.

        A find-links page or folder lists every project at once: it is read (a folder's
        files hashed) once per run, not once per project. *keep_failure*: see
        ``FileListings.files``.
        """
        read = partial(self.listings.files, keep_failure=keep_failure)
        for where in self.routes.for_project(name):
            files = partial(simpleapi.files_for, where, name, self.routes.connections)
            yield where.url, read((where.url, name), files)
        if self.routes.is_pinned(name):
            return
        for location in self.find_links:
            if "://" in location and not location.startswith("file:"):
                page = partial(simpleapi.files_for_page, location, self.routes.connections)
                yield location, read(location, page)
            else:
                folder = simpleapi.local_path(location) if "://" in location else Path(location)
                yield location, read(folder, partial(simpleapi.files_in_folder, folder))


def _from_sources(
    base: ResolvedPackage, pin: compile_output.Pin, sources: Sources, root: Path
) -> ResolvedPackage:
    version = _pinned_version(pin)
    for where, files in sources.files(pin.name):
        matching = [f for f in files if f.project() == pin.name and f.version() == version]
        if matching:
            return _from_index(replace(base, version=version), where, matching, sources, root)
    msg = f"pip-compile chose {pin.name}=={version}, but no index lists its files"
    raise ResolutionError(msg, hint="check that every index in env.toml serves that project")


def _pinned_version(pin: compile_output.Pin) -> Version:
    specs = list(pin.requirement.specifier)
    if len(specs) != 1 or specs[0].operator != "==":
        msg = f"pip-compile returned an unpinned requirement: {pin.requirement}"
        raise ResolutionError(msg)
    return Version(specs[0].version)


def _from_index(
    base: ResolvedPackage,
    where: str,
    files: list[simpleapi.IndexFile],
    sources: Sources,
    root: Path,
) -> ResolvedPackage:
    upstreams = sources.routes.upstreams()
    hashes = sources.listings
    locked = [_locked(f, root, credentials.login_for(f.url, upstreams), hashes) for f in files]
    sdists = [f for f in locked if not f.filename.endswith(".whl")]
    return replace(
        base,
        requires=_requires(base, files, upstreams, sources.routes.connections, hashes),
        wheels=tuple(f for f in locked if f.filename.endswith(".whl")),
        sdist=sdists[0] if sdists else None,
        index=where if "://" in where and not where.startswith("file:") else None,
        requires_python=next((f.requires_python for f in files if f.requires_python), None),
    )


def _requires(
    base: ResolvedPackage,
    files: list[simpleapi.IndexFile],
    upstreams: Sequence[credentials.Upstream],
    connections: Connections | None,
    listings: FileListings,
) -> tuple[str, ...]:
    """The Requires-Dist lines of the version that name one of its dependencies, sorted.

    Read from the metadata file of one wheel (the first by name that the page offers one
    for, else the first by name: every wheel of a version declares the same requirements),
    so the same version records the same lines whichever target or resolver locked it.
    Nothing for a version without wheels.
    """
    wheels = sorted(
        (f for f in files if f.filename.endswith(".whl")),
        key=lambda f: (f.core_metadata is None, f.filename),
    )
    if not wheels or not base.dependencies:
        return ()
    wheel = wheels[0]
    wanted = set(base.dependencies)
    # A previous lock's lines, read from this same wheel, say it all when they name every
    # dependency: no request. A dependency new to this version's lines needs the file.
    known = next((k for f in wheels if (k := listings.recorded(f.sha256)) is not None), None)
    named = {line: _named(line) for line in known or ()}  # each line read once
    if known is not None and wanted <= set(named.values()):
        return tuple(sorted(line for line, name in named.items() if name in wanted))
    login = credentials.login_for(wheel.url, upstreams)
    found = listings.requires(
        wheel.url, lambda: coremetadata.requires_dist(wheel, login, connections)
    )
    return tuple(sorted({str(r) for r in found or () if canonicalize_name(r.name) in wanted}))


def _named(line: str) -> NormalizedName:
    """The project a recorded Requires-Dist line names (the lock check has read them all)."""
    return canonicalize_name(Requirement(line).name)


def _locked(
    f: simpleapi.IndexFile, root: Path, login: credentials.Login | None, hashes: FileListings
) -> LockedFile:
    sha256 = f.sha256 or hashes.sha256(f.url, lambda: simpleapi.hash_url(f.url, login))
    if f.url.startswith("file:"):
        # A local find-links file: recorded relative to the project, so the lock travels.
        path = _relative(simpleapi.local_path(f.url), root)
        return LockedFile(filename=f.filename, path=path, sha256=sha256, size=f.size)
    return LockedFile(filename=f.filename, url=f.url, sha256=sha256, size=f.size)


def _direct(base: ResolvedPackage, url: str, root: Path, hashes: FileListings) -> ResolvedPackage:
    if not url.startswith("file:"):
        filename = urlsplit(url).path.rsplit("/", 1)[-1]
        sha256 = hashes.sha256(url, lambda: simpleapi.hash_url(url))
        return replace(base, archive=LockedFile(filename=filename, url=url, sha256=sha256))
    path = simpleapi.local_path(url)
    shown = _relative(path, root)
    if path.is_dir():
        return replace(base, directory=shown)
    sha256 = hashes.sha256(url, lambda: simpleapi.hash_file(path))
    return replace(base, archive=LockedFile(filename=path.name, path=shown, sha256=sha256))


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()
