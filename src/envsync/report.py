"""Progress events and the Reporter protocol: the library emits, the CLI decides what to show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeAlias

if TYPE_CHECKING:
    from envsync.planner import Plan

__all__ = [
    "Event",
    "ListReporter",
    "Locked",
    "NullReporter",
    "Planned",
    "Reporter",
    "Resolving",
    "Step",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class Step:
    """A long-running step starts (creating a venv, installing, removing)."""

    what: str
    """A short user-facing line, such as ``installing 12 packages``."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Resolving:
    """The resolver is about to run."""

    python: str
    """Version of the interpreter the lock is resolved for."""
    requirements: int
    """Number of top-level requirements (all groups)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Locked:
    """A lock was resolved (and written, unless ``written`` is False)."""

    packages: int
    """Number of packages in the lock."""
    written: bool
    """Whether pylock.toml was written."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Planned:
    """apply has made its plan and is about to carry it out."""

    plan: Plan
    """The plan."""


Event: TypeAlias = "Step | Resolving | Locked | Planned"


class Reporter(Protocol):
    """Receives progress events; must not raise."""

    def emit(self, event: Event) -> None:
        """Handle one event."""


class NullReporter:
    """Drops every event."""

    def emit(self, event: Event) -> None:
        """Ignore the event."""


class ListReporter:
    """Keeps events in a list: for tests and for callers that render later."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        """Remember the event."""
        self.events.append(event)
