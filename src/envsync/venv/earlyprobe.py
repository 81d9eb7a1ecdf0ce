"""The probe of envsync's own interpreter, started before the full path loads. PROCESSES.

A run that makes a venv asks the Python it makes it from for its paths, markers and tags
(``environment``): 35-65 ms of another process, which the run waits for once it has loaded
(~100 ms later). With no answer kept for that Python (``probecache``: a cold cache, as in a
fresh CI job), ``started`` starts the probe at once, on the start-up path, so that it runs
while the full path loads. The first Python the search tries is envsync's own (``interpreters``),
so that is the one started; the full path takes it over only when it asks for exactly that
command line and environment (``take``), and a probe nobody took is stopped (``close``).
A wrong guess costs only a process's CPU, never another answer.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from envsync.errors import EnvsyncError
from envsync.system.process import clean_env, finished, started, stopped
from envsync.venv import probescript

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Mapping, Sequence

__all__ = ["EarlyProbe", "started_probe"]


class EarlyProbe:
    """A probe started ahead: its command line, its environment and its process."""

    __slots__ = ("_proc", "argv", "env")

    def __init__(self, argv: list[str], env: dict[str, str], proc: subprocess.Popen[str]) -> None:
        self.argv = argv
        """The command line it runs (``probescript.argv``)."""
        self.env = env
        """The environment it runs in."""
        self._proc: subprocess.Popen[str] | None = proc

    def take(
        self, argv: Sequence[str], env: Mapping[str, str]
    ) -> subprocess.CompletedProcess[str] | None:
        """Its result, once ended, when it is the run *argv* and *env* ask for; else None.

        Taken once: a second ask (another run in this process) runs its own probe.
        """
        if self._proc is None or list(argv) != self.argv or dict(env) != self.env:
            return None
        proc, self._proc = self._proc, None
        return finished(proc)

    def close(self) -> None:
        """Stop it if no one took it (the run needed another Python, or none)."""
        if self._proc is not None:
            proc, self._proc = self._proc, None
            stopped(proc)


def started_probe() -> EarlyProbe | None:
    """The probe of envsync's own interpreter, started now when no answer for it is kept.

    None where one is kept, or where it cannot start (the full path then runs its own, and
    reports what stopped it).
    """
    # As the search names it, and as ``environment.probe_interpreter`` keys it.
    python = Path(getattr(sys, "_base_executable", None) or sys.executable)
    root = os.fspath(python.parent.parent)
    if probescript.kept(python, probescript.venv_identity(root)) is not None:
        return None
    try:
        # The folder lending packaging may be refused (not private) or not made: the full
        # path's own probe then says why.
        argv, env = probescript.argv(str(python)), clean_env()
        return EarlyProbe(argv, env, started(argv, cwd=None, env=env))
    except (OSError, EnvsyncError):
        return None
