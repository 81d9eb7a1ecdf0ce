"""Progress events and the Reporter protocol: the library emits, the CLI decides what to show."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeAlias

if TYPE_CHECKING:
    from envsync.core.planner import Plan

__all__ = [
    "Counter",
    "Event",
    "Locked",
    "Notice",
    "NullReporter",
    "PinReleased",
    "Planned",
    "Progress",
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
class Notice:
    """Something the user should know about what this run does, said once (not a step)."""

    what: str
    """One user-facing line, shown as it is."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Resolving:
    """The resolver is about to run."""

    python: str
    """The Python version the lock is resolved for."""
    requirements: int
    """Number of top-level requirements (all groups)."""
    platform: str = ""
    """The platform resolved for (a lock target's), when known."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PinReleased:
    """A relock let go of a pin of the current lock: it no longer fits the requirements."""

    package: str
    """The package."""
    pinned: str
    """The version the lock pinned."""
    now: str
    """The version locked instead."""
    because: str
    """Why, in a user's words (``it conflicts with a<2``)."""


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


@dataclass(frozen=True, kw_only=True, slots=True)
class Progress:
    """One more item of a long step is done (a wheel fetched, a package installed)."""

    step: str
    """What is being counted: ``fetching`` or ``installing``."""
    done: int
    """Items finished so far."""
    total: int
    """Items in the step."""


Event: TypeAlias = "Step | Notice | Resolving | PinReleased | Locked | Planned | Progress"


class Reporter(Protocol):
    """Receives progress events; must not raise."""

    def emit(self, event: Event) -> None:
        """Handle one event."""


class Counter:
    """Counts finished items of one step and reports each as a Progress event; thread-safe."""

    def __init__(self, reporter: Reporter, step: str, total: int) -> None:
        self._reporter = reporter
        self._step = step
        self._total = total
        self._done = 0
        self._lock = threading.Lock()

    def tick(self) -> None:
        """One more item is done."""
        with self._lock:
            self._done += 1
            event = Progress(step=self._step, done=self._done, total=self._total)
        self._reporter.emit(event)


class NullReporter:
    """Drops every event."""

    def emit(self, event: Event) -> None:
        """Ignore the event."""
