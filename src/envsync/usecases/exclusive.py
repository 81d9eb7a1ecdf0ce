"""One envsync at a time per venv: the venv lock as apply, lock and run hold it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envsync.usecases import target
from envsync.venv import venvlock

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from envsync.core.spec import Spec

__all__ = ["holding"]


def holding(
    spec: Spec, *, timeout: float, command: str, notice: Callable[[str], None]
) -> AbstractContextManager[None]:
    """Hold the lock of *spec*'s venv, waiting at most *timeout* seconds.

    The venv path is checked first, before the lock file appears beside the venv: a venv
    path over the user's files (or inside .git) is refused without leaving anything there.
    """
    target.check_venv_path(spec)
    return venvlock.hold(spec.venv, timeout=timeout, command=command, notice=notice)
