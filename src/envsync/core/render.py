"""Plans and errors -> Terraform-like text, or plain data for JSON. PURE: returns, never prints.

Text looks like::

    + mylib 0.1 (from file:///abs/libs/mylib)
    ~ requests 2.31.0 -> 2.32.3 (upgrade)
    ~ rich 13.7.1 (reinstall: hash differs)
    - six 1.16.0

    Plan: 1 to install, 1 to upgrade, 0 to downgrade, 1 to reinstall, 1 to remove.

Returned strings carry no trailing newline; the caller decides how to write them.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING, TypedDict

from envsync.core.names import NO_CHANGES
from envsync.core.planner import Change

if TYPE_CHECKING:
    from envsync.core.lockfile import Wanted
    from envsync.core.planner import Action, Plan
    from envsync.errors import EnvsyncError

__all__ = [
    "NO_CHANGES",
    "ChangeJson",
    "PlanJson",
    "plan_counts",
    "plan_to_json",
    "render_error",
    "render_plan",
]

#: What an empty plan says.

#: Summary order, which is also the key order of plan_counts() and the JSON summary.
_COUNTED = (Change.INSTALL, Change.UPGRADE, Change.DOWNGRADE, Change.REINSTALL, Change.REMOVE)

_SYMBOL = {
    Change.INSTALL: "+",
    Change.UPGRADE: "~",
    Change.DOWNGRADE: "~",
    Change.REINSTALL: "~",
    Change.REMOVE: "-",
}

# Plain SGR escape codes: every terminal envsync targets understands them.
_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_RED = "\x1b[31m"
_GREEN = "\x1b[32m"
_YELLOW = "\x1b[33m"
_COLOR = {"+": _GREEN, "~": _YELLOW, "-": _RED}

# Functional form because "from" is a keyword.
ChangeJson = TypedDict(
    "ChangeJson",
    {"name": str, "action": str, "from": str | None, "to": str | None, "reason": str | None},
)
"""One change in plan_to_json(): versions as strings, null where a side is absent."""


class PlanJson(TypedDict):
    """The JSON form of a plan: the changes in name order, then the counts."""

    changes: list[ChangeJson]
    summary: dict[str, int]


def render_plan(plan: Plan, *, color: bool = False) -> str:
    """Render a plan as one line per change, a blank line and a summary.

    With ``color`` the symbols are wrapped in ANSI colors (green +, yellow ~, red -);
    without it the text holds no escape codes at all.
    """
    changes = _sorted_changes(plan)
    if not changes:
        return _paint(NO_CHANGES, _BOLD + _GREEN, color=color)
    lines = [_change_line(action, color=color) for action in changes]
    summary = _summary_line(plan_counts(plan), color=color)
    return "\n".join([*lines, "", summary])


def plan_counts(plan: Plan) -> dict[str, int]:
    """Count the changes of each kind, keyed install/upgrade/downgrade/reinstall/remove."""
    return {change.value: len(plan.of(change)) for change in _COUNTED}


def plan_to_json(plan: Plan) -> PlanJson:
    """Return the plan as JSON-ready data: ``{"changes": [...], "summary": {...}}``.

    KEEP actions are left out, as in the text form.
    """
    return {
        "changes": [_change_json(action) for action in _sorted_changes(plan)],
        "summary": plan_counts(plan),
    }


def render_error(err: EnvsyncError, *, color: bool = False) -> str:
    """Render ``error: <message>`` and, when the error has one, ``hint: <hint>`` below it.

    Multi-line messages keep their lines as they are.
    """
    lines = [f"{_paint('error:', _BOLD + _RED, color=color)} {err.message}"]
    if err.hint:
        lines.append(f"{_paint('hint:', _BOLD, color=color)} {err.hint}")
    return "\n".join(lines)


def _sorted_changes(plan: Plan) -> list[Action]:
    """Return the actions that change something, in name order."""
    return sorted(plan.changes(), key=lambda action: action.name)


def _change_line(action: Action, *, color: bool) -> str:
    """Render one change as ``<symbol> <name> <versions> (<notes>)``."""
    symbol = _paint(_SYMBOL[action.change], _COLOR[_SYMBOL[action.change]], color=color)
    notes = _notes(action)
    tail = f" ({', '.join(notes)})" if notes else ""
    versions = _versions(action)
    return f"{symbol} {action.name}{' ' if versions else ''}{versions}{tail}"


def _versions(action: Action) -> str:
    """Show the version(s) a change involves: one, or ``old -> new``."""
    if action.change is Change.INSTALL:
        # No version for what the venv's ensurepip installs (seed): it is that Python's.
        return "" if action.want is None and action.reason else _want_label(action)
    if action.change in {Change.UPGRADE, Change.DOWNGRADE}:
        return f"{_have_label(action)} -> {_want_label(action)}"
    # REINSTALL keeps the version, and REMOVE has only the installed one.
    return _have_label(action)


def _notes(action: Action) -> list[str]:
    """List the parenthesised notes: the kind of change, then where it comes from."""
    notes: list[str] = []
    if action.change in {Change.UPGRADE, Change.DOWNGRADE}:
        notes.append(action.change.value)
    elif action.change is Change.REINSTALL:
        notes.append(f"reinstall: {action.reason}" if action.reason else "reinstall")
    elif action.change in {Change.REMOVE, Change.INSTALL} and action.reason:
        notes.append(action.reason)
    if action.want is not None:
        notes.extend(_source_notes(action.want))
    return notes


def _source_notes(want: Wanted) -> list[str]:
    """Name the source of a directory or archive, which an index version alone does not say."""
    notes = ["editable"] if want.editable else []
    if want.artifact.kind in {"directory", "archive"}:
        notes.append(f"from {want.artifact.url}")
    return notes


def _want_label(action: Action) -> str:
    """Show the wanted version, or a version-less directory's folder name."""
    want = action.want
    if want is None:  # the planner always sets it here; stay total for hand-made actions
        return "?"
    if want.version is not None:
        return str(want.version)
    from urllib.parse import unquote, urlsplit  # noqa: PLC0415 - a folder's name only; 2 ms

    return PurePosixPath(unquote(urlsplit(want.artifact.url).path)).name or want.artifact.url


def _have_label(action: Action) -> str:
    """Show the installed version."""
    if action.have is None:  # as above
        return "?"
    return str(action.have.version)


def _summary_line(counts: dict[str, int], *, color: bool) -> str:
    """Render ``Plan: N to install, ... N to remove.``."""
    parts = ", ".join(f"{count} to {kind}" for kind, count in counts.items())
    return f"{_paint('Plan:', _BOLD, color=color)} {parts}."


def _change_json(action: Action) -> ChangeJson:
    """Return one change as JSON-ready data."""
    return {
        "name": action.name,
        "action": action.change.value,
        "from": str(action.have.version) if action.have else None,
        "to": _to_version(action),
        "reason": action.reason,
    }


def _to_version(action: Action) -> str | None:
    """Return the version a change ends at, as a string; None for removals or unknown."""
    if action.change is Change.REMOVE or action.want is None:
        return None
    if action.want.version is not None:
        return str(action.want.version)
    # A version-less directory reinstalled in place keeps the version it has.
    return str(action.have.version) if action.have else None


def _paint(text: str, style: str, *, color: bool) -> str:
    """Wrap text in an ANSI style when color is on."""
    return f"{style}{text}{_RESET}" if color else text
