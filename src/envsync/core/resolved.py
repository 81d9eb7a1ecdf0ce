"""A resolved package and its files: what a resolver answers and a lock records. PURE."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from packaging.version import Version

    from envsync._types import NormalizedName

__all__ = ["LockedFile", "LockedVcs", "ResolvedPackage"]


@dataclass(frozen=True, kw_only=True, slots=True)
class LockedFile:
    """One distribution file of a pinned version, as an index lists it."""

    filename: str
    """The file's name (wheel or sdist)."""
    url: str | None = None
    """Absolute URL, credentials stripped; None when ``path`` is set."""
    path: str | None = None
    """Path relative to the project (POSIX separators), for local files."""
    sha256: str
    """Hex sha256 of the file."""
    size: int | None = None
    """Size in bytes, when the index says."""


@dataclass(frozen=True, kw_only=True, slots=True)
class LockedVcs:
    """A git checkout a package is built from (PEP 751 ``[packages.vcs]``)."""

    url: str
    """The repository URL (no ``git+`` prefix, no revision), credentials stripped."""
    commit_id: str
    """The full commit id the revision resolved to: what is installed."""
    requested_revision: str | None = None
    """The revision as env.toml wrote it (branch, tag or commit); None: the default branch."""
    subdirectory: str | None = None
    """The project's folder inside the repository, if not its root."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ResolvedPackage:
    """One package of a resolution, with everything the lock records about it."""

    name: NormalizedName
    """Normalized project name."""
    version: Version | None
    """Pinned version; None for a local directory."""
    groups: frozenset[str]
    """Groups that need it; empty when the main dependencies need it (always installed)."""
    dependencies: tuple[NormalizedName, ...] = ()
    """Names of the packages it requires in this resolution."""
    wheels: tuple[LockedFile, ...] = ()
    """Every wheel of the version, for every platform the index lists."""
    sdist: LockedFile | None = None
    """The source distribution, if any."""
    directory: str | None = None
    """A local project folder (relative to the project where possible)."""
    editable: bool = False
    """Install the directory in editable mode."""
    archive: LockedFile | None = None
    """A direct-URL or local archive."""
    vcs: LockedVcs | None = None
    """A git repository at one commit."""
    index: str | None = None
    """The simple-API URL the files came from."""
    requires_python: str | None = None
    """The version's Requires-Python, when known."""
    requires: tuple[str, ...] = ()
    """Its Requires-Dist lines that name one of ``dependencies`` (sorted): the requirement,
    with extras and marker, that pulled each in. Empty when the index offered no metadata."""
