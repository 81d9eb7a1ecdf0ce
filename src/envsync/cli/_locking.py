"""The venv lock as apply, lock and run take it, and the state they leave for the next run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envsync.cli import text
from envsync.usecases import exclusive, nochange

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from envsync.cli._context import Context
    from envsync.core.spec import Spec
    from envsync.usecases.lock import LockOutcome

__all__ = ["holding", "notice", "remember_lock"]


def holding(spec: Spec, args: argparse.Namespace, ctx: Context) -> AbstractContextManager[None]:
    """Hold the lock of *spec*'s venv, waiting at most ``--lock-timeout``."""
    command = f"envsync {args.command}"
    return exclusive.holding(spec, timeout=args.lock_timeout, command=command, notice=notice(ctx))


def notice(ctx: Context) -> Callable[[str], None]:
    """Where a waiting line goes: stderr even under --quiet and --json.

    A run that sits silent behind another one looks hung.
    """

    def write(line: str) -> None:
        ctx.err.write(line + "\n")
        ctx.err.flush()

    return write


def remember_lock(spec: Spec, outcome: LockOutcome) -> None:
    """Let the next ``lock`` with nothing changed answer without loading envsync."""
    nochange.record_lock(
        spec=spec.path,
        venv=spec.venv,
        local_files=outcome.local_files,
        summary=text.lock_text(outcome, fresh=True),
    )
