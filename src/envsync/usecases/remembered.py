"""The groups a venv was last applied with: what a command without group options means.

After ``apply --group dev``, a plain ``apply``, ``run``, ``plan`` or ``check`` keeps ``dev``:
the venv's state file (``nochange``) remembers the group options of its last apply. Group
options given on the command line replace them, and become the remembered ones once an
apply or run succeeds with them. A remembered group that env.toml no longer defines is
dropped, with a notice.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from envsync.core.selection import GroupSelection
from envsync.report import Notice
from envsync.usecases import nochange

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from envsync.report import Reporter

__all__ = [
    "as_options",
    "from_options",
    "keep",
    "recall",
    "stored",
    "with_group",
    "without_unknown",
]


def recall(
    asked: GroupSelection | None, venv: Path, *, known: Sequence[str], reporter: Reporter
) -> GroupSelection:
    """*asked* when it asks for anything; else what *venv* remembers, less unknown groups.

    *known* are the groups that exist now (env.toml's, or a frozen lock's).
    """
    if asked is not None and asked != GroupSelection():
        return asked
    stored = nochange.remembered(venv)
    if not stored:
        return GroupSelection()
    selection, dropped = without_unknown(from_options(stored), known)
    for name in dropped:
        reporter.emit(
            Notice(
                what=f"group {name!r}, which {venv.name} was last applied with, is no longer "
                "defined in env.toml: left out"
            )
        )
    return selection


def stored(venv: Path) -> GroupSelection:
    """The group options *venv* remembers, as they were stored (nothing: the defaults)."""
    return from_options(nochange.remembered(venv) or {})


def with_group(selection: GroupSelection, group: str) -> GroupSelection:
    """*selection* that also installs *group* (as ``add --group`` needs it). PURE."""
    if selection.all_groups:
        return selection
    if selection.only:
        return replace(selection, only=tuple(dict.fromkeys((*selection.only, group))))
    return replace(selection, groups=tuple(dict.fromkeys((*selection.groups, group))))


def keep(venv: Path, selection: GroupSelection) -> None:
    """Make *selection* the venv's remembered groups, when it is not already."""
    wanted = as_options(selection)
    if nochange.remembered(venv) != wanted:
        nochange.remember(venv, wanted)


def without_unknown(
    selection: GroupSelection, known: Sequence[str]
) -> tuple[GroupSelection, tuple[str, ...]]:
    """*selection* without the groups not in *known*, and those groups. PURE."""
    names = {str(canonicalize_name(k)) for k in known}
    dropped = tuple(
        g for g in (*selection.groups, *selection.only) if str(canonicalize_name(g)) not in names
    )
    kept = replace(
        selection,
        groups=tuple(g for g in selection.groups if g not in dropped),
        only=tuple(g for g in selection.only if g not in dropped),
    )
    return kept, tuple(dict.fromkeys(dropped))


def as_options(selection: GroupSelection) -> dict[str, list[str]]:
    """*selection* as the no-change path reads a command line (flags hold ``[""]``)."""
    options: dict[str, list[str]] = {}
    if selection.groups:
        options["--group"] = list(selection.groups)
    if selection.only:
        options["--only-group"] = list(selection.only)
    if selection.all_groups:
        options["--all-groups"] = [""]
    if selection.no_default:
        options["--no-default-groups"] = [""]
    return options


def from_options(options: Mapping[str, Sequence[str]]) -> GroupSelection:
    """The GroupSelection of group *options* as ``as_options`` writes them."""
    return GroupSelection(
        groups=tuple(options.get("--group", ())),
        only=tuple(options.get("--only-group", ())),
        all_groups="--all-groups" in options,
        no_default="--no-default-groups" in options,
    )
