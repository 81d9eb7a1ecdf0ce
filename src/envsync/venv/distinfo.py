"""Installed dists' ``*.dist-info`` folders and their RECORD: which files a dist owns. VENV.

RECORD is read here, once for every reader: the transaction (what to move aside), the
venv-safety check (which files are packages') and drift (what to re-hash). A dist's files
are what its RECORD lists inside the venv, with the bytecode of its modules, then its
dist-info; nothing outside the venv, and nothing reached through a link that leads out of
it (the files of a package folder that the user replaced by a link to a working copy stay
where they are, as pip leaves them).
"""

# Paths are plain strings: a venv holds thousands of RECORD rows, and os.path is faster
# than pathlib here (the same lexical rules for every reader).
# ruff: noqa: PTH100, PTH114, PTH118, PTH120, PTH206, PTH208

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from envsync.errors import InstallError
from envsync.system import removal

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from envsync._types import NormalizedName

__all__ = [
    "RecordRow",
    "dist_files",
    "dists_by_name",
    "in_moves",
    "inside",
    "prune_empty",
    "read_record",
]

_LOGGER = "envsync.venv.distinfo"


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordRow:
    """One row of an installed dist's RECORD (``path,algorithm=digest,size``)."""

    path: str
    """The path as RECORD writes it: relative to site-packages, ``/``, maybe ``..``."""
    target: str
    """Where that path lands: absolute, normalized lexically (no link is followed)."""
    hash: str
    """``algorithm=digest`` (urlsafe base64), or empty (RECORD itself, bytecode)."""
    size: str
    """The size in bytes as written, or empty."""


def read_record(dist_info: Path | str) -> list[RecordRow]:
    """Every row of *dist_info*'s RECORD that names a file, in order.

    Read as pip and importlib.metadata read it: CSV with the path first and the hash and
    size optional (installer's ``parse_record_file`` stops at the first row without exactly
    three fields, which a RECORD another tool wrote may have). Paths resolve against the
    folder holding the dist-info. OSError: RECORD cannot be read; ValueError: it is not
    UTF-8 text in CSV.
    """
    lib = os.path.abspath(os.path.dirname(dist_info))
    text = Path(dist_info, "RECORD").read_text("utf-8")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ValueError(f"not CSV ({exc})") from exc
    return [
        RecordRow(
            path=row[0],
            target=os.path.normpath(os.path.join(lib, row[0])),
            hash=row[1] if len(row) > 1 else "",
            size=row[2] if len(row) > 2 else "",  # noqa: PLR2004 - RECORD's third column
        )
        for row in rows
        if row and row[0]
    ]


def dists_by_name(libs: Sequence[Path]) -> dict[NormalizedName, list[Path]]:
    """The ``*.dist-info`` folders in *libs*, by the normalized name of their dist."""
    found: dict[NormalizedName, list[Path]] = {}
    for lib in dict.fromkeys(libs):
        if lib.is_dir():
            for folder in lib.glob("*.dist-info"):
                found.setdefault(_dist_name(folder), []).append(folder)
    return found


def dist_files(dist_info: Path, owned: removal.Owned) -> list[str]:
    """Every file of one dist inside the venv *owned*, each once, the dist-info's last.

    RECORD's files, the bytecode of its modules, then every file in the dist-info folder;
    none reached through a link that leads out of the venv. Paths of RECORD outside the
    venv, or behind such a link, are left out with a warning.
    """
    listed: dict[str, list[str]] = {}  # each __pycache__ folder read once
    recorded = [
        p for file in _recorded(dist_info, owned) for p in (file, *_bytecode_of(file, listed))
    ]
    own = [os.fspath(p) for p in dist_info.rglob("*") if not p.is_dir() or p.is_symlink()]
    return [p for p in dict.fromkeys([*recorded, *own]) if owned.contains(p)]


def in_moves(paths: Sequence[str], lib: str) -> list[str]:
    """*paths*, with each folder directly in *lib* that holds only paths of them in their place.

    A dist's files (``dist_files``) are moved out of a venv one rename each; a package folder
    or dist-info folder that holds nothing but them can go in one rename instead, which
    spares two metadata writes per file on a disk that journals them. A folder qualifies
    when it is no link, and every entry under it is a folder with something in it or one
    of *paths* (a stray file, or an empty folder, which a rollback would not put back, keeps
    the folder in place, and its files go one by one). Each folder takes the place of its
    first path, so the dist-info folder still goes last.
    """
    mine = set(paths)
    prefix = os.path.join(lib, "")
    tops = {p: os.path.join(lib, rest.partition(os.sep)[0]) for p in paths
            if p.startswith(prefix) and os.sep in (rest := p[len(prefix):])}  # fmt: skip
    whole = {top for top in set(tops.values()) if _holds_only(top, mine)}
    moves: dict[str, None] = {}
    for path in paths:
        top = tops.get(path)
        moves[top if top in whole else path] = None
    return list(moves)


def _holds_only(folder: str, mine: set[str]) -> bool:
    """Whether *folder* is a real folder whose every file is in *mine*, with no empty folder."""
    if os.path.islink(folder):
        return False
    todo = [folder]
    try:
        while todo:
            with os.scandir(todo.pop()) as scan:
                entries = list(scan)
            if not entries:
                return False
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    todo.append(entry.path)
                elif entry.path not in mine:
                    return False
    except OSError:
        return False
    return True


def prune_empty(folders: Iterable[str], lib: str, owned: removal.Owned) -> None:
    """Remove each folder and its parents while they are empty and strictly inside *lib*."""
    for folder in sorted(set(folders), key=len, reverse=True):
        _prune(folder, lib, owned)


def inside(root: str, target: str) -> bool:
    """True when *target* is *root* or below it (paths on other drives are not)."""
    try:
        return os.path.commonpath([root, target]) == root
    except ValueError:
        return False


def _dist_name(folder: Path) -> NormalizedName:
    """The normalized name in a ``name-version.dist-info`` folder name."""
    from packaging.utils import canonicalize_name  # noqa: PLC0415 - not on the removal path

    return canonicalize_name(folder.name.removesuffix(".dist-info").rpartition("-")[0])


def _recorded(dist_info: Path, owned: removal.Owned) -> list[str]:
    """Absolute paths of the files RECORD lists, inside the venv only and not through links."""
    try:
        rows = read_record(dist_info)
    except (OSError, ValueError) as exc:
        msg = f"cannot remove {dist_info.name}: it has no readable RECORD ({exc})"
        raise InstallError(msg, hint=f"delete {dist_info.parent} by hand") from exc
    paths = []
    linked: dict[str, int] = {}
    for row in rows:
        if owned.contains(row.target):
            paths.append(row.target)
        elif inside(owned.root, row.target):
            link = _link_on_the_way(owned.root, row.target)
            linked[link] = linked.get(link, 0) + 1
        else:
            _warn("not removing %s: RECORD of %s points outside the venv", row.path, dist_info)
    for link, count in linked.items():
        _warn(
            "not removing %d file(s) of %s under %s: it is a link to %s, outside the venv",
            count, dist_info.name.removesuffix(".dist-info"), link, os.path.realpath(link),
        )  # fmt: skip
    return paths


def _warn(message: str, *args: object) -> None:
    """Log a warning; logging is imported only then (a removal's fast path seldom needs it)."""
    import logging  # noqa: PLC0415

    logging.getLogger(_LOGGER).warning(message, *args)


def _link_on_the_way(root: str, path: str) -> str:
    """The folder between *root* and *path* that is a link (the one nearest the root)."""
    relative = os.path.relpath(os.path.dirname(path), root).split(os.sep)
    for depth in range(1, len(relative) + 1):
        folder = os.path.join(root, *relative[:depth])
        if os.path.islink(folder):
            return folder
    return os.path.dirname(path)


def _bytecode_of(path: str, listed: dict[str, list[str]]) -> list[str]:
    """The ``__pycache__`` files of a module (written by an import or by a compile step).

    Those named ``<module>.*.pyc``, from *listed* (each folder's names, read once): a glob
    per module compiled a pattern each, ~0.1 ms apiece.
    """
    if not path.endswith(".py"):
        return []
    folder, name = os.path.split(path)
    cache_folder = os.path.join(folder, "__pycache__")
    if cache_folder not in listed:
        try:
            listed[cache_folder] = os.listdir(cache_folder)
        except OSError:
            listed[cache_folder] = []
    head, tail = f"{name.removesuffix('.py')}.", ".pyc"
    return [
        os.path.join(cache_folder, found)
        for found in listed[cache_folder]
        if found.startswith(head) and found.endswith(tail) and len(found) >= len(head + tail)
    ]


def _prune(folder: str, lib: str, owned: removal.Owned) -> None:
    """Remove *folder* and its parents while they are empty and strictly inside *lib*."""
    while folder != lib and inside(lib, folder):
        if not removal.delete_empty_folder(folder, within=owned):
            return  # not empty, or a link: something else lives here
        folder = os.path.dirname(folder)
