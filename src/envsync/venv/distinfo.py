"""Remove an installed distribution by its RECORD, as pip uninstalls. VENV.

Only what RECORD lists is deleted, with the bytecode of its modules, then the folders that
leaves empty inside site-packages, then the dist-info. Nothing outside the venv is touched,
whatever a RECORD says, and no link is followed: the files of a package folder that the user
replaced by a link to a working copy stay where they are (as pip leaves them). Safe to run
for several dists at once (the native installer does).
"""

# Paths are plain strings: an uninstall walks thousands of RECORD rows, and os.path is both
# faster than pathlib here and what drift.py resolves RECORD paths with (the same rules).
# ruff: noqa: PTH100, PTH114, PTH118, PTH120, PTH206

from __future__ import annotations

import csv
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from envsync.errors import InstallError
from envsync.system import removal

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from envsync._types import NormalizedName

__all__ = ["dist_files", "find_dists", "inside", "prune_empty", "uninstall_dist"]

_LOG = logging.getLogger("envsync.venv.distinfo")


def uninstall_dist(libs: Sequence[Path], name: str, *, venv: Path) -> bool:
    """Remove every installed dist called *name* by its RECORD; False when there was none.

    The files RECORD lists are deleted (with the bytecode of its modules), then the folders
    that leaves empty inside site-packages, then the dist-info. Paths outside *venv*, or
    reached through a link out of it, are never deleted: they are skipped with a warning.
    """
    found = find_dists(libs, name)
    owned = removal.Owned.venv(venv) if found else None
    for folder in found:
        assert owned is not None  # noqa: S101 - for mypy: set whenever a dist was found
        _remove_dist(folder, owned)
    return bool(found)


def find_dists(libs: Sequence[Path], name: str) -> list[Path]:
    """The ``*.dist-info`` folders of the dists called *name* in *libs*."""
    wanted = canonicalize_name(name)
    return [
        folder
        for lib in dict.fromkeys(libs)
        if lib.is_dir()
        for folder in lib.glob("*.dist-info")
        if _dist_name(folder) == wanted
    ]


def dist_files(dist_info: Path, owned: removal.Owned) -> list[str]:
    """Every file of one dist inside the venv *owned*, each once, the dist-info's last.

    RECORD's files, the bytecode of its modules, then every file in the dist-info folder;
    none reached through a link that leads out of the venv.
    """
    recorded = [p for file in _recorded(dist_info, owned) for p in (file, *_bytecode_of(file))]
    own = [os.fspath(p) for p in dist_info.rglob("*") if not p.is_dir() or p.is_symlink()]
    return [p for p in dict.fromkeys([*recorded, *own]) if owned.contains(p)]


def prune_empty(folders: Iterable[str], lib: str, owned: removal.Owned) -> None:
    """Remove each folder and its parents while they are empty and strictly inside *lib*."""
    for folder in sorted(set(folders), key=len, reverse=True):
        _prune(folder, lib, owned)


def _dist_name(folder: Path) -> NormalizedName:
    """The normalized name in a ``name-version.dist-info`` folder name."""
    return canonicalize_name(folder.name.removesuffix(".dist-info").rpartition("-")[0])


def _remove_dist(dist_info: Path, owned: removal.Owned) -> None:
    """Delete one dist's files, its emptied folders, then its dist-info."""
    lib = os.path.abspath(dist_info.parent)
    folders: set[str] = set()
    for file in _recorded(dist_info, owned):
        for path in (file, *_bytecode_of(file)):
            if owned.contains(path):
                removal.delete(path, within=owned)
            folders.add(os.path.dirname(path))
    removal.delete(dist_info, within=owned)
    prune_empty(folders, lib, owned)


def _recorded(dist_info: Path, owned: removal.Owned) -> list[str]:
    """Absolute paths of the files RECORD lists, inside the venv only and not through links."""
    try:
        text = (dist_info / "RECORD").read_text("utf-8")
    except OSError as exc:
        msg = f"cannot remove {dist_info.name}: it has no readable RECORD ({exc})"
        raise InstallError(msg, hint=f"delete {dist_info.parent} by hand") from exc
    lib = os.path.abspath(dist_info.parent)
    paths = []
    linked: dict[str, int] = {}
    for row in csv.reader(text.splitlines()):
        target = os.path.normpath(os.path.join(lib, row[0])) if row and row[0] else None
        if target is None:
            continue
        if owned.contains(target):
            paths.append(target)
        elif inside(owned.root, target):
            link = _link_on_the_way(owned.root, target)
            linked[link] = linked.get(link, 0) + 1
        else:
            _LOG.warning("not removing %s: RECORD of %s points outside the venv", row[0], dist_info)
    for link, count in linked.items():
        _LOG.warning(
            "not removing %d file(s) of %s under %s: it is a link to %s, outside the venv",
            count, dist_info.name.removesuffix(".dist-info"), link, os.path.realpath(link),
        )  # fmt: skip
    return paths


def _link_on_the_way(root: str, path: str) -> str:
    """The folder between *root* and *path* that is a link (the one nearest the root)."""
    relative = os.path.relpath(os.path.dirname(path), root).split(os.sep)
    for depth in range(1, len(relative) + 1):
        folder = os.path.join(root, *relative[:depth])
        if os.path.islink(folder):
            return folder
    return os.path.dirname(path)


def _bytecode_of(path: str) -> list[str]:
    """The ``__pycache__`` files of a module (written by an import or by a compile step)."""
    if not path.endswith(".py"):
        return []
    folder, name = os.path.split(path)
    cache_folder = Path(folder, "__pycache__")
    return [os.fspath(p) for p in cache_folder.glob(f"{name.removesuffix('.py')}.*.pyc")]


def _prune(folder: str, lib: str, owned: removal.Owned) -> None:
    """Remove *folder* and its parents while they are empty and strictly inside *lib*."""
    while folder != lib and inside(lib, folder):
        if not removal.delete_empty_folder(folder, within=owned):
            return  # not empty, or a link: something else lives here
        folder = os.path.dirname(folder)


def inside(root: str, target: str) -> bool:
    """True when *target* is *root* or below it (paths on other drives are not)."""
    try:
        return os.path.commonpath([root, target]) == root
    except ValueError:
        return False
