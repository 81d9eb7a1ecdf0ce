"""``envsync cache``: where the wheel cache is, and checking, pruning and cleaning it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envsync.install import cacheadmin
from envsync.install.cache import Cache
from envsync.usecases import replay

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["Bad", "Freed", "clean", "folder", "prune", "verify"]

Bad = cacheadmin.Bad
Freed = cacheadmin.Freed


def folder() -> Path:
    """The cache folder (ENVSYNC_CACHE_DIR, else the platform's cache folder)."""
    return Cache.default().root


def verify(*, fix: bool) -> list[Bad]:
    """Entries whose files no longer match their hashes; with *fix*, removed.

    A fix also forgets the venvs kept for the replay path, which may link the bad files.
    """
    bad = cacheadmin.verify(Cache.default(), fix=fix)
    if fix and bad:
        replay.forget_all()
    return bad


def prune(*, everything: bool) -> Freed:
    """Remove what no venv needs (with *everything*, also what venvs link to)."""
    return cacheadmin.prune(Cache.default(), everything=everything)


def clean() -> Freed:
    """Remove the whole cache folder, if it holds nothing but envsync's own."""
    return cacheadmin.clean(Cache.default())
