"""The command line. ``main(argv)`` is the entry point (console script ``envsync``).

The no-change path of ``apply`` is tried first, before the rest of envsync is imported, so
an up-to-date venv answers in about the time Python takes to start.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run envsync with *argv* (default: sys.argv[1:]) and return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    from envsync import _fastpath  # noqa: PLC0415 - imports only the standard library

    try:
        answered = _fastpath.try_apply(args)
        if answered is None:
            answered = _fastpath.try_lock(args)
    except RecursionError:  # an env.toml nested thousands deep: the full path reports it
        answered = None
    if answered is not None:
        return answered
    from envsync.cli._main import main as full  # noqa: PLC0415 - the heavy path, on demand

    return full(args)
