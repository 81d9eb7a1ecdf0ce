"""``envsync lock``: resolve env.toml into pylock.toml."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envsync.cli import text
from envsync.cli._locking import holding, remember_lock
from envsync.cli._options import add_lock_timeout
from envsync.errors import EXIT_OK
from envsync.usecases import lock, project
from envsync.usecases.backends import Services

if TYPE_CHECKING:
    import argparse

    from envsync.cli._context import Context


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
    spec = project.load_spec(args.spec)
    with holding(spec, args, ctx):
        outcome = lock.lock(
            spec,
            upgrade=args.upgrade,
            upgrade_packages=args.upgrade_package,
            services=Services(reporter=ctx.reporter(), ahead=ctx.ahead),
        )
        remember_lock(spec, outcome)
    ctx.write(text.lock_text(outcome))
    return EXIT_OK
