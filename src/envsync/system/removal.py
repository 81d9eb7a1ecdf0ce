"""The one place envsync deletes, moves or renames over anything. FILES.

envsync deletes only what it owns: the venv it manages, its cache, and the temporary folders
and files it makes. Every deletion in src/ comes here (tests/test_removal_guard.py fails when
another module calls rmtree, unlink, rename or the like), and here it is checked:

* the path must lie strictly inside an ``Owned`` folder, whose kind says why it is ours: a
  venv (it holds ``pyvenv.cfg``), the cache, a folder this run made (``make_folder``) or a
  temporary folder (``temporary_folder``); or it is a file named as only envsync names its
  files (the atomic writer's ``.<name>.<pid>.<random>.tmp``, the venv lock's
  ``.<venv>.envsync.lock.json``);
* no symlink is followed: a path whose folder is reached through a link that leads outside
  the owned folder is refused, and removing a link removes the link, never what it points to.

A refusal is a ``RemovalRefused`` error naming the path: it means a bug or a hostile input,
and the user's files are left as they were.

Only ``os`` at import time: the atomic writer, on the no-change path, imports this module.
"""

# Paths are strings: a venv holds thousands of files and this runs once for each.
# ruff: noqa: PTH100, PTH102, PTH103, PTH104, PTH105, PTH106, PTH108, PTH112, PTH113, PTH114, PTH118, PTH119, PTH120
# ruff: noqa: SIM105 - contextlib costs ~2 ms at start-up, and the atomic writer imports this
from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (5 ms): start-up path

if TYPE_CHECKING:
    from typing import Literal

    from envsync.errors import EnvsyncError

__all__ = [
    "Owned",
    "delete",
    "delete_empty_folder",
    "delete_empty_root",
    "delete_own_file",
    "delete_tree",
    "make_folder",
    "move",
    "move_aside",
    "publish",
    "publish_folder",
    "put_back",
    "temporary_folder",
]

if TYPE_CHECKING:
    Kind = Literal["venv", "cache", "made", "temporary"]

#: File names only envsync gives its files, so a file with one is envsync's wherever it is:
#: the atomic writer's temporary files end ``.tmp`` after a pid and a random part, the venv
#: lock's note ends ``.envsync.lock.json``.
_OWN_SUFFIXES = (".envsync.lock.json", ".tmp")


class Owned:
    """A folder that envsync owns, and why: everything strictly inside it may be deleted.

    It remembers the resolved form of the folders it was asked about, so checking the
    thousands of files of one venv costs one ``realpath`` per folder, not per file.
    """

    __slots__ = ("_real", "_real_root", "kind", "root")

    root: str
    """The folder, absolute and normalized (symlinks in it are not resolved)."""
    kind: Kind
    """venv, cache, made (by this run) or temporary."""

    def __init__(self, root: str | os.PathLike[str], kind: Kind) -> None:
        self.root = os.path.abspath(root)
        self.kind = kind
        self._real_root = os.path.realpath(self.root)
        self._real: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Owned({self.root!r}, {self.kind!r})"

    @classmethod
    def venv(cls, root: str | os.PathLike[str]) -> Owned:
        """The venv at *root*; refused unless it is a real folder holding ``pyvenv.cfg``."""
        where = os.path.abspath(root)
        if os.path.islink(where) or not os.path.isfile(os.path.join(where, "pyvenv.cfg")):
            raise _refused(where, "it is not a virtual environment (no pyvenv.cfg)")
        return cls(where, "venv")

    @classmethod
    def cache(cls, root: str | os.PathLike[str]) -> Owned:
        """Envsync's cache folder at *root*."""
        return cls(root, "cache")

    def contains(self, path: str | os.PathLike[str]) -> bool:
        """Whether *path* is strictly inside this folder, lexically and through any links.

        The path itself may be a link (removing it removes the link); a folder on the way
        that is a link leading out of this folder makes the answer False.
        """
        target = os.path.abspath(path)
        if not _below(target, self.root):
            return False
        real = self._resolved(os.path.dirname(target))
        return real == self._real_root or _below(real, self._real_root)

    def _resolved(self, folder: str) -> str:
        """*folder* (at or below the root) with links resolved: one ``lstat`` per new folder.

        A folder that is no link resolves to its resolved parent plus its name, so only a
        link costs a ``realpath``; a folder that does not exist yet is no link.
        """
        real = self._real.get(folder)
        if real is None:
            if folder == self.root:
                real = self._real_root
            elif os.path.islink(folder):
                real = os.path.realpath(folder)
            else:
                parent, name = os.path.split(folder)
                real = os.path.join(self._resolved(parent), name)
            self._real[folder] = real
        return real


def make_folder(path: str | os.PathLike[str], *, mode: int = 0o777) -> Owned:
    """Create the folder *path* (its parent must exist): being its maker makes it ours.

    An existing path, whatever it is, raises ``FileExistsError``: nothing is taken over.
    """
    os.mkdir(path, mode)
    return Owned(path, "made")


def _below(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip(os.sep) + os.sep)


def delete(path: str | os.PathLike[str], *, within: Owned) -> None:
    """Delete the file, link or folder tree at *path*, which must be inside *within*.

    A missing path is no error. Links are removed, never followed; a folder tree is removed
    with ``shutil.rmtree``, which does not follow links inside it either.
    """
    target = os.path.abspath(path)
    if not within.contains(target):
        raise _refused(target, f"it is not inside {within.root}, which envsync owns")
    _delete(target)


def delete_tree(owned: Owned) -> None:
    """Delete the whole folder *owned*: one this run made, a temporary one, or a venv."""
    if os.path.islink(owned.root):
        raise _refused(owned.root, "it is a symlink")
    if owned.kind == "venv" and not os.path.isfile(os.path.join(owned.root, "pyvenv.cfg")):
        raise _refused(owned.root, "it no longer holds a venv (no pyvenv.cfg)")
    _delete(owned.root)


def delete_own_file(path: str | os.PathLike[str]) -> None:
    """Delete a file named as only envsync names its files (see ``_OWN_SUFFIXES``)."""
    target = os.path.abspath(path)
    name = os.path.basename(target)
    if not (name.startswith(".") and name.endswith(_OWN_SUFFIXES)) or os.path.isdir(target):
        raise _refused(target, "it is not a file envsync names")
    try:
        os.unlink(target)
    except FileNotFoundError:
        pass


def move(source: str | os.PathLike[str], target: str | os.PathLike[str], *, within: Owned) -> None:
    """Rename *source* to *target*, both inside *within*, making *target*'s folder.

    What is at *target* is replaced (a file or a link, as ``os.replace`` does); a missing
    *source* is no error (it was never there, or was moved already).
    """
    src, dst = os.path.abspath(source), os.path.abspath(target)
    for path in (src, dst):
        if not within.contains(path):
            raise _refused(path, f"it is not inside {within.root}, which envsync owns")
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    try:
        os.replace(src, dst)
    except FileNotFoundError:
        if os.path.lexists(src):
            raise


def delete_empty_folder(path: str | os.PathLike[str], *, within: Owned) -> bool:
    """Remove the folder *path* inside *within* if it is empty; whether it is gone now."""
    target = os.path.abspath(path)
    if not within.contains(target) or os.path.islink(target):
        return False
    try:
        os.rmdir(target)
    except FileNotFoundError:
        return True
    except OSError:
        return False  # not empty: something else lives here
    return True


def delete_empty_root(owned: Owned) -> bool:
    """Remove the folder *owned* itself if it is empty (and no link); whether it is gone."""
    if os.path.islink(owned.root):
        return False
    try:
        os.rmdir(owned.root)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def move_aside(owned: Owned) -> Owned:
    """Rename the folder *owned* to a hidden sibling (``.NAME.old-RANDOM``), still owned."""
    if os.path.islink(owned.root):
        raise _refused(owned.root, "it is a symlink")
    parent, name = os.path.split(owned.root)
    aside = os.path.join(parent, f".{name}.old-{os.urandom(4).hex()}")
    os.rename(owned.root, aside)
    return Owned(aside, owned.kind)


def put_back(aside: Owned, root: str | os.PathLike[str]) -> None:
    """Undo ``move_aside``: *aside* takes its old name *root* again (which must be free)."""
    if os.path.lexists(root):
        raise _refused(os.fspath(root), "it exists, so the venv moved aside cannot go back")
    os.rename(aside.root, root)


def publish(temporary: str, target: str) -> None:
    """Rename the file *temporary*, which envsync just wrote beside *target*, over *target*.

    The atomic writer's last step. *target* may be a file or missing, never a folder.
    """
    if os.path.dirname(os.path.abspath(temporary)) != os.path.dirname(os.path.abspath(target)):
        raise _refused(temporary, f"it is not beside {target}")
    if os.path.isdir(target) and not os.path.islink(target):
        raise _refused(target, "it is a folder")
    os.replace(temporary, target)


def publish_folder(made: Owned, target: str | os.PathLike[str]) -> None:
    """Rename the folder *made*, which this run made, to *target*, which must not exist."""
    if made.kind != "made" or os.path.islink(made.root):
        raise _refused(made.root, "it is not a folder this run made")
    if os.path.lexists(target):
        raise _refused(os.fspath(target), "it exists")
    os.rename(made.root, target)


def temporary_folder(prefix: str, *, folder: str | os.PathLike[str] | None = None) -> _Temporary:
    """A new private folder (``tempfile.mkdtemp``) for a ``with`` block, deleted after it."""
    return _Temporary(prefix, folder)


class _Temporary:
    """The context manager ``temporary_folder`` returns: yields the folder's path."""

    __slots__ = ("_folder", "_owned", "_prefix")

    def __init__(self, prefix: str, folder: str | os.PathLike[str] | None) -> None:
        self._prefix = prefix
        self._folder = folder
        self._owned: Owned | None = None

    def __enter__(self) -> str:
        import tempfile  # noqa: PLC0415 - 10 ms: only where a folder is needed

        self._owned = Owned(tempfile.mkdtemp(prefix=self._prefix, dir=self._folder), "temporary")
        return self._owned.root

    def __exit__(self, *exc: object) -> None:
        if self._owned is not None:
            _delete(self._owned.root, quiet=True)


def _delete(target: str, *, quiet: bool = False) -> None:
    if os.path.islink(target) or (os.path.lexists(target) and not os.path.isdir(target)):
        try:
            os.unlink(target)
        except FileNotFoundError:
            pass
        return
    if os.path.isdir(target):
        import shutil  # noqa: PLC0415 - only when a folder is deleted

        shutil.rmtree(target, ignore_errors=quiet)


def _refused(path: str, why: str) -> EnvsyncError:
    from envsync.errors import RemovalRefused  # noqa: PLC0415 - only on this rare path

    return RemovalRefused(path, why)
