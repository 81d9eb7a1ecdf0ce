"""Replace a file atomically: a crash at any moment leaves the old file or the new, never a mix.

``write_bytes`` writes the whole content to a temporary file in the target's folder, flushes it
to disk, renames it over the target and flushes the folder, so the rename itself survives a
power cut. It touches only the target, its folder, and the temporary files it names
``.<name>.<pid>.<random>.tmp``; one left behind by a killed process is deleted by the next write
to the same file.

Only ``os``: the no-change path imports this module before anything else is loaded, and
tempfile alone would cost ~10 ms there.
"""

# ruff: noqa: PTH116, PTH118, PTH208 - os, not pathlib: this is on the start-up path
from __future__ import annotations

import os

from envsync.system import faults, removal

__all__ = ["write_bytes", "write_text"]

_POSIX = os.name == "posix"
#: What ``open(path, "w")`` asks for: the umask then takes its share, as for any new file.
_NEW_FILE_MODE = 0o666


def write_text(path: str | os.PathLike[str], text: str, *, fault: str | None = None) -> None:
    """Replace *path* with *text* (UTF-8, newlines as given); see ``write_bytes``."""
    write_bytes(path, text.encode("utf-8"), fault=fault)


def write_bytes(path: str | os.PathLike[str], data: bytes, *, fault: str | None = None) -> None:
    """Replace *path* with *data*, whole or not at all.

    A new file gets the mode ``open(path, "w")`` would give it; an existing one keeps its mode.
    A symlink stays a symlink: the file it points to is replaced. *fault* names the
    ``_faults`` point reached once the data is on disk, before the rename.
    """
    target = os.path.realpath(path)
    folder, name = os.path.split(target)
    tmp, fd = _create(folder, name)
    try:
        with os.fdopen(fd, "wb") as fh:
            _keep_mode(fh.fileno(), target)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if fault is not None:
            faults.reached(fault)
        removal.publish(tmp, target)
    except BaseException:
        _unlink(tmp)
        raise
    _sync_folder(folder)
    _sweep(folder, name)


def _create(folder: str, name: str) -> tuple[str, int]:
    """A new, empty temporary file beside *name*: its path and an open descriptor.

    The pid in the name lets a later write tell a file whose writer died from one being written.
    """
    while True:
        tmp = os.path.join(folder, f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _NEW_FILE_MODE)
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue


def _keep_mode(fd: int, target: str) -> None:
    """Give the temporary file the target's mode, if there is a target."""
    try:
        mode = os.stat(target).st_mode & 0o7777
    except FileNotFoundError:
        return
    if _POSIX:
        os.fchmod(fd, mode)


def _sync_folder(folder: str) -> None:
    """Flush the folder's entry for the renamed file: without it a power cut can undo the rename."""
    if not _POSIX:
        return  # Windows cannot open a folder; NTFS journals the rename itself
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems (and some network mounts) refuse; the file itself is flushed
    finally:
        os.close(fd)


def _sweep(folder: str, name: str) -> None:
    """Delete temporary files for *name* left by processes that no longer exist."""
    if not _POSIX:
        return  # os.kill(pid, 0) is not a question on Windows: it sends CTRL_C_EVENT
    prefix = f".{name}."
    try:
        entries = [e for e in os.listdir(folder) if e.startswith(prefix) and e.endswith(".tmp")]
    except OSError:
        return
    for entry in entries:
        pid = entry[len(prefix) :].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            _unlink(os.path.join(folder, entry))


def _alive(pid: int) -> bool:
    """Whether process *pid* exists (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # EPERM: it exists, and is someone else's
    return True


def _unlink(path: str) -> None:
    try:  # noqa: SIM105 - contextlib would cost 2 ms at start-up
        removal.delete_own_file(path)
    except OSError:
        pass
