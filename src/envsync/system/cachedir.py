"""Where envsync keeps its cache: one answer for every module that stores something there.

Only ``os``: the no-change path asks too, before anything else is imported.
"""

# ruff: noqa: PTH111, PTH118 - os.path, not pathlib: this runs on the start-up path
from __future__ import annotations

import os

__all__ = ["cache_root"]


def cache_root() -> str:
    """``$ENVSYNC_CACHE_DIR``, else ``$XDG_CACHE_HOME/envsync``, else ``~/.cache/envsync``."""
    if folder := os.environ.get("ENVSYNC_CACHE_DIR"):
        return os.path.expanduser(folder)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "envsync")
