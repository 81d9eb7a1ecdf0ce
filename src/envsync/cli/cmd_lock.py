"""``envsync lock``: resolve env.toml into pylock.toml."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envsync.cli._locking import holding
from envsync.cli._options import add_lock_timeout
from envsync.errors import EXIT_OK
from envsync.usecases import nochange, projectfiles, reconcile, target

if TYPE_CHECKING:
    import argparse

    from envsync.cli._context import Context
    from envsync.core.spec import Spec


def configure(parser: argparse.ArgumentParser) -> None:
    """Add lock's options."""
    parser.add_argument("--upgrade", action="store_true", help="ignore every existing pin")
    parser.add_argument(
        "--upgrade-package",
        action="append",
        default=[],
        metavar="NAME",
        help="ignore the existing pin of NAME (repeatable)",
    )
    add_lock_timeout(parser)


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Lock and say what happened to pylock.toml.

    Under the venv's lock, like apply: an apply of this project rewrites pylock.toml too.
    """
    spec = projectfiles.load_spec(args.spec)
    with holding(spec, args, ctx):
        outcome = reconcile.lock(
            spec,
            upgrade=args.upgrade,
            upgrade_packages=args.upgrade_package,
            services=reconcile.Services(reporter=ctx.reporter()),
        )
        remember_lock(spec, outcome)
    verb = {"unchanged": "is up to date", "created": "written", "updated": "updated"}
    ctx.write(
        f"{outcome.path.name} {verb[outcome.change]}: "
        f"{outcome.packages} package(s) for Python {outcome.python}"
    )
    return EXIT_OK


def remember_lock(spec: Spec, outcome: reconcile.LockOutcome) -> None:
    """Let the next ``lock`` with nothing changed answer without loading envsync."""
    nochange.record_lock(
        spec=spec.path,
        venv=spec.venv,
        local_files=target.local_build_files(spec),
        summary=f"{outcome.path.name} is up to date: "
        f"{outcome.packages} package(s) for Python {outcome.python}",
    )
