"""Each pinned version's files, with their hashes: what the lock records of a package. NETWORK.

pip-compile chooses the versions; this lists every file the index publishes for each chosen
version (not only this machine's wheels), so the lock covers every platform. A project pinned
to a named index is looked up there only; find-links pages and folders come after the
indexes. A direct URL or local archive is hashed; a local folder is recorded as a directory.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from packaging.version import Version

from envsync.core.lockfile import LockedFile, ResolvedPackage
from envsync.errors import ResolutionError
from envsync.index import credentials, simpleapi
from envsync.resolve import compile_output

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from envsync.index.routes import Routes
    from envsync.resolve.protocol import ResolveRequest

__all__ = ["WORKERS", "with_files"]

#: How many index pages and files are read at once.
WORKERS = 8


def with_files(
    pins: Sequence[compile_output.Pin],
    request: ResolveRequest,
    versions: dict[str, str],
    routes: Routes,
) -> tuple[ResolvedPackage, ...]:
    """Every pin as a locked package: its groups, dependencies and files, sorted by name.

    *versions* are the versions of local project folders, by URL (pip-compile prints none).
    """
    groups = compile_output.roots(pins)
    deps = compile_output.dependencies(pins)
    sources = _Sources(routes, request.index.resolved(request.root).find_links)

    def one(pin: compile_output.Pin) -> ResolvedPackage:
        base = ResolvedPackage(
            name=pin.name,
            version=None,
            groups=groups[pin.name],
            dependencies=deps[pin.name],
            editable=pin.editable,
        )
        url = pin.requirement.url
        if url:
            found = versions.get(url)
            return _direct(
                replace(base, version=Version(found) if found else None), url, request.root
            )
        return _from_sources(base, pin, sources, request.root)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return tuple(sorted(pool.map(one, pins), key=lambda p: p.name))


class _Sources:
    """The indexes and find-links locations, queried for one project at a time."""

    def __init__(self, routes: Routes, find_links: Sequence[str]) -> None:
        self.routes = routes
        self.find_links = find_links

    def files(self, name: str) -> Iterable[tuple[str, list[simpleapi.IndexFile]]]:
        """Each place that may serve *name*, with its files: a pinned name, its index only."""
        for where in self.routes.for_project(name):
            yield where.url, simpleapi.files_for(where, name)
        if self.routes.is_pinned(name):
            return
        for location in self.find_links:
            if "://" in location and not location.startswith("file:"):
                yield location, simpleapi.files_for_page(location)
            else:
                folder = simpleapi.local_path(location) if "://" in location else Path(location)
                yield location, simpleapi.files_in_folder(folder)


def _from_sources(
    base: ResolvedPackage, pin: compile_output.Pin, sources: _Sources, root: Path
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
    sources: _Sources,
    root: Path,
) -> ResolvedPackage:
    upstreams = sources.routes.upstreams()
    locked = [_locked(f, root, credentials.login_for(f.url, upstreams)) for f in files]
    sdists = [f for f in locked if not f.filename.endswith(".whl")]
    return replace(
        base,
        wheels=tuple(f for f in locked if f.filename.endswith(".whl")),
        sdist=sdists[0] if sdists else None,
        index=where if "://" in where and not where.startswith("file:") else None,
        requires_python=next((f.requires_python for f in files if f.requires_python), None),
    )


def _locked(f: simpleapi.IndexFile, root: Path, login: credentials.Login | None) -> LockedFile:
    sha256 = f.sha256 or simpleapi.hash_url(f.url, login)
    if f.url.startswith("file:"):
        # A local find-links file: recorded relative to the project, so the lock travels.
        path = _relative(simpleapi.local_path(f.url), root)
        return LockedFile(filename=f.filename, path=path, sha256=sha256, size=f.size)
    return LockedFile(filename=f.filename, url=f.url, sha256=sha256, size=f.size)


def _direct(base: ResolvedPackage, url: str, root: Path) -> ResolvedPackage:
    if not url.startswith("file:"):
        filename = urlsplit(url).path.rsplit("/", 1)[-1]
        archive = LockedFile(filename=filename, url=url, sha256=simpleapi.hash_url(url))
        return replace(base, archive=archive)
    path = simpleapi.local_path(url)
    shown = _relative(path, root)
    if path.is_dir():
        return replace(base, directory=shown)
    archive = LockedFile(filename=path.name, path=shown, sha256=simpleapi.hash_file(path))
    return replace(base, archive=archive)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()
