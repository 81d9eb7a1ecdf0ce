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

# ruff: noqa: PTH102, PTH118, PTH123, PTH211
# os.path and os, not pathlib: thousands of files, on the start-up path.
from __future__ import annotations

import hashlib
import marshal
import os
import signal
import stat
import sys

from envsync.system import atomic

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from collections.abc import Sequence

    Entry = tuple[str, int, int, int]
    """A kept file: its name in its folder, and its inode, size and mtime."""
    Group = tuple[str, Sequence[Entry]]
    """A folder of the venv (``""``: its top) and its files."""

__all__ = ["FORMAT", "Replica", "Stale", "capture", "load", "restore"]

#: The manifest's layout; a manifest of another format is not read (1: files one by one).
FORMAT = 2
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
        self.files: list[tuple[str, list[Entry]]] = files
        """Each folder with files (``""``: the venv's own), and each file's name, inode,
        size and mtime: a folder's files together, as they are linked."""
        self.links: list[tuple[str, str]] = links
        self.meta: dict[str, object] = meta


def capture(venv: str, folder: str, *, skip: frozenset[str], meta: dict[str, object]) -> None:
    """Keep *venv* in *folder* (new, made by the caller): its files linked, its manifest.

    *skip* are names at the venv's top that are not kept (its state file). *meta* is kept
    in the manifest as it is. A venv holding anything but folders, files and symlinks
    raises ``Stale`` (nothing would be made again from it), as does a system that cannot
    name files relative to an open folder (``restore`` needs that too). Each folder is
    opened once on both sides, and its entries are read and linked by name, as ``_link``
    does: this runs for every file of a venv an apply has just made.
    """
    if not _RELATIVE:
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
        kept_fd = os.open(os.path.join(tree, rel) if rel else tree, _FOLDER)
        try:
            kept.folder(os.path.join(here, ""), rel, subdirs, files, (here_fd, kept_fd))
        finally:
            os.close(kept_fd)
    if not kept.files:  # a venv has files (pyvenv.cfg): an empty one is not made again
        raise Stale(f"{venv} holds no file")
    data = {"format": FORMAT, "venv": venv, "dirs": kept.dirs, "files": kept.files}
    body = marshal.dumps({**data, "links": kept.links, "meta": meta})
    atomic.write_bytes(os.path.join(folder, MANIFEST), hashlib.sha256(body).digest() + body)


class _Kept:
    """What ``capture`` has kept so far: the manifest's folders, files and links."""

    __slots__ = ("dirs", "files", "links")

    def __init__(self) -> None:
        self.dirs: list[str] = []
        self.files: list[tuple[str, list[Entry]]] = []
        self.links: list[tuple[str, str]] = []

    def folder(
        self, here: str, rel: str, subdirs: list[str], names: list[str], fds: tuple[int, int]
    ) -> None:
        """Keep one folder's entries: folders made, files linked, links copied.

        *fds* are the folder's and its kept copy's; a linked folder is taken out of
        *subdirs*, so that the walk does not enter it.
        """
        source, kept = fds
        entries: list[Entry] = []
        for name in [*subdirs, *names]:
            path = os.path.join(rel, name)
            found = os.stat(name, dir_fd=source, follow_symlinks=False)
            if stat.S_ISLNK(found.st_mode):
                target = os.readlink(name, dir_fd=source)
                os.symlink(target, name, dir_fd=kept)
                self.links.append((path, target))
                if name in subdirs:
                    subdirs.remove(name)  # a link to a folder is one entry, not walked
            elif stat.S_ISDIR(found.st_mode):
                os.mkdir(name, dir_fd=kept)
                self.dirs.append(path)
            elif stat.S_ISREG(found.st_mode):  # the same inode: *found* holds for the kept one
                os.link(name, name, src_dir_fd=source, dst_dir_fd=kept, follow_symlinks=False)
                entries.append((name, found.st_ino, found.st_size, found.st_mtime_ns))
            else:
                raise Stale(f"{here}{name} is neither a folder, a file nor a symlink")
        if entries:
            self.files.append((rel, entries))


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
    *workers* processes (see ``_link_in_processes``).
    """
    tree, into = os.path.join(folder, TREE) + os.sep, into + os.sep
    try:
        if not _RELATIVE:
            raise Stale("this system cannot name files relative to a folder")
        if not _all_inside(replica):
            raise Stale("the manifest names a path outside the venv")
        for path in replica.dirs:
            os.mkdir(into + path)
        count = sum(len(entries) for _, entries in replica.files)
        if workers > 1 and count >= PARALLEL_FROM and _may_fork():
            _link_in_processes(replica.files, tree, into, workers=workers, files=count)
        else:
            _link(replica.files, tree, into)
        for path, target in replica.links:
            os.symlink(target, into + path)
    except FileNotFoundError as exc:
        raise Stale(f"{exc.filename} is gone") from exc
    except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
        # *into* is new and only this fills it: the manifest names a path twice, or a file
        # as a folder.
        raise Stale("the manifest does not hold together") from exc
    except (ValueError, TypeError, IndexError) as exc:  # entries of the wrong shape
        raise Stale("the manifest is not complete") from exc


#: From how many files a restore is worth helper processes (forking one costs ~1 ms).
PARALLEL_FROM = 4096


def _link(groups: Sequence[Group], tree: str, into: str) -> None:
    """Check and link the files of *groups*; this runs once per file of a venv, so it is lean.

    Each folder is opened once, on both sides, and its files are checked and linked by name
    relative to it: that spares the kernel walking each whole path twice per file, a third
    of the time (0.58-0.67 s -> 0.39 s for the huge set's 59,000 files, tmpfs).
    """
    stat, link, open_, close = os.stat, os.link, os.open, os.close
    for head, entries in groups:
        source = open_(tree + head, _FOLDER)
        try:
            target = open_(into + head, _FOLDER)
            try:
                for name, ino, size, mtime in entries:
                    now = stat(name, dir_fd=source, follow_symlinks=False)
                    if now.st_ino != ino or now.st_size != size or now.st_mtime_ns != mtime:
                        raise Stale(f"{tree}{head}/{name} changed since it was kept")
                    link(name, name, src_dir_fd=source, dst_dir_fd=target, follow_symlinks=False)
            finally:
                close(target)
        finally:
            close(source)


#: Folders opened only to name the files in them (O_PATH where the system has it).
_FOLDER = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_PATH", 0)
#: Whether files can be named relative to an open folder here, as capture and restore do.
_RELATIVE = {os.open, os.stat, os.link, os.mkdir, os.symlink, os.readlink} <= os.supports_dir_fd
#: A helper process's exit codes: linked its share, found a kept file changed or gone.
_LINKED, _STALE = 0, 3


def _may_fork() -> bool:
    """Whether this process may fork helpers: it can, and runs no other thread to copy."""
    threading = sys.modules.get("threading")
    alone = threading is None or threading.active_count() == 1
    return alone and hasattr(os, "fork")


def _link_in_processes(
    groups: Sequence[Group], tree: str, into: str, *, workers: int, files: int
) -> None:
    """``_link`` over *workers* shares of *groups*: this process links one, forked ones the rest.

    Processes, not threads: each link and stat is a short system call, and threads hand the
    GIL back and forth around every one of them (two threads were slower than one). Two
    processes link the huge set in 0.21 s where one takes 0.39 s. Every helper has ended
    before this returns or raises, so that the caller may delete *into*; a helper that found
    a kept file changed (or any failure here) raises ``Stale`` once all have ended.
    """
    shares = _shares(groups, workers, files)
    children: list[int] = []
    try:
        for share in shares[1:]:
            children.append(_fork(share, tree, into))  # noqa: PERF401 - one by one: each is known
        _link(shares[0], tree, into)
    except BaseException:
        _reap(children, kill=True)  # the caller deletes *into*: the helpers stop first
        raise
    if any(code != _LINKED for code in _reap(children, kill=False)):
        raise Stale("a helper process could not link its share (a kept file changed or gone)")


#: The signals held back around a fork: a Ctrl-C or SIGTERM raised in the child before it is
#: inside its ``try`` would run the caller's code there, and one raised in this process
#: before it has the child's pid would leave that child unknown.
_HELD = frozenset({signal.SIGINT, signal.SIGTERM})


def _fork(share: Sequence[Group], tree: str, into: str) -> int:
    """Start a helper that links *share* and exits (``_LINKED`` or ``_STALE``); its pid."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        pid = os.fork()
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        raise
    if pid == 0:  # the helper: its share, then out, never back into the caller's code
        code = _STALE
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            _link(share, tree, into)
            code = _LINKED
        finally:
            os._exit(code)
    signal.pthread_sigmask(signal.SIG_SETMASK, held)  # the caller has the pid before a signal
    return pid


def _reap(children: list[int], *, kill: bool) -> list[int]:
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


def _shares(groups: Sequence[Group], count: int, files: int) -> list[list[Group]]:
    """*groups* cut into *count* runs of about as many of their *files* each.

    The first run may be empty.
    """
    shares: list[list[Group]] = [[] for _ in range(count)]
    done = 0
    for group in groups:
        shares[min(done * count // max(files, 1), count - 1)].append(group)
        done += len(group[1])
    return shares


#: What no path inside a folder holds, among paths joined (and framed) by NUL, which no path
#: holds either: an empty or absolute path, an empty component; nor a ``.`` or ``..``
#: component (``_dot_component``). Plain substring searches: one pass each over the manifest.
_OUTSIDE = ("\x00\x00", "\x00/", "//")
#: And what no file name holds: a separator, an empty name (nor ``.`` or ``..``).
_NOT_A_NAME = ("/", "\x00\x00")


def _all_inside(replica: Replica) -> bool:
    """Whether every path of *replica* stays inside the folder it is joined to."""
    folders = [head for head, _ in replica.files if head]
    paths = [*replica.dirs, *folders, *(k[0] for k in replica.links)]
    names = [entry[0] for _, entries in replica.files for entry in entries]
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
