"""The name of a venv's lock file, and taking it without waiting. Only ``os`` (and ``fcntl``).

The full path holds the lock through ``venvlock`` (filelock); the fast paths (replay, a
pure removal), which run before anything else is imported, take the same file with ``fcntl``.
"""

# ruff: noqa: PTH116, PTH118, PTH119, PTH120 - os.path, not pathlib: this runs on the start-up path
from __future__ import annotations

import os

__all__ = ["held", "lock_file"]


def lock_file(venv: str | os.PathLike[str]) -> str:
    """The lock file of *venv*: beside it, named after it, the same for every spelling of it."""
    real = os.path.realpath(venv)
    # Hidden, without doubling the dot of ``.venv``. ``venv`` beside ``.venv`` would share it:
    # the two would only take turns.
    name = os.path.basename(real).removeprefix(".")
    return os.path.join(os.path.dirname(real), f".{name}.envsync.lock")


class held:  # noqa: N801 - a ``with`` statement, like contextlib's helpers (2 ms to import)
    """The venv's lock (the file ``venvlock`` holds) for the block, if no one holds it now.

    Yields whether it is held: a run that holds it has the venv's say, and a fast path does
    not wait for it; the full path does, and says for whom.
    """

    __slots__ = ("_fd", "_path")

    def __init__(self, venv: str) -> None:
        self._path = lock_file(venv)
        self._fd: int | None = None

    def __enter__(self) -> bool:
        import fcntl  # noqa: PLC0415 - POSIX only; elsewhere the full path decides

        try:
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # A lock file deleted and made again between open and flock is not the lock.
            same = os.fstat(fd).st_ino == os.stat(self._path).st_ino
        except OSError:
            same = False
        if not same:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor lets the lock go
