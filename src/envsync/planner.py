"""make_plan(wanted, installed, policy) -> Plan. PURE: decides, never acts.

Selection from the lock (which needs the target's markers and tags) happens before, in
lockfile.select(); the planner compares that selection with what the venv holds.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from packaging.version import Version

    from envsync._types import NormalizedName
    from envsync.lockfile import Wanted

__all__ = ["Action", "Change", "DirectUrl", "InstalledDist", "Plan", "Policy", "make_plan"]


class Change(enum.Enum):
    """What happens to one package."""

    INSTALL = "install"
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    REINSTALL = "reinstall"
    REMOVE = "remove"
    KEEP = "keep"


@dataclass(frozen=True, kw_only=True, slots=True)
class DirectUrl:
    """What a dist-info's direct_url.json (PEP 610) says about where it came from."""

    url: str
    """The URL it was installed from (credentials already stripped)."""
    sha256: str | None = None
    """archive_info hash, when the source was an archive."""
    is_dir: bool = False
    """True for a local directory (dir_info)."""
    editable: bool = False
    """True for an editable install."""


@dataclass(frozen=True, kw_only=True, slots=True)
class InstalledDist:
    """One distribution found in the venv's site-packages."""

    name: NormalizedName
    """Normalized project name."""
    version: Version
    """Installed version."""
    installer: str | None = None
    """Content of the INSTALLER file (``pip``, ``uv``...), if any."""
    direct_url: DirectUrl | None = None
    """Parsed direct_url.json, if the dist has one."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Policy:
    """Rules that are the user's choice rather than facts about the venv."""

    keep: frozenset[NormalizedName] = frozenset()
    """Installed names never removed even when not locked (pip, envsync itself)."""
    strict_sources: bool = False
    """Reinstall same-version dists whose source or hash cannot be confirmed."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Action:
    """The decision for one package name."""

    name: NormalizedName
    """Normalized project name."""
    change: Change
    """What happens to it."""
    have: InstalledDist | None = None
    """What the venv holds now, if anything."""
    want: Wanted | None = None
    """What the lock selects, if anything."""
    reason: str | None = None
    """Why, for REINSTALL (``hash differs``, ``source differs``...)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Plan:
    """Every decision, sorted by name; KEEP actions are included for reporting."""

    actions: tuple[Action, ...]
    """One action per name, sorted."""

    def is_empty(self) -> bool:
        """True when applying would change nothing."""
        return all(a.change is Change.KEEP for a in self.actions)

    def changes(self) -> tuple[Action, ...]:
        """The actions that do something."""
        return tuple(a for a in self.actions if a.change is not Change.KEEP)

    def of(self, *changes: Change) -> tuple[Action, ...]:
        """The actions of the given kinds, in name order."""
        return tuple(a for a in self.actions if a.change in changes)


def make_plan(
    wanted: Iterable[Wanted],
    installed: Iterable[InstalledDist],
    policy: Policy,
) -> Plan:
    """Compare the lock's selection with the venv's dists."""
    raise NotImplementedError
