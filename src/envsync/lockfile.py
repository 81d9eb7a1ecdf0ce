"""Lock <-> pylock.toml (PEP 751) via packaging.pylock; spec fingerprint; selection. PURE."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from packaging.version import Version

    from envsync._types import ArtifactKind, NormalizedName

__all__ = ["Artifact", "Wanted"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Artifact:
    """The one file or folder the lock selects for a package on the target."""

    kind: ArtifactKind
    """wheel, sdist, directory or archive."""
    url: str
    """Where to get it: an index URL, or a file:// URL made absolute against the project."""
    sha256: str | None = None
    """Expected sha256 of the file; None for directories."""
    filename: str | None = None
    """The file name, for wheels, sdists and archives."""


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
