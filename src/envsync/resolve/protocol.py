"""The Resolver protocol: a request for pinned packages, and the resolution that answers it.

Use cases are written against ``Resolver`` only; ``piptools.PipToolsResolver`` and
``uv.UvResolver`` are the two backends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from packaging.requirements import Requirement
    from packaging.version import Version

    from envsync._types import NormalizedName
    from envsync.core.lockfile import ResolvedPackage
    from envsync.core.resolved import LockedVcs
    from envsync.core.spec import Group, IndexConfig, NamedIndex, Source
    from envsync.core.targets import LockTarget
    from envsync.index.routes import Routes
    from envsync.resolve.artifacts import FileListings

__all__ = ["Released", "Resolution", "ResolveRequest", "Resolver"]


@dataclass(frozen=True, kw_only=True, slots=True)
class ResolveRequest:
    """Everything a resolution depends on."""

    dependencies: tuple[Requirement, ...]
    """Top-level requirements."""
    groups: tuple[Group, ...]
    """Groups, resolved together with the dependencies so versions agree."""
    python: Path
    """The interpreter to resolve for."""
    python_version: str
    """Its full version, recorded in the lock."""
    index: IndexConfig
    """Where packages come from."""
    root: Path
    """Project folder: relative paths in requirements and find-links are relative to it."""
    preferred: Mapping[NormalizedName, Version] = field(default_factory=dict)
    """Existing pins to keep when they still fit."""
    upgrade: bool = False
    """Ignore every existing pin."""
    upgrade_packages: frozenset[NormalizedName] = frozenset()
    """Ignore the pins of just these."""
    sources: tuple[Source, ...] = ()
    """Per-package sources from env.toml: local folders (editable or not), pinned indexes."""
    indexes: tuple[NamedIndex, ...] = ()
    """The named indexes of env.toml, which serve only the packages pinned to them."""
    build: bool = True
    """False: wheels only, so resolving never runs a package's build code (``[env] build``)."""
    routes: Routes | None = None
    """The indexes' routes with their logins, when the caller looked them up for the run."""
    listings: FileListings | None = None
    """What the run's targets share of the indexes' listings (each page read once per run);
    None: the resolution reads its own."""
    target: LockTarget | None = None
    """The lock target resolved for; None: the environment of ``python`` itself."""
    vcs: Mapping[NormalizedName, LockedVcs] = field(default_factory=dict)
    """Each git requirement's commit (``resolve.vcs``): the resolver is given the requirement
    pinned to it, and the lock records it."""
    foreign: bool = False
    """True when ``python`` is not the target's interpreter: resolve for the target's markers
    and wheel tags instead of the interpreter's own (pip's resolver with the target's marker
    environment, or uv with ``--python-platform``)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Released:
    """A kept pin that a resolution let go of, because it no longer fit."""

    name: NormalizedName
    """The package."""
    version: Version
    """The version the lock pinned."""
    now: Version
    """The version the resolution chose instead."""
    because: str
    """Why, in a user's words: the resolver's who-requires-what, or what the pin clashed with."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Resolution:
    """A resolver's answer."""

    python: str
    """Full version of the interpreter resolved for."""
    packages: tuple[ResolvedPackage, ...]
    """Every package, sorted by name."""
    roots: dict[str, tuple[NormalizedName, ...]] = field(default_factory=dict)
    """Each group's own top-level packages."""
    released: tuple[Released, ...] = ()
    """The kept pins it let go of (``resolve.keeppins``), by name."""


class Resolver(Protocol):
    """Turns a request into pinned packages with their artifacts."""

    def resolve(self, request: ResolveRequest) -> Resolution:
        """Resolve *request*; raise ResolutionError, IndexUnreachableError or BuildError."""
        ...


@runtime_checkable
class ForeignBatchResolver(Protocol):
    """A resolver that can resolve several foreign targets of one run in one process."""

    BATCHES_FOREIGN: ClassVar[bool]
    """Whether it does (a subclass may resolve foreign targets another way)."""

    def resolve_foreign_batch(self, requests: Sequence[ResolveRequest]) -> list[Resolution | None]:
        """Each request's resolution, or None where its run failed (to resolve it alone)."""
        ...
