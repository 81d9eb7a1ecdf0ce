"""A venv kept in the cache as hard links, and a new venv made again from it. FILES.

After an apply that created a venv, ``capture`` links every file of that venv into a folder
of envsync's cache and writes a manifest: the folders, the files with the inode, size and
mtime each had, and the symlinks. A later apply of the same inputs into the same (missing)
venv needs no resolver, no lock parsing and no installer: ``restore`` checks each kept file
against the manifest and links it into a new folder, which the caller renames into place.
Every file stays one inode shared with the cache, as the installer's own links are.

Any doubt is a ``Stale`` replica, never a wrong venv: a manifest whose own sha256 does not
match, a kept file whose inode, size or mtime changed (edited in place through a venv that
shares it, or replaced), a missing one. The manifest is ``marshal`` data (the running Python
wrote it; the caller's key names that Python), written whole or not at all.

Only the standard library, and only what this needs: it runs on the start-up path.
"""

# ruff: noqa: PTH102, PTH115, PTH118, PTH123, PTH211
# os.path and os, not pathlib: thousands of files, on the start-up path.
from __future__ import annotations

import hashlib
import marshal
import os
import stat

from envsync.system import atomic

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from collections.abc import Sequence
    from threading import Event

__all__ = ["FORMAT", "Replica", "Stale", "capture", "load", "restore"]

#: The manifest's layout; a manifest of another format is not read.
FORMAT = 1
#: Where the kept tree and its manifest are, inside a replica's folder.
TREE, MANIFEST = "venv", "manifest"
_DIGEST = 32
_KEYS = ("venv", "dirs", "files", "links", "meta")


class Stale(Exception):  # noqa: N818 - a state, as ``Timeout`` is
    """The replica no longer holds what its manifest says: it must not be used."""


class Replica:
    """A manifest read back: what ``restore`` makes, and what the caller kept with it."""

    __slots__ = ("dirs", "files", "links", "meta", "venv")

    def __init__(self, data: object) -> None:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise Stale("another format")
        venv, dirs, files, links, meta = (data.get(k) for k in _KEYS)
        if not (
            isinstance(venv, str)
            and isinstance(dirs, list)
            and isinstance(files, list)
            and isinstance(links, list)
            and isinstance(meta, dict)
        ):
            raise Stale("the manifest is not complete")
        self.venv: str = venv
        self.dirs: list[str] = dirs
        self.files: list[tuple[str, int, int, int]] = files
        self.links: list[tuple[str, str]] = links
        self.meta: dict[str, object] = meta


def capture(venv: str, folder: str, *, skip: frozenset[str], meta: dict[str, object]) -> None:
    """Keep *venv* in *folder* (new, made by the caller): its files linked, its manifest.

    *skip* are names at the venv's top that are not kept (its state file). *meta* is kept
    in the manifest as it is. A venv holding anything but folders, files and symlinks
    raises ``Stale`` (nothing would be made again from it).
    """
    tree = os.path.join(folder, TREE)
    os.mkdir(tree)
    dirs: list[str] = []
    files: list[tuple[str, int, int, int]] = []
    links: list[tuple[str, str]] = []
    for here, subdirs, names in os.walk(venv):  # followlinks is False: a link is kept as one
        rel = os.path.relpath(here, venv)
        rel = "" if rel == "." else rel
        if not rel:
            subdirs[:] = [d for d in subdirs if d not in skip]
        for name in subdirs + [n for n in names if rel or n not in skip]:
            source, path = os.path.join(here, name), os.path.join(rel, name)
            found = os.lstat(source)
            if stat.S_ISLNK(found.st_mode):
                target = os.readlink(source)
                os.symlink(target, os.path.join(tree, path))
                links.append((path, target))
                if name in subdirs:
                    subdirs.remove(name)  # a link to a folder is one entry, not walked
            elif stat.S_ISDIR(found.st_mode):
                os.mkdir(os.path.join(tree, path))
                dirs.append(path)
            elif stat.S_ISREG(found.st_mode):
                os.link(source, os.path.join(tree, path))  # the same inode: *found* holds
                files.append((path, found.st_ino, found.st_size, found.st_mtime_ns))
            else:
                raise Stale(f"{source} is neither a folder, a file nor a symlink")
    data = {"format": FORMAT, "venv": venv, "dirs": dirs, "files": files, "links": links}
    body = marshal.dumps({**data, "meta": meta})
    atomic.write_bytes(os.path.join(folder, MANIFEST), hashlib.sha256(body).digest() + body)


def load(folder: str) -> Replica:
    """The manifest in *folder*, checked against its own hash; ``Stale`` if it fails."""
    with open(os.path.join(folder, MANIFEST), "rb") as fh:
        raw = fh.read()
    digest, body = raw[:_DIGEST], raw[_DIGEST:]
    if hashlib.sha256(body).digest() != digest:
        raise Stale("the manifest does not match its hash")
    try:
        data = marshal.loads(body)  # noqa: S302 - envsync's own file, its hash checked
    except (EOFError, ValueError, TypeError) as exc:
        raise Stale("the manifest cannot be read") from exc
    return Replica(data)


def restore(replica: Replica, folder: str, into: str, *, workers: int = 1) -> None:
    """Fill *into* (new and empty, made by the caller) from the replica kept in *folder*.

    Each kept file is checked against the manifest before it is linked; a difference
    raises ``Stale`` and the caller deletes *into*. A large venv is linked by up to
    *workers* threads (the time is in the link and stat system calls, which run without
    the GIL: 0.67 s by one thread, 0.38 s by two, for the 59,000 files of the benchmark's
    huge set).
    """
    everything = [*replica.dirs, *(f[0] for f in replica.files), *(k[0] for k in replica.links)]
    if not _all_inside(everything):
        raise Stale("the manifest names a path outside the venv")
    tree, into = os.path.join(folder, TREE) + os.sep, into + os.sep
    try:
        for path in replica.dirs:
            os.mkdir(into + path)
        if workers > 1 and len(replica.files) >= PARALLEL_FROM:
            _link_in_parallel(replica.files, tree, into, workers)
        else:
            _link(replica.files, tree, into, None)
        for path, target in replica.links:
            os.symlink(target, into + path)
    except FileNotFoundError as exc:
        raise Stale(f"{exc.filename} is gone") from exc
    except (ValueError, TypeError) as exc:  # entries of the wrong shape: written by a bug
        raise Stale("the manifest is not complete") from exc


#: From how many files a restore is worth the threads (starting them costs ~3 ms).
PARALLEL_FROM = 4096


def _link(
    files: Sequence[tuple[str, int, int, int]], tree: str, into: str, stop: Event | None
) -> None:
    """Check and link *files*; paths joined as strings: this runs once per file of a venv.

    *stop* (a ``threading.Event``, or None) ends the loop early when another thread failed.
    """
    lstat, link = os.lstat, os.link
    for path, ino, size, mtime in files:
        if stop is not None and stop.is_set():
            return
        now = lstat(tree + path)
        if now.st_ino != ino or now.st_size != size or now.st_mtime_ns != mtime:
            raise Stale(f"{tree + path} changed since it was kept")
        link(tree + path, into + path)


def _link_in_parallel(
    files: Sequence[tuple[str, int, int, int]], tree: str, into: str, workers: int
) -> None:
    """``_link`` over *workers* contiguous shares of *files* (mostly different folders).

    Every thread has ended before this returns or raises, so that the caller may delete
    *into* (an interruption here waits for them too): the first error is raised.
    """
    import threading  # noqa: PLC0415 - only for a large venv

    stop, errors = threading.Event(), []

    def work(share: Sequence[tuple[str, int, int, int]]) -> None:
        try:
            _link(share, tree, into, stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            errors.append(exc)
            stop.set()

    size = -(-len(files) // workers)
    threads = [
        threading.Thread(target=work, args=(files[start : start + size],), daemon=True)
        for start in range(0, len(files), size)
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]


#: What no path inside a folder holds, among paths joined (and framed) by NUL, which no path
#: holds either: an empty or absolute path, a ``..`` component. Plain substring searches:
#: one pass each over the whole manifest.
_OUTSIDE = ("\x00\x00", "\x00/", "\x00../", "/../", "/..\x00", "\x00..\x00")


def _all_inside(paths: Sequence[object]) -> bool:
    """Whether every one of *paths* stays inside the folder it is joined to."""
    strings = [path for path in paths if isinstance(path, str)]
    if len(strings) != len(paths):
        return False
    framed = "\x00" + "\x00".join(strings) + "\x00"
    return not strings or not any(mark in framed for mark in _OUTSIDE)
