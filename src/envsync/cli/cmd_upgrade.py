"""``envsync upgrade``: lock again with some packages (or all) unpinned, then apply."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envsync.cli._editing import add_edit_modes, add_env, finish, mode_of
from envsync.cli._options import add_groups, add_json, add_lock_timeout
from envsync.cli._selection import selection
from envsync.usecases import edit, project
from envsync.usecases.backends import Services

if TYPE_CHECKING:
    import argparse

    from envsync.cli._context import Context


def configure(parser: argparse.ArgumentParser) -> None:
    """Add upgrade's options."""
    parser.add_argument(
        "packages",
        nargs="*",
        metavar="PACKAGE",
        help="a package of pylock.toml to upgrade (default: every package)",
    )
    add_groups(parser)
    add_env(parser)
    add_edit_modes(parser, dry_run=True)
    add_json(parser)
    add_lock_timeout(parser)


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Relock with the packages unpinned, apply; say each version that moved, per target."""
    spec = project.load_spec(args.spec)
    return finish(
        edit.for_env(spec, args.env),  # the venv held is the one applied
        args,
        ctx,
        lambda: edit.upgrade(
            spec,
            args.packages,
            mode=mode_of(args),
            env=args.env,
            groups=selection(args),
            services=Services(reporter=ctx.reporter()),
        ),
    )
