"""Type aliases shared across modules. No logic lives here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypeAlias

from packaging.utils import NormalizedName

if TYPE_CHECKING:
    import os

__all__ = ["ArtifactKind", "NormalizedName", "StrPath"]

StrPath: TypeAlias = "str | os.PathLike[str]"

#: What a locked artifact is, following the PEP 751 package source keys.
ArtifactKind = Literal["wheel", "sdist", "directory", "archive", "vcs"]
