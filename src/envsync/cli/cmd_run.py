"""``envsync run -- CMD ARGS...``: run a command inside the environment, synced first."""

from __future__ import annotations

import argparse
import functools
from typing import TYPE_CHECKING

from envsync.cli import text
from envsync.cli._context import Context
from envsync.cli._locking import notice
from envsync.cli._multienv import each_env
from envsync.cli._options import add_envs, add_flag, add_groups, add_lock_timeout, add_mode
from envsync.errors import EnvsyncError, printable
from envsync.usecases import run as run_command

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from envsync.core.selection import GroupSelection
    from envsync.core.spec import Spec
    from envsync.usecases.apply import Outcome


def configure(parser: argparse.ArgumentParser) -> None:
    """Add run's options and the command."""
    add_groups(parser)
    add_envs(parser)
    add_mode(parser)
    add_flag(parser, "--no-sync", "run in the venv as it is: no check, no lock, no install")
    add_lock_timeout(parser)
    parser.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD ARGS")


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Run the command in each environment chosen, in turn: the first failure's exit code."""
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        raise EnvsyncError("no command given", hint="usage: envsync run -- CMD [ARGS...]")
    return each_env(args, ctx, functools.partial(_run, argv), run=True)


def _run(
    argv: Sequence[str],
    args: argparse.Namespace,
    ctx: Context,
    spec: Spec,
    groups: GroupSelection,
) -> int:
    """Sync unless told not to, then run the command and pass its exit code on."""
    if not args.no_sync:
        # Everything envsync says goes to stderr: the command's stdout stays its own.
        quiet = Context(args=args, out=ctx.err, err=ctx.err)
        done = run_command.sync(
            spec,
            groups=groups,
            mode=args.mode,
            timeout=args.lock_timeout,
            notice=notice(ctx),
            reporter=quiet.reporter(),
        )
        if done is not None:  # what changed, as `envsync apply` says it
            _said(quiet, done)
    return run_command.run_in(spec, argv, synced=not args.no_sync, notice=_notice(ctx))


def _said(ctx: Context, done: Outcome) -> None:
    """What apply did and, after a relock, the lock's changes per target."""
    if not done.plan.is_empty():
        ctx.write(text.applied_text(done))
    if done.lock.changes:
        ctx.write(text.lock_text(done.lock))


def _notice(ctx: Context) -> Callable[[str], None]:
    """Where run's one line about the command goes: stderr, unless --quiet."""

    def write(line: str) -> None:
        if not ctx.quiet:
            ctx.err.write(printable(line) + "\n")
            ctx.err.flush()

    return write
