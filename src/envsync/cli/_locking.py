"""The venv lock as the commands that change a venv (apply, lock, run) take it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envsync.usecases import locking

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from envsync.cli._context import Context
    from envsync.core.spec import Spec

__all__ = ["holding", "notice"]


def holding(spec: Spec, args: argparse.Namespace, ctx: Context) -> AbstractContextManager[None]:
    """Hold the lock of *spec*'s venv, waiting at most ``--lock-timeout``."""
    command = f"envsync {args.command}"
    return locking.holding(spec, timeout=args.lock_timeout, command=command, notice=notice(ctx))


def notice(ctx: Context) -> Callable[[str], None]:
    """Where a waiting line goes: stderr even under --quiet and --json.

    A run that sits silent behind another one looks hung.
    """

    def write(line: str) -> None:
        ctx.err.write(line + "\n")
        ctx.err.flush()

    return write
