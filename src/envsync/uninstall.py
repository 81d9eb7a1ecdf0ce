"""Remove an installed distribution by its RECORD, as pip uninstalls. VENV.

Only what RECORD lists is deleted, with the bytecode of its modules, then the folders that
leaves empty inside site-packages, then the dist-info. Nothing outside the venv is touched,
whatever a RECORD says. Safe to run for several dists at once (the native installer does).
"""

# Paths are plain strings: an uninstall walks thousands of RECORD rows, and os.path is both
# faster than pathlib here and what drift.py resolves RECORD paths with (the same rules).
# ruff: noqa: PTH100, PTH106, PTH108, PTH118, PTH120

from __future__ import annotations

import contextlib
import csv
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from envsync.errors import InstallError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from envsync._types import NormalizedName

__all__ = ["dist_files", "find_dists", "inside", "prune_empty", "uninstall_dist"]

_LOG = logging.getLogger("envsync.uninstall")


def uninstall_dist(libs: Sequence[Path], name: str, *, venv: Path) -> bool:
    """Remove every installed dist called *name* by its RECORD; False when there was none.

    The files RECORD lists are deleted (with the bytecode of its modules), then the folders
    that leaves empty inside site-packages, then the dist-info. Paths outside *venv* are
    never deleted: they are skipped with a warning.
    """
    found = find_dists(libs, name)
    for folder in found:
        _remove_dist(folder, os.path.abspath(venv))
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


def dist_files(dist_info: Path, root: str) -> list[str]:
    """Every file of one dist inside the venv at *root*, each once, the dist-info's last.

    RECORD's files, the bytecode of its modules, then every file in the dist-info folder.
    """
    recorded = [p for file in _recorded(dist_info, root) for p in (file, *_bytecode_of(file))]
    own = [os.fspath(p) for p in dist_info.rglob("*") if not p.is_dir()]
    return list(dict.fromkeys([*recorded, *own]))


def prune_empty(folders: Iterable[str], lib: str) -> None:
    """Remove each folder and its parents while they are empty and strictly inside *lib*."""
    for folder in sorted(set(folders), key=len, reverse=True):
        _prune(folder, lib)


def _dist_name(folder: Path) -> NormalizedName:
    """The normalized name in a ``name-version.dist-info`` folder name."""
    return canonicalize_name(folder.name.removesuffix(".dist-info").rpartition("-")[0])


def _remove_dist(dist_info: Path, root: str) -> None:
    """Delete one dist's files, its emptied folders, then its dist-info."""
    lib = os.path.abspath(dist_info.parent)
    folders: set[str] = set()
    for file in _recorded(dist_info, root):
        for path in (file, *_bytecode_of(file)):
            with _ignore_missing():
                os.unlink(path)
            folders.add(os.path.dirname(path))
    shutil.rmtree(dist_info, ignore_errors=True)
    prune_empty(folders, lib)


def _recorded(dist_info: Path, root: str) -> list[str]:
    """Absolute paths of the files RECORD lists, inside the venv only."""
    try:
        text = (dist_info / "RECORD").read_text("utf-8")
    except OSError as exc:
        msg = f"cannot remove {dist_info.name}: it has no readable RECORD ({exc})"
        raise InstallError(msg, hint=f"delete {dist_info.parent} by hand") from exc
    lib = os.path.abspath(dist_info.parent)
    paths = []
    for row in csv.reader(text.splitlines()):
        target = os.path.normpath(os.path.join(lib, row[0])) if row and row[0] else None
        if target is not None and not inside(root, target):
            _LOG.warning("not removing %s: RECORD of %s points outside the venv", row[0], dist_info)
        elif target is not None:
            paths.append(target)
    return paths


def _bytecode_of(path: str) -> list[str]:
    """The ``__pycache__`` files of a module (written by an import or by a compile step)."""
    if not path.endswith(".py"):
        return []
    folder, name = os.path.split(path)
    cache_folder = Path(folder, "__pycache__")
    return [os.fspath(p) for p in cache_folder.glob(f"{name.removesuffix('.py')}.*.pyc")]


def _prune(folder: str, lib: str) -> None:
    """Remove *folder* and its parents while they are empty and strictly inside *lib*."""
    while folder != lib and inside(lib, folder):
        try:
            os.rmdir(folder)
        except FileNotFoundError:
            pass  # another thread removed it
        except OSError:
            return  # not empty: something else lives here
        folder = os.path.dirname(folder)


def _ignore_missing() -> contextlib.AbstractContextManager[None]:
    """Deleting what is already gone is fine (a folder in its path may be gone too)."""
    return contextlib.suppress(FileNotFoundError, NotADirectoryError)


def inside(root: str, target: str) -> bool:
    """True when *target* is *root* or below it (paths on other drives are not)."""
    try:
        return os.path.commonpath([root, target]) == root
    except ValueError:
        return False
