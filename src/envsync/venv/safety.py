"""Where a venv may be, and what in a venv is envsync's to replace. FILES (read only).

A venv path is the user's word for a folder envsync will create, fill, empty and replace, so
it must never name something else: the project's own files (env.toml, pylock.toml, .git),
a folder holding them, a home folder or a filesystem root (``check_location``).

A venv that has to be made again (another Python, an interpreter that is gone) is replaced
whole; that is safe only while it holds nothing but a venv's own layout and the files its
installed packages' RECORDs list (``unknown_files``). Anything else (notes, a checkout, a
symlink the user made) is the user's, and stops the replacement.
"""

# Paths are strings: a venv holds thousands of files, listed once here.
# ruff: noqa: PTH100, PTH111, PTH112, PTH114, PTH117, PTH118, PTH119, PTH208
from __future__ import annotations

import fnmatch
import os
from typing import TYPE_CHECKING

from envsync.core.names import STATE_NAME
from envsync.errors import VenvError
from envsync.venv.distinfo import read_record

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

__all__ = [
    "LAYOUT",
    "check_location",
    "describe",
    "is_layout",
    "layout_files",
    "unknown_files",
]

#: What ``python -m venv`` (and virtualenv) put in a venv besides packages, as patterns on
#: paths relative to the venv; plus envsync's own state file and transaction folder.
LAYOUT = (
    "pyvenv.cfg",
    ".gitignore",
    "lib64",
    "bin/python",
    "bin/python[0-9]*",
    "bin/pythonw",
    "bin/pypy",
    "bin/pypy[0-9]*",
    "bin/activate",
    "bin/activate.*",
    "bin/Activate.ps1",
    "bin/activate_this.py",
    "bin/deactivate.*",
    "Scripts/python.exe",
    "Scripts/pythonw.exe",
    "Scripts/activate",
    "Scripts/activate.*",
    "Scripts/Activate.ps1",
    "Scripts/deactivate.*",
    "lib/python*/site-packages/_virtualenv.p*",
    STATE_NAME,
    ".envsync-txn",
    ".envsync-txn/*",
)
#: Folders that hold layout files; ``layout_files`` looks only there.
_LAYOUT_FOLDERS = ("", "bin", "Scripts")

#: How many unknown files an error names before it says "and N more".
_SHOWN = 8


def is_layout(relative: str) -> bool:
    """Whether *relative* (to the venv, with ``/``) is a file the venv's own layout has."""
    return any(fnmatch.fnmatchcase(relative, pattern) for pattern in LAYOUT)


def layout_files(root: Path | str) -> list[str]:
    """The venv's own files at *root* (interpreter links, scripts, pyvenv.cfg), relative.

    envsync's own state and transaction folder are left out: they change by design.
    """
    found = []
    for folder in _LAYOUT_FOLDERS:
        where = os.path.join(root, folder)
        try:
            names = os.listdir(where)
        except OSError:
            continue
        for name in names:
            relative = f"{folder}/{name}" if folder else name
            if is_layout(relative) and not relative.startswith(".envsync"):
                found.append(relative)
    return sorted(found)


def check_location(root: Path, *, project: Path, own_files: Sequence[Path]) -> None:
    """Refuse a venv path that is, holds or is inside what must never be replaced.

    *own_files* are the project's files (env.toml, pylock.toml); the project's ``.git`` is
    added here. Both the path as written and the path with links resolved are checked.
    """
    venv_forms = _forms(root)
    for thing, what in _protected(project, own_files):
        for venv_path in venv_forms:
            for other in _forms(thing):
                relation = _relation(venv_path, other)
                if relation is not None:
                    raise VenvError(
                        f"{root} cannot be the venv: it {relation} {what} ({thing})",
                        hint="set venv in env.toml ([env] venv) to a folder of its own, "
                        "such as .venv",
                    )


def unknown_files(root: Path) -> list[str]:
    """Paths in the venv at *root* that are neither its layout nor in an installed RECORD.

    Relative to *root*, with ``/``. Bytecode (``__pycache__``) and dist-info folders count as
    the packages'; folders count only through their files; links are never followed.
    """
    where = os.path.abspath(root)
    known = _recorded(where)
    found = []
    for relative in _entries(where):
        if relative in known or is_layout(relative) or _is_bytecode(relative):
            continue
        if _in_dist_info(relative):
            continue
        found.append(relative)
    return sorted(found)


def describe(paths: Sequence[str]) -> str:
    """``a, b, c and 4 more``: the first few of *paths*, for a message."""
    shown = ", ".join(paths[:_SHOWN])
    more = len(paths) - _SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


# -- locations ------------------------------------------------------------------------------


def _protected(project: Path, own_files: Sequence[Path]) -> Iterable[tuple[str, str]]:
    for path in own_files:
        yield os.fspath(path), f"the project's {os.path.basename(path)}"
    yield os.path.join(os.fspath(project), ".git"), "the project's .git folder"
    for home in _homes():
        yield home, "a home folder"
    yield os.path.abspath(os.sep), "the filesystem root"


def _homes() -> set[str]:
    """This user's home folder and every account's (a venv must hold none of them)."""
    homes = {os.path.expanduser("~")}
    if "HOME" in os.environ:
        homes.add(os.environ["HOME"])
    try:
        import pwd  # noqa: PLC0415 - POSIX only

        homes.update(entry.pw_dir for entry in pwd.getpwall())
    except (ImportError, OSError):
        pass
    # An account whose "home" is the root or a system folder (daemon: /usr/sbin) says nothing
    # about where people keep files; the root itself is checked on its own.
    return {os.path.abspath(h) for h in homes if h and os.path.isabs(h) and _is_home_like(h)}


def _is_home_like(path: str) -> bool:
    return os.path.abspath(path) != os.path.abspath(os.sep) and os.path.isdir(path)


def _forms(path: Path | str) -> set[str]:
    """The path as written (absolute) and with its links resolved."""
    written = os.path.abspath(path)
    return {written, os.path.realpath(written)}


def _relation(venv: str, other: str) -> str | None:
    """How the venv path stands to *other*: ``is``, ``holds``, ``is inside``, or None."""
    if venv == other:
        return "is"
    if _below(other, venv):
        return "holds"
    if os.path.basename(other) == ".git" and _below(venv, other):
        return "is inside"
    return None


def _below(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip(os.sep) + os.sep)


# -- what a venv holds ----------------------------------------------------------------------


def _entries(root: str) -> Iterable[str]:
    """Every file and link under *root*, relative, with ``/``; links are not followed."""
    for folder, dirs, files in os.walk(root):
        relative = os.path.relpath(folder, root).replace(os.sep, "/")
        prefix = "" if relative == "." else relative + "/"
        yield from (prefix + name for name in files)
        yield from (prefix + name for name in dirs if os.path.islink(os.path.join(folder, name)))


def _recorded(root: str) -> set[str]:
    """Every path (relative to *root*) that an installed dist's RECORD lists.

    A RECORD that cannot be read vouches for nothing: its files count as unknown.
    """
    known: set[str] = set()
    for lib in _libs(root):
        for name in os.listdir(lib):
            if not name.endswith(".dist-info"):
                continue
            try:
                rows = read_record(os.path.join(lib, name))
            except (OSError, ValueError):
                continue
            known.update(os.path.relpath(row.target, root).replace(os.sep, "/") for row in rows)
    return known


def _libs(root: str) -> list[str]:
    candidates = [os.path.join(root, "Lib", "site-packages")]
    for base in ("lib", "lib64"):
        folder = os.path.join(root, base)
        if os.path.isdir(folder) and not os.path.islink(folder):
            candidates += [os.path.join(folder, n, "site-packages") for n in os.listdir(folder)]
    return [c for c in candidates if os.path.isdir(c) and not os.path.islink(c)]


def _is_bytecode(relative: str) -> bool:
    parts = relative.split("/")
    return len(parts) > 1 and parts[-2] == "__pycache__" and parts[-1].endswith(".pyc")


def _in_dist_info(relative: str) -> bool:
    parts = relative.split("/")
    return "site-packages" in parts and any(p.endswith(".dist-info") for p in parts)
