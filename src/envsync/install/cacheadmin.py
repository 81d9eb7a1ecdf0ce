"""``envsync cache``: check, prune and clean the wheel cache. FILES.

What each entry is and when it is still needed, as ``cache.py`` lays them out:

* ``wheels/<xx>/<sha256>/<file>`` is good while the file hashes to the folder's name;
* ``unpacked/<sha256>/`` is good while its manifest is readable and every file hashes to what
  it recorded; it is *in use* while any of its files has another hard link (a venv's);
* ``.tmp-*``/``.trash-*`` folders and ``tmp/`` files are leftovers of runs that were killed,
  removed once they are older than an hour (a younger one may belong to a run under way).

Nothing is deleted here: every removal is ``Cache.remove``, which refuses paths outside the
cache and never follows a symlink. Walks never follow symlinks either.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from envsync.errors import EnvsyncError, printable
from envsync.install import unpack
from envsync.install.cache import SUBFOLDERS
from envsync.system.hashing import hash_file

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from envsync.install.cache import Cache

__all__ = ["LEFTOVER_AGE", "Bad", "Freed", "clean", "prune", "verify"]

#: Seconds after which a temporary folder or download is a leftover, not a run's work.
LEFTOVER_AGE = 3600.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Bad:
    """A cache entry that no longer holds what its name promises."""

    path: Path
    """The entry: a wheel's folder or an unpacked folder."""
    problem: str
    """What is wrong, for the user."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Freed:
    """What a prune or clean removed."""

    entries: int
    """Entries (wheels, unpacked wheels, leftovers, folders) removed."""
    size: int
    """Bytes given back to the filesystem (files with no other hard link)."""
    kept: int = 0
    """Unpacked wheels kept because a venv still links to them."""


# -- verify -----------------------------------------------------------------------------------


def verify(cache: Cache, *, fix: bool = False) -> list[Bad]:
    """Every wheel and unpacked wheel that fails its check; with *fix*, each is removed."""
    found = [*_bad_wheels(cache.root / "wheels"), *_bad_trees(cache.root / "unpacked")]
    if fix:
        for bad in found:
            cache.remove(bad.path)
    return found


def _bad_wheels(wheels: Path) -> Iterator[Bad]:
    for folder in _entries(wheels, depth=2):
        files = [p for p in folder.iterdir() if not p.is_symlink() and p.is_file()]
        if len(files) != 1 or folder.parent.name != folder.name[:2]:
            yield Bad(path=folder, problem="is not a cache entry (one wheel, named by its hash)")
            continue
        found = hash_file(files[0])
        if found != folder.name:
            yield Bad(path=folder, problem=f"{files[0].name} hashes to {found}, not its name")


def _bad_trees(unpacked: Path) -> Iterator[Bad]:
    for folder in _entries(unpacked, depth=1):
        tree = unpack.load(folder)
        if tree is None:
            yield Bad(path=folder, problem="a file changed (size, mode or mtime) or went missing")
        elif changed := unpack.changed_files(tree):
            shown = ", ".join(printable(name, one_line=True) for name in changed[:3])
            more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""  # noqa: PLR2004 - a short list
            yield Bad(path=folder, problem=f"changed in place: {shown}{more}")


def _entries(folder: Path, *, depth: int) -> Iterator[Path]:
    """The entry folders *depth* levels under *folder* (no leftovers, no symlinks), sorted."""
    level = [folder] if folder.is_dir() and not folder.is_symlink() else []
    for _ in range(depth):
        level = [
            child
            for parent in level
            for child in sorted(parent.iterdir())
            if not child.name.startswith(".") and not child.is_symlink() and child.is_dir()
        ]
    yield from level


# -- prune ------------------------------------------------------------------------------------


def prune(cache: Cache, *, everything: bool = False, now: float | None = None) -> Freed:
    """Remove what no venv needs; what was removed, and how much it freed.

    That is: the venvs kept for the replay path, unpacked wheels no venv links to (every one
    with *everything*), the wheels of those and wheels never unpacked, and leftovers older
    than LEFTOVER_AGE.
    """
    now = time.time() if now is None else now
    # Venvs kept for the replay path link to unpacked wheels as venvs do: they go first,
    # so that only a real venv keeps a wheel (a fresh apply keeps a new one).
    kept_for_replay = _children(cache.root / "replay")  # each venv's folder, and its note
    replicas = [path for path in kept_for_replay if path.is_dir()]
    size = sum(_size(path) for path in kept_for_replay)
    for path in kept_for_replay:
        cache.remove(path)
    removed: list[Path] = []
    kept = 0
    for tree in _entries(cache.root / "unpacked", depth=1):
        if not everything and _linked(tree):
            kept += 1
        else:
            removed.append(tree)
    still = {p.name for p in _entries(cache.root / "unpacked", depth=1)} - {p.name for p in removed}
    removed += [w for w in _entries(cache.root / "wheels", depth=2) if w.name not in still]
    removed += [p for p in _leftovers(cache.root) if now - p.lstat().st_mtime > LEFTOVER_AGE]
    freed = _remove_all(cache, removed, kept=kept)
    return Freed(entries=freed.entries + len(replicas), size=freed.size + size, kept=kept)


def _linked(tree: Path) -> bool:
    """Whether any file of the unpacked wheel has another hard link: a venv uses it."""
    for folder, _, files in os.walk(tree / "files"):  # followlinks is False
        for name in files:
            found = os.lstat(os.path.join(folder, name))  # noqa: PTH118 - many files
            if found.st_nlink > 1:
                return True
    return False


def _leftovers(root: Path) -> Iterator[Path]:
    """Temporary folders of unpacking and discarding, and downloads that never finished."""
    parents = [root / "unpacked", *(p for p in _children(root / "wheels"))]
    for parent in parents:
        yield from (p for p in _children(parent) if p.name.startswith((".tmp-", ".trash-")))
    yield from _children(root / "tmp")


def _children(folder: Path) -> list[Path]:
    if folder.is_symlink() or not folder.is_dir():
        return []
    return sorted(folder.iterdir())


def _remove_all(cache: Cache, paths: list[Path], *, kept: int = 0) -> Freed:
    size = sum(_size(path) for path in paths)
    for path in paths:
        cache.remove(path)
    return Freed(entries=len(paths), size=size, kept=kept)


def _size(path: Path) -> int:
    """Bytes removing *path* gives back: files without another hard link, symlinks not followed."""
    if path.is_symlink() or not path.is_dir():
        found = path.lstat()
        return found.st_size if found.st_nlink == 1 else 0
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            found = os.lstat(os.path.join(folder, name))  # noqa: PTH118 - many files
            total += found.st_size if found.st_nlink == 1 else 0
    return total


# -- clean ------------------------------------------------------------------------------------


def clean(cache: Cache) -> Freed:
    """Remove the whole cache folder, if it holds nothing but envsync's own folders."""
    root = cache.root
    if root.is_symlink():
        raise EnvsyncError(
            f"the cache folder {root} is a symbolic link: envsync does not delete through it",
            hint="point ENVSYNC_CACHE_DIR at the folder itself, or delete it yourself",
        )
    if not root.exists():
        return Freed(entries=0, size=0)
    children = _children(root)
    if unknown := sorted(p.name for p in children if p.name not in SUBFOLDERS):
        names = ", ".join(printable(name, one_line=True) for name in unknown)
        raise EnvsyncError(
            f"{root} does not look like envsync's cache: it also holds {names}",
            hint="move those out (or check ENVSYNC_CACHE_DIR), then run `envsync cache clean`",
        )
    freed = _remove_all(cache, children)
    cache.remove_root()
    return freed
