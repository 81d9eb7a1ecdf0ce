"""A venv an apply has just made, kept in the cache as a replica (``venv.replica``). FILES.

``capture`` links every file of the venv into a folder of envsync's cache and writes the
manifest ``replica.restore`` reads back. ``Background`` does the walk and the links in a
helper process forked from this one while the apply goes on, and the manifest is written
once the caller knows what it keeps beside the files: the walk of the benchmark's medium
venv (5,500 files) takes ~45 ms, and an apply's last steps (reading the venv back, keeping
the removal recipe) another ~45 ms on one CPU; side by side they take the longer of the two.

Only the standard library, as ``replica``.
"""

# ruff: noqa: PTH102, PTH118
# os.path and os, not pathlib: thousands of files.
from __future__ import annotations

import hashlib
import marshal
import os
import stat
import struct

from envsync.system import atomic
from envsync.system.descriptors import write_all
from envsync.venv.replica import (
    FOLDER,
    FORMAT,
    MANIFEST,
    RELATIVE,
    STATS,
    TREE,
    Stale,
    helper,
    reap,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from envsync.venv.replica import Folder

    #: What a walk found: the manifest's ``venv``, ``folders`` and ``links`` (and its format).
    Walked = dict[str, object]

__all__ = ["Background", "capture", "walk", "write"]

#: Bytes read at a time from a helper's pipe.
_CHUNK = 1 << 16


def capture(venv: str, folder: str, *, skip: frozenset[str], meta: dict[str, object]) -> None:
    """Keep *venv* in *folder* (new, made by the caller): its files linked, its manifest."""
    write(folder, walk(venv, folder, skip=skip), meta)


def walk(venv: str, folder: str, *, skip: frozenset[str]) -> Walked:
    """Link every file of *venv* into *folder*'s tree; what the manifest will say of them.

    *skip* are names at the venv's top that are not kept (its state file, a transaction's
    journal). A venv holding anything but folders, files and symlinks raises ``Stale``
    (nothing would be made again from it), as does a system that cannot name files
    relative to an open folder (``restore`` needs that too). Each folder is opened once on
    both sides, and its entries are read and linked by name, as ``replica._link`` does: this
    runs for every file of a venv an apply has just made.
    """
    if not RELATIVE:
        raise Stale("this system cannot name files relative to a folder")
    if not stat.S_ISDIR(os.lstat(venv).st_mode):  # fwalk would yield nothing of a link
        raise Stale(f"{venv} is not a folder")
    tree = os.path.join(folder, TREE)
    os.mkdir(tree)
    kept = _Kept()
    # follow_symlinks is False: a link, even to a folder, is kept as one entry, not walked.
    for here, subdirs, names, here_fd in os.fwalk(venv):
        rel = os.path.relpath(here, venv)
        rel = "" if rel == "." else rel
        if not rel:
            subdirs[:] = [d for d in subdirs if d not in skip]
        files = [n for n in names if rel or n not in skip]
        kept_fd = os.open(os.path.join(tree, rel) if rel else tree, FOLDER)
        try:
            kept.folder(os.path.join(here, ""), rel, subdirs, files, (here_fd, kept_fd))
        finally:
            os.close(kept_fd)
    if not kept.files:  # a venv has files (pyvenv.cfg): an empty one is not made again
        raise Stale(f"{venv} holds no file")
    return {"format": FORMAT, "venv": venv, "folders": kept.folders, "links": kept.links}


def write(folder: str, walked: Walked, meta: dict[str, object]) -> None:
    """Write the manifest of what *walked* found, with *meta* kept in it as it is."""
    body = marshal.dumps({**walked, "meta": meta})
    atomic.write_bytes(os.path.join(folder, MANIFEST), hashlib.sha256(body).digest() + body)


class Background:
    """A ``walk`` under way in a helper process; ``result`` waits for what it found.

    A helper is forked only where ``system.forked`` forks its own (Linux, no other thread
    running): this runs after a full apply, which has loaded much more than the replay
    path that ``replica.restore`` forks on. Elsewhere the walk is done at once, in this
    process. The caller calls ``result`` or ``stop``, once.
    """

    __slots__ = ("_pid", "_pipe", "_walked")

    def __init__(self, pid: int | None, pipe: int | None, walked: Walked | None) -> None:
        self._pid, self._pipe, self._walked = pid, pipe, walked

    @classmethod
    def start(cls, venv: str, folder: str, *, skip: frozenset[str]) -> Background:
        """Start the walk of *venv* into *folder* (as ``walk``).

        ``Stale`` or OSError if a walk done at once (no helper) fails.
        """
        from envsync.system import forked  # noqa: PLC0415 - threading: not on the replay path

        if not forked.may_fork():
            return cls(None, None, walk(venv, folder, skip=skip))
        read, written = os.pipe()
        try:
            pid = helper(lambda: _walk_into(written, venv, folder, skip))
        except BaseException:
            os.close(read)
            raise
        finally:
            os.close(written)
        return cls(pid, read, None)

    def result(self) -> Walked:
        """What the walk found, once it has ended; ``Stale`` if it failed."""
        if self._pid is None or self._pipe is None:
            if self._walked is None:
                raise Stale("the walk was stopped")
            return self._walked
        try:
            body = _read_all(self._pipe)
        except BaseException:
            self.stop()
            raise
        pid, self._pid = self._pid, None
        os.close(self._pipe)
        self._pipe = None
        if reap([pid], kill=False) != [0]:
            raise Stale("the helper process could not keep the venv")
        try:
            walked = marshal.loads(body)  # noqa: S302 - written by this process's own fork
        except (EOFError, ValueError, TypeError) as exc:
            raise Stale("the helper process's answer cannot be read") from exc
        if not isinstance(walked, dict):
            raise Stale("the helper process's answer is not a walk")
        return walked

    def stop(self) -> None:
        """Stop the helper, if any, and wait for it: nothing of it runs once this returns."""
        pid, pipe, self._pid, self._pipe, self._walked = self._pid, self._pipe, None, None, None
        if pipe is not None:
            os.close(pipe)
        if pid is not None:
            reap([pid], kill=True)


def _walk_into(out: int, venv: str, folder: str, skip: frozenset[str]) -> None:
    """The helper's work: the walk, its result written to *out* whole."""
    write_all(out, marshal.dumps(walk(venv, folder, skip=skip)))


def _read_all(pipe: int) -> bytes:
    """Everything written to *pipe* until its writer closes it."""
    chunks = []
    while chunk := os.read(pipe, _CHUNK):
        chunks.append(chunk)
    return b"".join(chunks)


class _Kept:
    """What ``capture`` has kept so far: the manifest's folders and links."""

    __slots__ = ("files", "folders", "links")

    def __init__(self) -> None:
        self.folders: list[Folder] = []
        self.links: list[tuple[str, str]] = []
        self.files = 0

    def folder(
        self, here: str, rel: str, subdirs: list[str], names: list[str], fds: tuple[int, int]
    ) -> None:
        """Keep one folder's entries: folders made, files linked, links copied.

        *fds* are the folder's and its kept copy's; a linked folder is taken out of
        *subdirs*, so that the walk does not enter it.
        """
        source, kept = fds
        made: list[str] = []
        files: list[str] = []
        stats = bytearray()
        for name in [*subdirs, *names]:
            found = os.stat(name, dir_fd=source, follow_symlinks=False)
            if stat.S_ISLNK(found.st_mode):
                target = os.readlink(name, dir_fd=source)
                os.symlink(target, name, dir_fd=kept)
                self.links.append((os.path.join(rel, name), target))
                if name in subdirs:
                    subdirs.remove(name)  # a link to a folder is one entry, not walked
            elif stat.S_ISDIR(found.st_mode):
                os.mkdir(name, dir_fd=kept)
                made.append(name)
            elif stat.S_ISREG(found.st_mode):  # the same inode: *found* holds for the kept one
                os.link(name, name, src_dir_fd=source, dst_dir_fd=kept, follow_symlinks=False)
                files.append(name)
                stats += _packed(here + name, found)
            else:
                raise Stale(f"{here}{name} is neither a folder, a file nor a symlink")
        if made or files:
            self.folders.append((rel, "\x00".join(made), "\x00".join(files), bytes(stats)))
            self.files += len(files)


def _packed(path: str, found: os.stat_result) -> bytes:
    """*found*'s inode, size and mtime as the manifest keeps them (``_STATS``)."""
    try:
        return STATS.pack(found.st_ino, found.st_size, found.st_mtime_ns)
    except struct.error as exc:  # a value beyond 64 bits: a system this was not made for
        raise Stale(f"{path} has a stat the manifest cannot hold") from exc
