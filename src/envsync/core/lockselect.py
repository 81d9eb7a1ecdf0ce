"""What a lock installs into one environment: its markers, wheel tags and groups. PURE.

``select`` delegates to packaging's ``Pylock.select`` and turns each chosen file into an
``Artifact`` envsync can fetch; ``dependency_closure`` follows the graph the lock records.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from packaging.pylock import (
    PackageArchive,
    PackageDirectory,
    PackageSdist,
    PackageVcs,
    PackageWheel,
    PylockSelectError,
)
from packaging.tags import Tag
from packaging.version import InvalidVersion, Version

from envsync.core.graph import closure
from envsync.core.lockcheck import RELOCK
from envsync.core.locktable import LockInfo, info
from envsync.core.resolved import LockedVcs
from envsync.core.vcsurl import pinned_url
from envsync.errors import LockError

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence

    from packaging.pylock import Package, Pylock

    from envsync._types import ArtifactKind, NormalizedName

__all__ = ["Artifact", "Wanted", "dependency_closure", "package_version", "select"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Artifact:
    """The one file or folder the lock selects for a package on the target."""

    kind: ArtifactKind
    """wheel, sdist, directory, archive or vcs."""
    url: str
    """Where to get it: an index URL, or a file:// URL made absolute against the project;
    for vcs, ``git+URL@commit`` (and its ``#subdirectory=``)."""
    sha256: str | None = None
    """Expected sha256 of the file; None for directories."""
    filename: str | None = None
    """The file name, for wheels, sdists and archives."""
    vcs: LockedVcs | None = None
    """For vcs: the repository and the commit to check out."""

    def file_name(self) -> str:
        """The file name the lock gives it, else the last part of its URL."""
        return self.filename or PurePosixPath(urlsplit(self.url).path).name

    def is_wheel(self) -> bool:
        """Whether this is a wheel file (from an index, find-links or a direct URL).

        Installing a wheel runs no build code, unlike an sdist or a folder.
        """
        return self.kind in {"wheel", "archive"} and self.file_name().endswith(".whl")


@dataclass(frozen=True, kw_only=True, slots=True)
class Wanted:
    """A package the lock selects for the target environment."""

    name: NormalizedName
    """Normalized project name."""
    version: Version | None
    """Locked version (None only for a local directory whose version is not recorded)."""
    artifact: Artifact
    """What to install."""
    editable: bool = False
    """Install in editable mode (local directories only)."""


def select(
    lock: Pylock,
    *,
    environment: Mapping[str, str],
    tags: Sequence[str],
    groups: Collection[str],
    root: Path,
    main: bool = True,
    table: LockInfo | None = None,
) -> tuple[Wanted, ...]:
    """What *lock* installs into an environment with these markers, tags and groups.

    With ``main=False`` (``--only-group``) only what the groups themselves need is kept,
    following each package's ``dependencies`` from the groups' own top-level packages
    (recorded in *table*, the lock's ``[tool.envsync]``: read from *lock* when not given).
    Paths in the lock are made absolute against *root*, the project folder.
    LockError when the lock does not fit the environment (another Python, no wheel).
    """
    parsed_tags = [Tag(*t.split("-", 2)) for t in tags]
    # Group names are checked against the spec before this; a group the lock does not declare
    # selects nothing (packaging >= 26.4 would raise instead of ignoring it).
    declared = frozenset(groups) & frozenset(lock.dependency_groups or ())
    try:
        chosen = list(
            lock.select(
                environment=dict(environment),  # type: ignore[arg-type] # a plain marker dict
                tags=parsed_tags,
                dependency_groups=declared,
            )
        )
    except PylockSelectError as exc:
        msg = f"the lock does not fit this environment: {exc}"
        raise LockError(msg, hint=RELOCK) from exc
    if not main:
        roots = (table or info(lock)).roots
        needed = dependency_closure(lock, [name for g in groups for name in roots.get(g, ())])
        chosen = [(p, source) for p, source in chosen if p.name in needed]
    return tuple(sorted((_wanted(p, source, root) for p, source in chosen), key=_by_name))


def dependency_closure(lock: Pylock, roots: Iterable[str]) -> set[str]:
    """The names *roots* reach through the ``dependencies`` the lock records, roots included."""
    edges: dict[str, list[str]] = {}
    for p in lock.packages:  # a lock for several targets may hold a name more than once
        edges.setdefault(p.name, []).extend(str(d.get("name")) for d in p.dependencies or [])
    return closure(edges, roots)


def _by_name(w: Wanted) -> str:
    return w.name


def _wanted(
    package: Package,
    source: object,
    root: Path,
) -> Wanted:
    if isinstance(source, PackageDirectory):
        artifact = Artifact(kind="directory", url=_location(None, source.path, root))
        return Wanted(
            name=package.name,
            version=_tree_version(package),
            artifact=artifact,
            editable=bool(source.editable),
        )
    if isinstance(source, (PackageWheel, PackageSdist, PackageArchive)):
        kind: ArtifactKind = (
            "wheel"
            if isinstance(source, PackageWheel)
            else "sdist"
            if isinstance(source, PackageSdist)
            else "archive"
        )
        artifact = Artifact(
            kind=kind,
            url=_location(source.url, source.path, root),
            sha256=source.hashes.get("sha256"),
            filename=None if isinstance(source, PackageArchive) else source.filename,
        )
        return Wanted(name=package.name, version=package.version, artifact=artifact)
    if isinstance(source, PackageVcs) and source.type == "git" and source.url:
        vcs = LockedVcs(
            url=source.url,
            commit_id=source.commit_id,
            requested_revision=source.requested_revision,
            subdirectory=source.subdirectory,
        )
        url = pinned_url(vcs.url, vcs.commit_id, vcs.subdirectory)
        artifact = Artifact(kind="vcs", url=url, vcs=vcs)
        return Wanted(name=package.name, version=package.version, artifact=artifact)
    msg = f"{package.name}: envsync installs git repositories only, from a url"
    raise LockError(msg, hint=RELOCK)


def package_version(package: Package) -> Version | None:
    """The package's version: ``version``, or for a source tree the one envsync saw."""
    return package.version if package.version is not None else _tree_version(package)


def _tree_version(package: Package) -> Version | None:
    """The version envsync saw for a source tree (under the package's [tool.envsync])."""
    table = (package.tool or {}).get("envsync")
    seen = table.get("version") if isinstance(table, dict) else None
    try:
        return Version(seen) if isinstance(seen, str) else None
    except InvalidVersion:
        return None


def _location(url: str | None, path: str | None, root: Path) -> str:
    if url:
        return url
    if path is None:  # pragma: no cover - Pylock validation requires url or path
        msg = "a lock entry has neither url nor path"
        raise LockError(msg, hint=RELOCK)
    pure = PurePosixPath(path)
    target = Path(pure) if pure.is_absolute() else root / Path(*pure.parts)
    # pip records normpath(abspath(...)) in direct_url.json; spell it the same way.
    return Path(os.path.normpath(target)).as_uri()
