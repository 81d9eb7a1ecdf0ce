"""A venv kept in the cache as hard links, and a new venv made again from it. FILES.

After an apply that created a venv, ``replicacapture`` links every file of that venv into a
folder of envsync's cache and writes a manifest: the folders, the files with the inode, size and
mtime each had, and the symlinks. A later apply of the same inputs into the same (missing)
venv needs no resolver, no lock parsing and no installer: ``restore`` checks each kept file
against the manifest and links it into a new folder, which the caller renames into place.
Every file stays one inode shared with the cache, as the installer's own links are.

Any doubt is a ``Stale`` replica, never a wrong venv: a manifest whose own sha256 does not
match, a kept file whose inode, size or mtime changed (edited in place through a venv that
shares it, or replaced), a missing one. The manifest is ``marshal`` data (the running Python
wrote it; the caller's key names that Python), written whole or not at all. It holds one
row per folder, not one per file: its folders' and files' names each joined in one string,
its files' stats packed in one bytes object. A huge venv's 59,000 files and 11,700 folders
read back in 4 ms rather than 22 ms (a quarter of a million objects fewer to make), and
each folder's folders are made relative to it, by the process that links its files.

Only the standard library, and only what this needs: it runs on the start-up path.
"""

# ruff: noqa: PTH118, PTH123, PTH211
# os.path and os, not pathlib: thousands of files, on the start-up path.
from __future__ import annotations

import hashlib
import marshal
import os
import signal
import struct
import sys
from functools import partial

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Sequence

    Folder = tuple[str, str, str, bytes]
    """A folder of the venv (``""``: its top), its folders' and its files' names (each
    joined by NUL, ``""`` for none), and its files' inode, size and mtime (``STATS``)."""

__all__ = [
    "DONE",
    "FAILED",
    "FORMAT",
    "STATS",
    "Replica",
    "Stale",
    "helper",
    "load",
    "may_fork",
    "reap",
    "restore",
]

#: The manifest's layout; a manifest of another format is not read (1: files one by one;
#: 2: a row per file).
FORMAT = 3
#: Where the kept tree and its manifest are, inside a replica's folder.
TREE, MANIFEST = "venv", "manifest"
_DIGEST = 32
_KEYS = ("venv", "folders", "links", "meta")
#: A kept file's inode, size and mtime (ns), packed: the inode unsigned, as the system's is.
STATS = struct.Struct("=Qqq")


class Stale(Exception):  # noqa: N818 - a state, as ``Timeout`` is
    """The replica no longer holds what its manifest says: it must not be used."""


class Replica:
    """A manifest read back: what ``restore`` makes, and what the caller kept with it."""

    __slots__ = ("folders", "links", "meta", "venv")

    def __init__(self, data: object) -> None:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise Stale("another format")
        venv, folders, links, meta = (data.get(k) for k in _KEYS)
        if not (
            isinstance(venv, str)
            and isinstance(folders, list)
            and isinstance(links, list)
            and isinstance(meta, dict)
        ):
            raise Stale("the manifest is not complete")
        self.venv: str = venv
        self.folders: list[Folder] = folders
        """Each folder holding anything, in the order a walk from the top meets them (a
        folder after the one holding it): what is made and linked in it (``Folder``)."""
        self.links: list[tuple[str, str]] = links
        self.meta: dict[str, object] = meta


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
    raises ``Stale`` and the caller deletes *into*. A large venv is made by up to *workers*
    processes (see ``_link_in_processes``).
    """
    tree, into = os.path.join(folder, TREE) + os.sep, into + os.sep
    try:
        if not RELATIVE:
            raise Stale("this system cannot name files relative to a folder")
        if not _all_inside(replica):
            raise Stale("the manifest names a path outside the venv")
        folders = replica.folders
        weights = list(map(_weight, folders))
        if workers > 1 and sum(weights) >= PARALLEL_FROM and may_fork():
            _link_in_processes(folders, tree, into, workers=workers, weights=weights)
        else:
            _link(folders, tree, into, frozenset())
        for path, target in replica.links:
            os.symlink(target, into + path)
    except FileNotFoundError as exc:
        raise Stale(f"{exc.filename} is gone") from exc
    except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
        # *into* is new and only this fills it: the manifest names a path twice, or a file
        # as a folder.
        raise Stale("the manifest does not hold together") from exc
    except (ValueError, TypeError, IndexError, struct.error) as exc:  # rows of the wrong shape
        raise Stale("the manifest is not complete") from exc


#: From how many files and folders a restore is worth helper processes (forking one costs
#: ~1 ms).
PARALLEL_FROM = 4096


def _weight(row: Folder) -> int:
    """How many files and folders *row* makes: what its share of a restore costs."""
    subdirs, stats = row[1], row[3]
    return len(stats) // STATS.size + (subdirs.count("\x00") + 1 if subdirs else 0)


def _link(rows: Sequence[Folder], tree: str, into: str, made: Collection[str]) -> None:
    """Make the folders and check and link the files of *rows*: once per file, so lean.

    Each folder is opened once, on both sides; its folders are made and its files checked
    and linked by name relative to it: that spares the kernel walking each whole path twice
    per file, a third of the time (0.58-0.67 s -> 0.39 s for the huge set's 59,000 files,
    tmpfs). The folders of the rows in *made* are there already (``_make_shared``).
    """
    stat, link, open_, close, mkdir = os.stat, os.link, os.open, os.close, os.mkdir
    unpack = STATS.iter_unpack
    for head, subdirs, names, stats in rows:
        target = open_(into + head, FOLDER)
        try:
            if subdirs and head not in made:
                for name in subdirs.split("\x00"):
                    mkdir(name, dir_fd=target)
            if not names:
                continue
            source = open_(tree + head, FOLDER)
            try:
                for name, (ino, size, mtime) in zip(
                    names.split("\x00"), unpack(stats), strict=True
                ):
                    now = stat(name, dir_fd=source, follow_symlinks=False)
                    if now.st_ino != ino or now.st_size != size or now.st_mtime_ns != mtime:
                        raise Stale(f"{tree}{head}/{name} changed since it was kept")
                    link(name, name, src_dir_fd=source, dst_dir_fd=target, follow_symlinks=False)
            finally:
                close(source)
        finally:
            close(target)


#: Folders opened only to name the files in them (O_PATH where the system has it).
FOLDER = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_PATH", 0)
#: Whether files can be named relative to an open folder here, as capture and restore do.
RELATIVE = {os.open, os.stat, os.link, os.mkdir, os.symlink, os.readlink} <= os.supports_dir_fd
#: A helper process's exit codes: its work done; failed (a kept file changed or gone, say).
DONE, FAILED = 0, 3


def may_fork() -> bool:
    """Whether this process may fork helpers: it can, and runs no other thread to copy."""
    threading = sys.modules.get("threading")
    alone = threading is None or threading.active_count() == 1
    return alone and hasattr(os, "fork")


def _link_in_processes(
    rows: Sequence[Folder], tree: str, into: str, *, workers: int, weights: Sequence[int]
) -> None:
    """``_link`` over *workers* shares of *rows*: this process does one, forked ones the rest.

    Processes, not threads: each mkdir, link and stat is a short system call, and threads
    hand the GIL back and forth around every one of them (two threads were slower than one).
    Two processes link the huge set in 0.21 s where one takes 0.39 s. The folders that more
    than one share needs are made here first (``_make_shared``). Every helper has ended
    before this returns or raises, so that the caller may delete *into*; a helper that found
    a kept file changed (or any failure here) raises ``Stale`` once all have ended.
    """
    shares = _shares(rows, workers, weights)
    made = _make_shared(rows, shares, into)
    children: list[int] = []
    try:
        for share in shares[1:]:
            children.append(helper(partial(_link, share, tree, into, made)))  # noqa: PERF401
        _link(shares[0], tree, into, made)
    except BaseException:
        reap(children, kill=True)  # the caller deletes *into*: the helpers stop first
        raise
    if any(code != DONE for code in reap(children, kill=False)):
        raise Stale("a helper process could not link its share (a kept file changed or gone)")


def _make_shared(rows: Sequence[Folder], shares: Sequence[Sequence[Folder]], into: str) -> set[str]:
    """Make the folders of the rows holding a later share's first folder; those rows' heads.

    A row's folders are made by the process of its share, and a walk from the top meets a
    folder before anything in it: a folder in one share that another needs holds that
    other share's first folder. This makes the folders of each such row (the top, lib/,
    site-packages/: a few), in the walk's order, before any helper starts.
    """
    holding: set[str] = set()
    for share in shares[1:]:
        parts = share[0][0].split("/") if share and share[0][0] else []
        holding.update("/".join(parts[:end]) for end in range(len(parts)))
    for head, subdirs, _, _ in rows:
        if head in holding and subdirs:
            target = os.open(into + head, FOLDER)
            try:
                for name in subdirs.split("\x00"):
                    os.mkdir(name, dir_fd=target)
            finally:
                os.close(target)
    return holding


#: The signals held back around a fork: a Ctrl-C or SIGTERM raised in the child before it is
#: inside its ``try`` would run the caller's code there, and one raised in this process
#: before it has the child's pid would leave that child unknown.
_HELD = frozenset({signal.SIGINT, signal.SIGTERM})


def helper(work: Callable[[], object]) -> int:
    """Start a helper process that runs *work* and exits; its pid (where ``may_fork``).

    It exits ``DONE``, or ``FAILED`` if *work* raised.
    """
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        pid = os.fork()
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        raise
    if pid == 0:  # the helper: its work, then out, never back into the caller's code
        code = FAILED
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            work()
            code = DONE
        finally:
            os._exit(code)
    signal.pthread_sigmask(signal.SIG_SETMASK, held)  # the caller has the pid before a signal
    return pid


def reap(children: list[int], *, kill: bool) -> list[int]:
    """Wait for every helper (killed first with *kill*) and return their exit codes.

    Interrupted while waiting (a SIGTERM), it kills and waits for the rest before raising:
    no helper outlives the call.
    """
    codes: list[int] = []
    pending = list(children)
    try:
        if kill:
            for pid in pending:
                os.kill(pid, signal.SIGKILL)
        while pending:
            codes.append(os.waitstatus_to_exitcode(os.waitpid(pending[0], 0)[1]))
            pending.pop(0)
    except BaseException:
        for pid in pending:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        raise
    return codes


def _shares(rows: Sequence[Folder], count: int, weights: Sequence[int]) -> list[list[Folder]]:
    """*rows* cut into *count* runs of about as much of their *weights* (``_weight``) each.

    The first run may be empty.
    """
    shares: list[list[Folder]] = [[] for _ in range(count)]
    total, done = max(sum(weights), 1), 0
    for row, weight in zip(rows, weights, strict=True):
        shares[min(done * count // total, count - 1)].append(row)
        done += weight
    return shares


#: What no path inside a folder holds, among paths joined (and framed) by NUL, which no path
#: holds either: an empty or absolute path, an empty component; nor a ``.`` or ``..``
#: component (``_dot_component``). Plain substring searches: one pass each over the manifest.
_OUTSIDE = ("\x00\x00", "\x00/", "//")
#: And what no file name holds: a separator, an empty name (nor ``.`` or ``..``).
_NOT_A_NAME = ("/", "\x00\x00")


def _all_inside(replica: Replica) -> bool:
    """Whether every path of *replica* stays inside the folder it is joined to.

    Each row's names are one NUL-joined string: joined again, they read as all the names.
    """
    rows = replica.folders
    paths = [row[0] for row in rows if row[0]]
    paths += [link[0] for link in replica.links]
    names = [joined for row in rows for joined in row[1:3] if joined]
    return _framed_clear(paths, _OUTSIDE) and _framed_clear(names, _NOT_A_NAME)


def _framed_clear(strings: Sequence[object], marks: Sequence[str]) -> bool:
    """Whether *strings* are all strings, with none of *marks* in them framed by NUL.

    Nor a component that is ``.`` or ``..``.
    """
    try:
        framed = "\x00" + "\x00".join(strings) + "\x00"  # type: ignore[arg-type]
    except TypeError:  # not all strings
        return False
    return not strings or not (any(mark in framed for mark in marks) or _dot_component(framed))


def _dot_component(framed: str) -> bool:
    """Whether a component of the NUL-framed paths *framed* is ``.`` or ``..``.

    Only where a component starts with a dot, which a venv's paths seldom have: one pass
    for each way a component starts, instead of one for each dotted mark (the huge set's
    21,000 paths: 12 ms -> 6 ms).
    """
    for start in ("/.", "\x00."):
        at = framed.find(start)
        while at != -1:
            after = framed[at + 2 : at + 4]  # framed ends with NUL: a dot is never last
            if after[:1] in _ENDS or (after[:1] == "." and after[1:] in _ENDS):
                return True
            at = framed.find(start, at + 1)
    return False


#: What ends a component among NUL-framed paths.
_ENDS = ("/", "\x00")
