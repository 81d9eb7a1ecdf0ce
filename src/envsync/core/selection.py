"""Which dependency groups to install: the user's choice, checked against the known groups. PURE."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from envsync.errors import EnvsyncError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Chosen", "GroupSelection", "UnknownGroupError", "choose"]


class UnknownGroupError(EnvsyncError):
    """A group named on the command line is not defined."""

    code = "group-unknown"


@dataclass(frozen=True, kw_only=True, slots=True)
class GroupSelection:
    """What the command line asked for."""

    groups: tuple[str, ...] = ()
    """``--group``: install these besides the main dependencies."""
    only: tuple[str, ...] = ()
    """``--only-group``: install only these, without the main dependencies."""
    all_groups: bool = False
    """``--all-groups``: every group."""
    no_default: bool = False
    """``--no-default-groups``: leave out the spec's default groups."""

    def is_empty(self) -> bool:
        """True when nothing was asked: an environment's own groups then apply."""
        return self == GroupSelection()


@dataclass(frozen=True, kw_only=True, slots=True)
class Chosen:
    """The groups to install, decided."""

    groups: tuple[str, ...]
    """Normalized group names, sorted."""
    main: bool = True
    """Whether the main dependencies are installed too."""


def choose(
    selection: GroupSelection, *, known: Sequence[str], default: Sequence[str] = ()
) -> Chosen:
    """Decide the groups; UnknownGroupError names any group that does not exist.

    ``--only-group`` wins over the defaults and drops the main dependencies; ``--group``
    adds to either; ``--all-groups`` takes every group.
    """
    known_names = tuple(_norm(k) for k in known)
    asked = [*selection.groups, *selection.only]
    _check(asked, known_names)
    if selection.all_groups:
        picked = set(known_names)
    elif selection.only:
        picked = set()
    else:
        picked = set() if selection.no_default else {_norm(d) for d in default}
    picked |= {_norm(g) for g in asked}
    return Chosen(groups=tuple(sorted(picked)), main=not selection.only)


def _check(asked: Sequence[str], known: Sequence[str]) -> None:
    for name in asked:
        if _norm(name) not in known:
            listing = ", ".join(known) or "none are defined"
            msg = f"there is no group named {name!r} (groups: {listing})"
            raise UnknownGroupError(msg, hint="add it under [groups] in env.toml, or fix the name")


def _norm(name: str) -> str:
    return str(canonicalize_name(name))
