"""``envsync remove``: remove requirements from env.toml, then lock and apply."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envsync.cli._editing import add_edit_modes, add_env, finish, mode_of
from envsync.cli._options import add_json, add_lock_timeout
from envsync.usecases import edit
from envsync.usecases.backends import Services

if TYPE_CHECKING:
    import argparse

    from envsync.cli._context import Context


def configure(parser: argparse.ArgumentParser) -> None:
    """Add remove's options."""
    parser.add_argument("packages", nargs="+", metavar="PACKAGE", help="a package name")
    parser.add_argument(
        "--group", metavar="NAME", help="remove from [groups] NAME, not from [env] dependencies"
    )
    add_env(parser)
    add_edit_modes(parser)
    add_json(parser)
    add_lock_timeout(parser)


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Edit, lock (pruned, without a resolver, where it can), apply; say what changed."""
    opened = edit.open_spec(args.spec)
    return finish(
        edit.for_env(opened.spec, args.env),  # the venv held is the one applied
        args,
        ctx,
        lambda: edit.remove(
            opened,
            args.packages,
            group=args.group,
            mode=mode_of(args),
            env=args.env,
            services=Services(reporter=ctx.reporter()),
        ),
    )
