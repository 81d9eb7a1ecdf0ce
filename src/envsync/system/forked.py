"""Helper processes forked from this one, fed one line at a time. PROCESSES.

A helper started anew (``process.Worker``) spends 40-50 ms of CPU starting Python and
importing what it needs before its first line; a cold sync starts two, on a machine whose
CPUs its unpacking keeps busy. A forked one has all of it already: this process's modules,
loaded. ``start`` forks them where that is safe (Linux, and no other thread in this
process: a fork copies only the thread that calls it, and a lock another one held would
stay held in the child), each running *work* on every line it reads and writing back what
that returns; ``Forked`` has ``Worker``'s ``running``, ``send`` and ``finish``.

A helper never runs this process's code past its loop: its signals are the defaults, its
output goes nowhere, it leaves by ``os._exit``, and it ends when its input does (this
process closed it, or ended).
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["Forked", "may_fork", "start"]

#: The signals held back around a fork: one raised in the child before its handlers are the
#: defaults would run this process's handler there; one raised here before the child's pid is
#: known would leave that child unknown.
_HELD = frozenset({signal.SIGINT, signal.SIGTERM})
#: A helper's exit codes: its input ended; it failed (its line's work raised past its loop).
_DONE, _FAILED = 0, 3


def may_fork() -> bool:
    """Whether helpers may be forked here: Linux, and no thread but this one running.

    Elsewhere a fork without exec is unsafe (macOS's system libraries) or unavailable.
    """
    alone = "threading" not in sys.modules or threading.active_count() == 1
    return sys.platform.startswith("linux") and alone and hasattr(os, "fork")


class Forked:
    """One forked helper: its pid, the pipe to its input, the thread reading its output."""

    __slots__ = ("_code", "_gone", "_input", "_lock", "_output", "_reader", "pid")

    def __init__(self, pid: int, to_child: int, from_child: int) -> None:
        self.pid = pid
        self._input = os.fdopen(to_child, "w")
        self._output = os.fdopen(from_child, "r")
        self._lock = threading.Lock()
        self._gone = False
        self._code: int | None = None
        self._reader: threading.Thread | None = None

    def pipes(self) -> tuple[int, int]:
        """This process's ends of its two pipes."""
        return self._input.fileno(), self._output.fileno()

    def read(self, on_line: Callable[[str], None]) -> None:
        """Pass each line it writes back to *on_line*, from a thread of its own."""

        def drain() -> None:
            for line in self._output:
                on_line(line.rstrip("\n"))

        self._reader = threading.Thread(target=drain, name=f"envsync-helper-{self.pid}")
        self._reader.daemon = True
        self._reader.start()

    @property
    def running(self) -> bool:
        """Whether it may still take work: not ended, and not known to be gone."""
        with self._lock:
            if self._gone or self._code is not None:
                return False
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self._code = os.waitstatus_to_exitcode(status)
            return not pid

    def send(self, line: str) -> bool:
        """Give the helper *line*; False if it is gone (its work then falls to the caller)."""
        with self._lock:
            try:
                self._input.write(line + "\n")
                self._input.flush()
            except (OSError, ValueError):  # a broken pipe, or already closed
                self._gone = True
                return False
            return True

    def finish(self) -> str | None:
        """Close its input, wait for it to end and its output to be read; why it failed.

        None when it did not.
        """
        with self._lock:
            try:
                self._input.close()
            except OSError:
                self._gone = True  # what it had not read yet is lost with it
            if self._code is None:
                self._code = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        if self._reader is not None:
            self._reader.join()
        self._output.close()
        return None if self._code == _DONE else f"helper {self.pid} ended with {self._code}"


def start(
    count: int, work: Callable[[str], str], on_line: Callable[[int], Callable[[str], None]]
) -> list[Forked]:
    """*count* helpers forked now, each writing back ``work(line)`` for every line sent.

    What helper *i* writes back goes to ``on_line(i)``. Every helper is forked before any
    thread starts (one per helper, to read its output). Raises OSError when one cannot be
    forked; those forked already are ended first.
    """
    forked: list[Forked] = []
    try:
        for _ in range(count):
            forked.append(_fork(work, forked))  # each one known as it is made
    except BaseException:
        for helper in forked:
            helper.finish()  # its input closed: it ends
        raise
    for i, helper in enumerate(forked):
        helper.read(on_line(i))
    return forked


def _fork(work: Callable[[str], str], earlier: Sequence[Forked]) -> Forked:
    """Fork one helper running *work*; *earlier* helpers' pipes are closed in it."""
    to_child, child_in = os.pipe()[::-1]
    child_out, from_child = os.pipe()[::-1]
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        pid = os.fork()
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        for fd in (to_child, child_in, child_out, from_child):
            os.close(fd)
        raise
    if pid == 0:  # the helper: its loop, then out, never back into this process's code
        code = _FAILED
        try:
            os.close(to_child)
            os.close(from_child)
            for helper in earlier:  # their input must end when this process closes it
                for fd in helper.pipes():
                    os.close(fd)
            _serve(child_in, child_out, work, held)
            code = _DONE
        finally:
            os._exit(code)
    signal.pthread_sigmask(signal.SIG_SETMASK, held)  # this process has the pid first
    os.close(child_in)
    os.close(child_out)
    return Forked(pid, to_child, from_child)


def _serve(
    child_in: int, child_out: int, work: Callable[[str], str], held: set[int | signal.Signals]
) -> None:
    """The helper's loop: ``work`` on each line read, its answer written back."""
    for number in _HELD:
        signal.signal(number, signal.SIG_DFL)  # a Ctrl-C ends it, as it ends any helper
    signal.pthread_sigmask(signal.SIG_SETMASK, held)
    nowhere = os.open(os.devnull, os.O_WRONLY)
    os.dup2(nowhere, 1)  # a warning logged here must not reach the terminal
    os.dup2(nowhere, 2)
    sys.stdout = sys.stderr = os.fdopen(nowhere, "w")  # nor what wraps another descriptor
    gc.disable()  # its loop makes no cycles; a collection would only copy this process's pages
    with os.fdopen(child_in, "r") as lines, os.fdopen(child_out, "w") as out:
        for line in lines:
            out.write(work(line.rstrip("\n")) + "\n")
            out.flush()
