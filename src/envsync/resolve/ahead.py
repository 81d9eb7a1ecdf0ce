"""A resolver run started ahead, and the runner that takes it over or records what it ran.

A relock spends ~150 ms importing and reading before pip-compile starts, and pip-compile
itself takes most of a second. When env.toml changed since the last lock, the fast path can
start pip-compile at once, from the recipe of the last run (``usecases.headstart``), while
the full path is still loading. The full path then runs as it always does, through
``Calls``: the first run it asks for is taken over from the one started ahead only when its
command line, environment and every file in its working folder are byte for byte what was
started; anything else stops the early run and starts its own. A wrong guess costs only
the CPU of the run thrown away, never a different lock.

``Calls`` also records what it ran, so that a run that resolved once can keep the recipe
of the next one. Only ``os`` at import: this module is on the start-up path, and subprocess
is loaded only to start a run.
"""

# ruff: noqa: PTH113, PTH118, PTH123 - os.path: the start-up path
from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (5 ms): start-up path

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from envsync.errors import EnvsyncError
    from envsync.system.process import Runner

__all__ = ["Ahead", "Call", "Calls", "folder_files"]

#: Folders of runs started ahead are made with this prefix, as the full path names its own.
PREFIX = "envsync-lock-"
#: The output file, which pip-compile reads first as the pins to keep (``resolve.inputs``).
OUTPUT = "resolved.txt"


def folder_files(folder: str | os.PathLike[str]) -> dict[str, bytes]:
    """Every regular file directly in *folder*, by name: what a resolver run reads there."""
    files: dict[str, bytes] = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_file(follow_symlinks=False):
                with open(entry.path, "rb") as fh:
                    files[entry.name] = fh.read()
    return files


class Ahead:
    """A resolver process started before the full path knew it would need it."""

    __slots__ = ("_proc", "argv", "env", "files", "folder", "taken")

    def __init__(
        self, argv: list[str], env: dict[str, str], folder: str, files: dict[str, bytes]
    ) -> None:
        self.argv = argv
        """The command line it runs."""
        self.env = env
        """Its whole environment."""
        self.folder = folder
        """Its working folder, which envsync made (``close`` deletes it)."""
        self.files = files
        """What was written in *folder* before it started, by name."""
        self.taken = False
        """Whether a run asked for it, or for something else (it is then stopped)."""
        # Only when a run starts: the no-change path loads no process machinery.
        from envsync.system.process import started  # noqa: PLC0415

        self._proc = started(argv, cwd=folder, env=env)

    def take(
        self, argv: Sequence[str], cwd: str | os.PathLike[str], env: Mapping[str, str]
    ) -> subprocess.CompletedProcess[str] | None:
        """Its result, when *argv* in *cwd* with *env* is exactly the run started; else None.

        Asked once: a second call, or one that differs, stops the early run. The output file
        it wrote is copied into *cwd*, where the caller's own run would have written it.
        """
        if self.taken:
            return None
        self.taken = True
        same = list(argv) == self.argv and dict(env) == self.env
        if not same or folder_files(cwd) != self.files:
            self._stop()
            return None
        from envsync.system.process import finished  # noqa: PLC0415 - loaded: it started the run

        proc = finished(self._proc)
        output = os.path.join(self.folder, OUTPUT)
        if os.path.isfile(output):
            with open(output, "rb") as src, open(os.path.join(cwd, OUTPUT), "wb") as dst:
                dst.write(src.read())
        return proc

    def close(self) -> None:
        """Stop the run if nobody took it, and delete its folder (envsync's own).

        Never fails the run it ends: a folder that cannot go is left in the cache.
        """
        from envsync.errors import EnvsyncError  # noqa: PLC0415 - at the end of the run
        from envsync.system import removal  # noqa: PLC0415

        self.taken = True
        self._stop()
        try:
            removal.delete_tree(removal.Owned(self.folder, "temporary"))
        except (OSError, EnvsyncError):
            return

    def _stop(self) -> None:
        from envsync.system.process import stopped  # noqa: PLC0415 - loaded: it started the run

        stopped(self._proc)


class Call:
    """One run ``Calls`` made that succeeded: what a later run started ahead repeats."""

    __slots__ = ("argv", "env", "files")

    def __init__(self, argv: list[str], env: dict[str, str], files: dict[str, bytes]) -> None:
        self.argv = argv
        self.env = env
        self.files = files
        """Its working folder's files when it started, by name."""


class Calls:
    """A runner for the resolver: takes over the run started ahead, and records each run."""

    def __init__(
        self, run: Runner, ahead: Ahead | None = None, *, python: str | None = None
    ) -> None:
        self._run = run
        self._ahead = ahead
        self.python = python
        """The interpreter the runs resolve under, when they are of one target only."""
        self.made: list[Call] = []
        """Each run that succeeded, in order."""
        self.count = 0
        """How many runs were asked for (a failed one included)."""

    def __call__(
        self,
        argv: Sequence[str],
        *,
        error: Callable[[str], EnvsyncError],
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run *argv* as the runner given would, taking over the early run when it is this."""
        from envsync.system.process import checked  # noqa: PLC0415 - the full path's

        self.count += 1
        argv = [os.fspath(a) for a in argv]
        files = folder_files(cwd) if cwd is not None else {}
        early = None
        if self._ahead is not None and cwd is not None and env is not None:
            early = self._ahead.take(argv, cwd, env)
        if early is None:
            proc = self._run(argv, error=error, cwd=cwd, env=env)
        else:
            proc = checked(early, error=error)
        if env is not None:
            self.made.append(Call(argv, dict(env), files))
        return proc
