"""Ctrl-C and SIGTERM as one interruption, from the entry point's first line to the exit.

Standard library only, and only ``signal``: the command line enters a ``TermGuard`` before
it imports anything else, the no-change path included, so a SIGTERM anywhere in a run
raises ``Interrupted`` (an apply under way is undone, not cut off) and ends as exit 143 with
the "interrupted" message, never as a process the signal killed. What the guard cannot
cover is the interpreter's own start-up, before envsync's first line runs.

The guard raises once: what follows a raise is clean-up and the message, which a second
SIGTERM must not cut short, so later ones are only noted (the run ends as 143 anyway).
A raise that lands where Python cannot pass an exception on (a weakref callback of the
import system, a ``__del__``) is swallowed: the guard keeps Python from printing it as a
traceback, arms itself again, and the run still ends as 143.
``envsync run`` re-arms it after it passed a SIGTERM on to its command.
"""

from __future__ import annotations

import signal
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (5 ms): start-up path

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from types import FrameType, TracebackType

    from typing_extensions import Self

    _Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_TERMINATED",
    "TERMINATED",
    "Interrupted",
    "TermGuard",
    "deferred",
    "disarm",
    "interruption_in",
    "rearm",
]

#: 128 + SIGINT, as a shell reports Ctrl-C.
EXIT_INTERRUPTED = 130
#: 128 + SIGTERM, as a shell reports a process SIGTERM ended.
EXIT_TERMINATED = 143
#: What an interruption by SIGTERM says.
TERMINATED = "terminated (SIGTERM)"


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped envsync; says whether a venv was put back as it was.

    A KeyboardInterrupt, not an EnvsyncError: nothing may catch it on the way up but the
    clean-up it must run through.
    """

    def __init__(self, what: str = "interrupted", *, restored: Path | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.restored = restored

    @property
    def message(self) -> str:
        """What the user reads."""
        if self.restored is None:
            return self.what
        return f"{self.what}: nothing was changed, {self.restored} is as it was before this run"

    @property
    def exit_code(self) -> int:
        """143 for SIGTERM, 130 for Ctrl-C."""
        return EXIT_TERMINATED if self.what == TERMINATED else EXIT_INTERRUPTED


class TermGuard:
    """SIGTERM handling for one run of the command line (a context manager).

    Inside it, the first SIGTERM raises ``Interrupted``; after that, or once ``close`` has
    said the result is decided, a SIGTERM is only noted in ``unanswered``. With
    *until_exit* (the process is envsync itself), ``close`` also blocks SIGTERM for the rest
    of the process, so that none can kill it during the interpreter's shutdown, and notes
    one that is already pending; otherwise (``main`` called in-process) the previous
    handler is put back on exit.
    """

    def __init__(self, *, until_exit: bool) -> None:
        self.until_exit = until_exit
        self.armed = False
        self.unanswered = False
        #: Interrupted was raised and no one answered it (as ``envsync run`` does): if the
        #: run still ends otherwise, something swallowed it, and it ends as 143 anyway.
        self.raised = False
        self._previous: _Handler = None
        self._previous_hook = sys.unraisablehook
        self._installed = False

    def __enter__(self) -> Self:
        global _active  # noqa: PLW0603 - signal handlers are per process, and so is this
        try:
            self._previous = signal.signal(signal.SIGTERM, self._on_term)
        except ValueError:  # not the main thread, which alone receives signals
            return self
        self._installed = self.armed = True
        self._previous_hook = sys.unraisablehook
        sys.unraisablehook = self._on_unraisable
        _active = self
        return self

    def _on_unraisable(self, unraisable: sys.UnraisableHookArgs) -> None:
        """Python could not pass an exception on: an Interrupted there is swallowed, silently.

        The run still ends as 143 (``raised`` stays set), and the guard is armed again, since
        nothing is cleaning up after this raise. Anything else goes to the previous hook.
        """
        if unraisable.exc_value is None or interruption_in(unraisable.exc_value) is None:
            self._previous_hook(unraisable)
            return
        self.armed = True

    def _on_term(self, _signum: int, _frame: FrameType | None) -> None:
        if not self.armed:
            self.unanswered = True
            return
        self.armed = False
        self.raised = True
        raise Interrupted(TERMINATED)

    def close(self) -> None:
        """The run's result is decided: from now on a SIGTERM is noted, never raised."""
        self.armed = False
        # POSIX only (pthread_sigmask): elsewhere SIGTERM is not a catchable request anyway.
        if self.until_exit and self._installed and hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
            self.unanswered = self.unanswered or signal.SIGTERM in signal.sigpending()

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        global _active  # noqa: PLW0603 - see __enter__
        self.close()
        if self._installed and not self.until_exit:
            signal.signal(signal.SIGTERM, self._previous)
            sys.unraisablehook = self._previous_hook
        _active = None


_active: TermGuard | None = None


def disarm() -> None:
    """The run is ending (an interruption is being reported): note a SIGTERM, never raise."""
    if _active is not None:
        _active.armed = False


def rearm() -> None:
    """A SIGTERM was handled and the run goes on (``envsync run`` passed it to its command)."""
    if _active is not None and _active._installed:  # noqa: SLF001 - the module's own class
        _active.armed = True
        _active.raised = False


def interruption_in(exc: BaseException) -> Interrupted | None:
    """The Interrupted *exc* is, or was raised from or while handling; None if none.

    Python turns an exception raised in some places into another one that has it as its
    cause (a class body's ``__set_name__``, while a module imports): a SIGTERM there must
    still end the run as an interruption, not as an internal error.
    """
    seen: set[int] = set()
    found: BaseException | None = exc
    while found is not None and id(found) not in seen:
        if isinstance(found, Interrupted):
            return found
        seen.add(id(found))
        found = found.__cause__ or found.__context__
    return None


class deferred:  # noqa: N801 - used as a ``with`` statement, like contextlib's helpers
    """Hold Ctrl-C and SIGTERM off for a few statements: they arrive after the block.

    For a step and the note of how to undo it (a folder made and its undo kept): a signal
    between the two would leave the step done and nobody to undo it. Blocked, not ignored,
    so the interruption still comes, at the end of the block. Only the main thread gets
    signals, and only POSIX can block them; elsewhere this does nothing.
    """

    __slots__ = ("_old",)

    def __init__(self) -> None:
        self._old: set[int | signal.Signals] | None = None

    def __enter__(self) -> None:
        if hasattr(signal, "pthread_sigmask"):
            held = {signal.SIGINT, signal.SIGTERM}
            self._old = signal.pthread_sigmask(signal.SIG_BLOCK, [])  # the mask as it is
            try:
                signal.pthread_sigmask(signal.SIG_BLOCK, held)
            except BaseException:
                # One that came as the hold began: Python raises it as the call returns,
                # and the block is never entered. Leave the mask as it was.
                signal.pthread_sigmask(signal.SIG_SETMASK, self._old)
                raise

    def __exit__(self, *exc: object) -> None:
        if self._old is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, self._old)
