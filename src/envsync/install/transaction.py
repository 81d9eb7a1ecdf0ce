"""Changes to a venv as one transaction: it ends as it was, or as the plan says. VENV.

``begin`` writes a journal into the venv (``.envsync-txn/journal.json``, written whole,
flushed and renamed into place) that lists every path the venv holds. Then the dists the plan
removes or replaces are moved aside into ``.envsync-txn/old/`` — renames within one
filesystem: instant, and the files stay exactly as they were; a package folder that holds
only the dist's files goes in one rename (``distinfo.in_moves``) — and the installer runs.
``commit`` marks the journal committed, then deletes what was moved aside.

When anything fails first (an error, Ctrl-C, SIGTERM), ``rollback`` deletes every path the
journal does not list and moves the old files back: the venv is what it was. A transaction
that only removes (``removing``) writes nothing into the venv: its journal lists no paths
(``null``), and its rollback only moves the old files back. A run killed
outright (SIGKILL, a power cut) leaves the journal behind; the next run that opens the venv
finds it and rolls back (``recover``), or, if the journal says committed, finishes the
clean-up. Files the install will overwrite (``set_aside``: a kept dist's file that a new
dist also ships) go aside too, and come back on rollback. The venv's own files (interpreter
links, activation scripts, pyvenv.cfg) are copied when the transaction begins; a commit that
finds one changed is refused, and the rollback puts the copy back.
"""

# Paths are strings: a venv holds thousands of files, walked once per transaction.
# ruff: noqa: PTH100, PTH103, PTH112, PTH114, PTH115, PTH116, PTH118, PTH120, PTH123, PTH202, PTH211

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from envsync import interrupt
from envsync.core.names import STATE_NAME, TXN_FOLDER
from envsync.errors import InstallError, VenvError
from envsync.system import atomic, faults, removal
from envsync.venv import safety
from envsync.venv.distinfo import dist_files, dists_by_name, in_moves, prune_empty

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from pathlib import Path

__all__ = ["FOLDER", "Transaction", "applying", "begin", "pending", "recover", "removing"]


#: The transaction's folder inside the venv: the journal and what was moved aside.
FOLDER = TXN_FOLDER
_JOURNAL = "journal.json"
_OLD = "old"
#: Copies of the venv's own files (interpreter links, scripts, pyvenv.cfg), to tell at commit
#: whether an install touched them and to put them back on rollback.
_LAYOUT = "layout"
#: Layout files up to this size are copied; larger ones (an interpreter made with --copies)
#: are hard-linked, which keeps the old bytes because every installer replaces files by
#: unlinking them first.
_COPY_LIMIT = 1 << 20
_FORMAT = 1


@dataclass(slots=True)
class Transaction:
    """An open transaction on the venv at *root*."""

    root: str
    """The venv folder."""
    committed: bool = False
    """Whether the journal says committed: from then on the new state stands, whatever happens."""
    writes: bool = True
    """False when the change only removes: the journal lists no paths, no layout is copied."""

    @property
    def folder(self) -> str:
        """Where its journal and the moved-aside files are."""
        return os.path.join(self.root, FOLDER)

    def move_aside(self, libs: Sequence[Path], names: Iterable[str]) -> None:
        """Move the installed dists called *names* out of the venv, into the journal's keeping.

        An install then finds them gone, a rollback puts them back, a commit deletes them.
        Files reached through a link out of the venv stay where they are: not ours.
        """
        from packaging.utils import canonicalize_name  # noqa: PLC0415 - not on the removal path

        found = dists_by_name(libs)  # the dist-info folders listed once, not once per name
        self.move_dists(found.get(canonicalize_name(name), []) for name in names)

    def move_dists(self, dists: Iterable[Sequence[Path]]) -> None:
        """``move_aside`` for dists given by their dist-info folders, one sequence per dist."""
        owned = removal.Owned.venv(self.root)
        for number, folders in enumerate(dists, start=1):
            for dist_info in folders:
                lib = os.path.abspath(dist_info.parent)
                moves = in_moves(dist_files(dist_info, owned), lib)
                for path in moves:
                    _put_aside(path, owned)
                    faults.reached("moving-aside")
                prune_empty([os.path.dirname(p) for p in moves], lib, owned)
            faults.reached("moved-aside", number)

    def set_aside(self, paths: Iterable[str]) -> None:
        """Move aside the files at *paths* that exist: the install will write its own there.

        They belong to dists the plan keeps (two dists claiming one path: the install wins,
        as with pip); a rollback moves them back, a commit drops them. A folder that does
        not exist is asked about once, not once per file in it.
        """
        owned = removal.Owned.venv(self.root)
        folders: dict[str, bool] = {}
        for path in paths:
            folder = os.path.dirname(path)
            if folder not in folders:
                folders[folder] = os.path.isdir(folder)
            if folders[folder] and os.path.lexists(path) and owned.contains(path):
                _put_aside(path, owned)

    def commit(self) -> None:
        """Keep the new state: mark the journal committed, then drop what was moved aside.

        An install that changed the venv's own files (its interpreter, activation scripts,
        pyvenv.cfg) is refused here, before the commit: the caller rolls back.
        """
        if self.writes:
            _check_layout(self.root)
        faults.reached("before-commit")
        journal = _read_journal(self.folder)
        journal["state"] = "committed"
        _write_journal(self.folder, journal)
        self.committed = True
        faults.reached("committed")
        with interrupt.deferred():  # half a rollback (or clean-up) helps no one
            _finish(self.root)

    def rollback(self) -> None:
        """Put the venv back as the journal found it."""
        _rollback(self.root)


def begin(root: Path, *, writes: bool = True) -> Transaction:
    """Open a transaction on the venv at *root*: its journal is on disk when this returns.

    *writes* False: nothing will be written into the venv, only moved out of it. The journal
    then lists no paths (``null``: an envsync that expects a list refuses it rather than
    delete what it does not list) and the venv's own files are not copied.
    """
    where = os.path.abspath(root)
    folder = os.path.join(where, FOLDER)
    if os.path.lexists(folder):
        recover(root)
    try:
        os.makedirs(folder)
    except OSError as exc:  # nothing changed yet: say why the venv cannot be changed
        raise VenvError(
            f"cannot change {where}: {exc.strerror or exc}",
            hint="make the venv writable by this user (a read-only mount or folder cannot "
            "be synced), then run again",
        ) from exc
    # The no-change path's record of the venv must not vouch for a venv this run may leave
    # half-changed: it goes aside with the old files (back on rollback, gone on commit).
    _put_aside(os.path.join(where, STATE_NAME), removal.Owned.venv(where))
    paths = _walk(where) if writes else None
    _write_journal(folder, {"format": _FORMAT, "state": "open", "paths": paths})
    if writes:
        _save_layout(where)
    return Transaction(where, writes=writes)


@contextlib.contextmanager
def applying(
    root: Path, replaced: Sequence[str], libs: Sequence[Path], writes: Iterable[str] = ()
) -> Iterator[Transaction]:
    """``begin``; move *replaced* and what *writes* overwrites aside; yield; ``commit``.

    Or ``rollback`` on any failure.
    """
    txn = begin(root)
    with _committed(txn):
        txn.move_aside(libs, replaced)
        txn.set_aside(writes)
        yield txn


@contextlib.contextmanager
def removing(root: Path, dists: Sequence[Sequence[Path]]) -> Iterator[Transaction]:
    """``applying`` for a change that only removes *dists* (each dist's dist-info folders).

    Nothing is written into the venv: its journal lists no paths (see ``begin``).
    """
    txn = begin(root, writes=False)
    with _committed(txn):
        txn.move_dists(dists)
        yield txn


@contextlib.contextmanager
def _committed(txn: Transaction) -> Iterator[None]:
    """``commit`` *txn* when the block ends, or ``rollback`` on any failure."""
    try:
        yield
        txn.commit()
    except BaseException:
        with interrupt.deferred():  # half a rollback (or clean-up) helps no one
            if txn.committed:  # the new state stands: only the clean-up is left
                _finish(txn.root)
            else:
                txn.rollback()
        raise


def pending(root: Path) -> bool:
    """Whether a transaction was left open on the venv at *root* (a run was killed)."""
    return os.path.lexists(os.path.join(root, FOLDER))


def recover(root: Path) -> str | None:
    """Finish what a killed run left: roll back, or clean up after a commit. What was done."""
    where = os.path.abspath(root)
    folder = os.path.join(where, FOLDER)
    if not os.path.lexists(folder):
        return None
    try:
        state = _read_journal(folder).get("state")
    except (OSError, ValueError):
        state = None  # killed before its journal was complete: nothing was changed yet
    with interrupt.deferred():  # half a rollback (or clean-up) helps no one
        if state == "committed":
            _finish(where)
            return "finished an apply that was interrupted after it had completed"
        if state == "open":
            _rollback(where)
            return "undid the changes of an apply that was interrupted"
        removal.delete(folder, within=removal.Owned.venv(where))
    return "removed what an apply that was interrupted before it changed anything left"


# -- the work -------------------------------------------------------------------------------


def _rollback(root: str) -> None:
    folder = os.path.join(root, FOLDER)
    try:
        listed = _journal_paths(folder)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VenvError(
            f"cannot undo the interrupted changes to {root}: its journal is unreadable ({exc})",
            hint=f"delete {root} and run `envsync apply` to make it again",
        ) from exc
    owned = removal.Owned.venv(root)
    if listed is not None:  # None: a removal, which wrote nothing new into the venv
        _remove_new(owned, {str(path) for path in listed})
    for kept in (_OLD, _LAYOUT):
        saved = os.path.join(folder, kept)
        for path in _files_under(saved):
            removal.move(path, os.path.join(root, os.path.relpath(path, saved)), within=owned)
    removal.delete(folder, within=owned)


def _put_aside(path: str, owned: removal.Owned) -> None:
    """Move *path* of the venv *owned* into the journal's keeping, at the same place in old/."""
    aside = os.path.join(owned.root, FOLDER, _OLD, os.path.relpath(path, owned.root))
    removal.move(path, aside, within=owned)


def _save_layout(root: str) -> None:
    """Keep a copy of each of the venv's own files in the transaction's folder."""
    import shutil  # noqa: PLC0415 - a removal copies no layout (the fast path skips it)

    saved = os.path.join(root, FOLDER, _LAYOUT)
    for relative in safety.layout_files(root):
        source, copy = os.path.join(root, relative), os.path.join(saved, relative)
        os.makedirs(os.path.dirname(copy), exist_ok=True)
        if os.path.islink(source):
            os.symlink(os.readlink(source), copy)
        elif os.path.getsize(source) <= _COPY_LIMIT:
            shutil.copy2(source, copy)
        else:
            os.link(source, copy)


def _check_layout(root: str) -> None:
    """Raise if a file of the venv's own layout is not as ``_save_layout`` found it."""
    saved = os.path.join(root, FOLDER, _LAYOUT)
    before = set(_relative_files(saved))
    now = set(safety.layout_files(root))
    changed = sorted(
        (before ^ now) | {r for r in before & now if not _same(os.path.join(saved, r), root, r)}
    )
    if changed:
        raise InstallError(
            f"installing would change the venv's own {', '.join(changed)} in {root}: a package "
            "tried to overwrite its interpreter, activation scripts or pyvenv.cfg",
            hint="do not install that package into a venv (report it to its authors)",
        )


def _same(copy: str, root: str, relative: str) -> bool:
    now = os.path.join(root, relative)
    if os.path.islink(copy) or os.path.islink(now):
        both = os.path.islink(now) and os.path.islink(copy)
        return both and os.readlink(now) == os.readlink(copy)
    first, second = os.stat(copy), os.stat(now)
    if first.st_ino == second.st_ino and first.st_dev == second.st_dev:
        return True
    if first.st_size != second.st_size or first.st_size > _COPY_LIMIT:
        return False
    with open(copy, "rb") as a, open(now, "rb") as b:
        return a.read() == b.read()


def _relative_files(folder: str) -> list[str]:
    return [_key(folder, path) for path in _files_under(folder)]


def _journal_paths(folder: str) -> list[object] | None:
    paths = _read_journal(folder)["paths"]
    if paths is not None and not isinstance(paths, list):
        raise TypeError("the journal has no list of paths")
    return paths


def _finish(root: str) -> None:
    owned = removal.Owned.venv(root)
    folder = os.path.join(root, FOLDER)
    with contextlib.suppress(OSError):  # the old files go even if one of them resists
        removal.delete(os.path.join(folder, _OLD), within=owned)
    removal.delete(folder, within=owned)


def _remove_new(owned: removal.Owned, before: set[str]) -> None:
    """Delete every file, link and folder in the venv that is not in *before*."""
    root = owned.root
    for folder, dirs, files in os.walk(root, topdown=False):
        relative = os.path.relpath(folder, root)
        if relative == FOLDER or relative.startswith(FOLDER + os.sep):
            continue
        if folder == root:
            dirs = [d for d in dirs if d != FOLDER]  # noqa: PLW2901 - its own copy
        for name in files:
            path = os.path.join(folder, name)
            if _key(root, path) not in before:
                removal.delete(path, within=owned)
        for name in dirs:
            path = os.path.join(folder, name)
            if os.path.islink(path) and _key(root, path) not in before:
                removal.delete(path, within=owned)
            elif _key(root, path) + "/" not in before and os.path.isdir(path):
                removal.delete_empty_folder(path, within=owned)  # not empty: we keep something


def _walk(root: str) -> list[str]:
    """Every path under *root* but the transaction's folder: files as ``a/b``, folders ``a/``.

    scandir's entries know their type without a stat call: a venv of 6,000 files is listed
    in a few milliseconds.
    """
    found: list[str] = []
    todo = [("", root)]
    while todo:
        prefix, folder = todo.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if not prefix and entry.name == FOLDER:
                    continue
                key = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    found.append(key + "/")
                    todo.append((key + "/", entry.path))
                else:
                    found.append(key)
    return found


def _key(root: str, path: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def _files_under(folder: str) -> Iterator[str]:
    for parent, dirs, files in os.walk(folder):
        yield from (os.path.join(parent, name) for name in files)
        yield from (
            os.path.join(parent, d) for d in dirs if os.path.islink(os.path.join(parent, d))
        )


def _read_journal(folder: str) -> dict[str, object]:
    with open(os.path.join(folder, _JOURNAL), encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        raise ValueError("not a journal envsync wrote")
    return data


def _write_journal(folder: str, journal: dict[str, object]) -> None:
    """Write the journal whole: a temporary file, flushed to disk, renamed over the old one."""
    atomic.write_bytes(os.path.join(folder, _JOURNAL), json.dumps(journal).encode())
