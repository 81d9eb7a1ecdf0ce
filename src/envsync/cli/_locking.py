"""The venv lock as the commands that change a venv (apply, lock, run) take it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envsync import target, venvlock

if TYPE_CHECKING:
    import argparse
    from contextlib import AbstractContextManager

    from envsync.cli._context import Context
    from envsync.spec import Spec

__all__ = ["holding"]


def holding(spec: Spec, args: argparse.Namespace, ctx: Context) -> AbstractContextManager[None]:
    """Hold the lock of *spec*'s venv, waiting at most ``--lock-timeout``.

    The waiting line goes to stderr even under --quiet and --json: a run that sits silent
    behind another one looks hung.
    """

    def notice(line: str) -> None:
        ctx.err.write(line + "\n")
        ctx.err.flush()

    # Before the lock file appears beside the venv: a venv path over the user's files (or
    # inside .git) is refused without leaving anything there.
    target.check_venv_path(spec)
    command = f"envsync {args.command}"
    return venvlock.hold(spec.venv, timeout=args.lock_timeout, command=command, notice=notice)
