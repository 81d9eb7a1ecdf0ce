"""``envsync run -- CMD ARGS...``: run a command inside the environment, synced first."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from envsync import check, projectfiles, reconcile
from envsync._subprocess import call
from envsync.cli._context import Context
from envsync.cli._locking import holding
from envsync.cli._options import add_groups, add_lock_timeout, add_mode
from envsync.cli._selection import selection
from envsync.errors import EnvsyncError, VenvError
from envsync.venv import is_venv, venv_python

if TYPE_CHECKING:
    from pathlib import Path

    from envsync.spec import Spec


def configure(parser: argparse.ArgumentParser) -> None:
    """Add run's options and the command."""
    add_groups(parser)
    add_mode(parser)
    parser.add_argument(
        "--no-sync",
        action="store_true",
        help="run in the venv as it is: no check, no lock, no install",
    )
    add_lock_timeout(parser)
    parser.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD ARGS")


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Sync unless told not to, then run the command and pass its exit code on."""
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        raise EnvsyncError("no command given", hint="usage: envsync run -- CMD [ARGS...]")
    spec = projectfiles.load_spec(args.spec)
    if not args.no_sync:
        _sync(spec, args, ctx)
    elif not is_venv(spec.venv):
        msg = f"there is no venv at {spec.venv}, and --no-sync forbids making it"
        raise VenvError(msg, hint="run `envsync apply` first, or drop --no-sync")
    return call(argv, env=activated(spec.venv))


def _sync(spec: Spec, args: argparse.Namespace, ctx: Context) -> None:
    """The fast check first; apply only when the venv or lock differs.

    Both under the venv's lock, so no other envsync changes the venv between the check and
    the apply. The lock is released before the command starts: a long-running command must
    not keep every other envsync waiting, and the command may well run envsync itself.
    """
    groups = selection(args)
    with holding(spec, args, ctx):
        if check.check(spec, groups=groups).in_sync():
            return
        # Everything envsync says goes to stderr: the command's stdout stays its own.
        quiet = Context(args=args, out=ctx.err, err=ctx.err)
        services = reconcile.Services(reporter=quiet.reporter())
        reconcile.apply(spec, groups=groups, mode=args.mode, services=services)


def activated(venv: Path) -> dict[str, str]:
    """os.environ as ``source VENV/bin/activate`` would leave it."""
    env = dict(os.environ)
    env.pop("PYTHONHOME", None)
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join([str(venv_python(venv).parent), env.get("PATH", "")])
    return env
