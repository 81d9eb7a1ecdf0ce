"""env.toml text -> Spec: validated, frozen, normalized. PURE: no I/O beyond the text given."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

    from envsync._types import NormalizedName

__all__ = ["DEFAULT_KEEP", "DEFAULT_VENV", "Group", "IndexConfig", "Spec", "parse_spec"]

DEFAULT_VENV = ".venv"
#: Installed packages that apply never removes unless the spec says otherwise.
DEFAULT_KEEP: tuple[str, ...] = ("pip",)


@dataclass(frozen=True, kw_only=True, slots=True)
class IndexConfig:
    """Where packages come from. pip's own configuration is never mixed in."""

    url: str | None = None
    """The default index (PEP 503 simple API); None means pip's built-in default."""
    extra_urls: tuple[str, ...] = ()
    """Further indexes searched as well."""
    find_links: tuple[str, ...] = ()
    """Folders or pages of links to search for archives."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Group:
    """A named dependency group (PEP 735 style)."""

    name: str
    """Group name as written (normalized for comparison)."""
    requirements: tuple[Requirement, ...]
    """The group's requirements."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Spec:
    """A parsed env.toml."""

    path: Path
    """The env.toml file; relative paths in it are relative to its folder."""
    python: SpecifierSet
    """Interpreter versions accepted; ``"3.12"`` becomes ``==3.12.*``; empty accepts any."""
    venv: Path
    """Absolute path of the virtual environment."""
    dependencies: tuple[Requirement, ...]
    """Top-level requirements, always installed."""
    groups: tuple[Group, ...] = ()
    """Optional groups, installed on request; sorted by name."""
    index: IndexConfig = field(default_factory=IndexConfig)
    """Package sources."""
    keep: tuple[NormalizedName, ...] = ()
    """Packages apply never removes (normalized); defaults to DEFAULT_KEEP."""

    @property
    def root(self) -> Path:
        """The folder holding env.toml: the project root."""
        return self.path.parent

    def group(self, name: str) -> Group | None:
        """The group called *name* (normalized match), if any."""
        wanted = _normalize_group(name)
        return next((g for g in self.groups if _normalize_group(g.name) == wanted), None)


def _normalize_group(name: str) -> str:
    # PEP 735: group names compare like package names.
    from packaging.utils import canonicalize_name  # noqa: PLC0415 - keeps import time low

    return str(canonicalize_name(name))


def parse_spec(text: str, *, path: Path) -> Spec:
    """Parse env.toml *text* read from *path*; raise SpecError listing every problem."""
    raise NotImplementedError
