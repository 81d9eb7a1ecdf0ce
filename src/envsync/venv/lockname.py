"""The name of a venv's lock file: beside the venv, named after it. Only ``os``.

The full path holds the lock through ``venvlock`` (filelock); the no-change and replay
paths, which run before anything else is imported, take the same file with ``fcntl``.
"""

# ruff: noqa: PTH118, PTH119, PTH120 - os.path, not pathlib: this runs on the start-up path
from __future__ import annotations

import os

__all__ = ["lock_file"]


def lock_file(venv: str | os.PathLike[str]) -> str:
    """The lock file of *venv*: beside it, named after it, the same for every spelling of it."""
    real = os.path.realpath(venv)
    # Hidden, without doubling the dot of ``.venv``. ``venv`` beside ``.venv`` would share it:
    # the two would only take turns.
    name = os.path.basename(real).removeprefix(".")
    return os.path.join(os.path.dirname(real), f".{name}.envsync.lock")
