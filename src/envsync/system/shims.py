"""Folders that lend envsync's own packages to another interpreter, without installing them.

envsync reads a venv's markers and tags with ``packaging`` and resolves with ``pip-compile``,
both *inside* the target interpreter: only that interpreter knows its own tags and markers.
Nothing may be installed into the user's venv for that, so the target runs with
``sys.path.insert(0, shim_dir([...]))``: a folder holding links to just the named packages
of envsync's own environment, and nothing else that could shadow the target's modules.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from envsync.errors import EnvsyncError
from envsync.system import removal

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["pycache_dir", "shim_dir"]


def shim_dir(packages: Sequence[str]) -> Path:
    """Return a folder holding only *packages* (top-level import names importable here).

    Packages are symlinked (copied where symlinks are not allowed); single-module packages
    such as ``typing_extensions.py`` are linked as files. The folder is built once per set of
    sources and reused; concurrent callers race safely (build aside, then rename).
    """
    sources = sorted({_source_of(name) for name in packages})
    target = _base_dir() / _key(sources)
    if not target.is_dir():
        _build(target, sources)
    return target


def pycache_dir() -> Path:
    """Return where a target interpreter should write bytecode for shimmed packages.

    Set ``sys.pycache_prefix`` to it (3.8+) inside the target: otherwise each interpreter
    would write its ``__pycache__`` into envsync's own installation, or (with ``-B``)
    recompile the shimmed packages on every run.
    """
    path = _base_dir() / "pycache"
    path.mkdir(exist_ok=True)
    return path


def _source_of(name: str) -> Path:
    """Return the file or package folder that ``import name`` loads here."""
    if not name.isidentifier():
        raise EnvsyncError(f"{name!r} is not a top-level module name")
    spec = importlib.util.find_spec(name)
    if spec is None:
        raise EnvsyncError(
            f"envsync needs {name!r} but cannot import it",
            hint="reinstall envsync so that its dependencies are complete",
        )
    if spec.submodule_search_locations is not None:
        # A package: regular ones have an __init__.py origin, namespace ones only locations.
        if spec.origin and spec.origin != "namespace":
            return Path(spec.origin).parent
        return Path(next(iter(spec.submodule_search_locations)))
    if spec.origin is None or not Path(spec.origin).is_file():
        raise EnvsyncError(f"envsync cannot lend {name!r}: it is not a file or a package")
    return Path(spec.origin)


def _key(sources: Sequence[Path]) -> str:
    """Name the folder so that it changes whenever a source moves or is reinstalled."""
    digest = hashlib.sha256()
    for source in sources:
        digest.update(f"{source}\0{source.stat().st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _base_dir() -> Path:
    """Return the per-user parent folder, checked to be ours before anything in it is trusted."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    base = Path(tempfile.gettempdir()) / f"envsync-shims-{uid if uid is not None else 'user'}"
    base.mkdir(mode=0o700, exist_ok=True)
    info = base.lstat()
    unsafe = stat.S_ISLNK(info.st_mode) or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if uid is not None and (info.st_uid != uid or unsafe):
        # Another user could plant packages here that envsync would then run: refuse.
        raise EnvsyncError(
            f"{base} is not a private folder owned by this user",
            hint=f"remove {base} and run again",
        )
    return base


def _build(target: Path, sources: Sequence[Path]) -> None:
    """Fill a fresh folder beside *target*, then rename it into place (first one wins)."""
    owned = removal.Owned(target.parent, "temporary")  # checked private by _base_dir
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
    try:
        for source in sources:
            _link(source, staging / source.name, owned)
        try:
            removal.move(staging, target, within=owned)
        except OSError:
            if not target.is_dir():
                raise
            # Another process finished the same folder first; theirs is as good as ours.
    finally:
        if staging.exists():
            removal.delete(staging, within=owned)


def _link(source: Path, dest: Path, owned: removal.Owned) -> None:
    """Symlink *dest* to *source*, copying instead where symlinks are not permitted."""
    try:
        dest.symlink_to(source, target_is_directory=source.is_dir())
    except OSError:
        removal.delete(dest, within=owned)
        if source.is_dir():
            shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, dest)
