"""``envsync add``: add requirements to env.toml, then lock and apply."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envsync.cli._editing import add_edit_modes, add_env, finish, mode_of
from envsync.cli._options import add_json, add_lock_timeout
from envsync.core.specedit import BOUNDS
from envsync.usecases import edit
from envsync.usecases.backends import Services

if TYPE_CHECKING:
    import argparse

    from envsync.cli._context import Context


def configure(parser: argparse.ArgumentParser) -> None:
    """Add add's options."""
    parser.add_argument(
        "requirements",
        nargs="+",
        metavar="REQUIREMENT",
        help='a PEP 508 requirement: "requests", "requests>=2.31", "rich[jupyter]"',
    )
    parser.add_argument(
        "--group", metavar="NAME", help="add to [groups] NAME (made if missing), not [env]"
    )
    parser.add_argument(
        "--bounds",
        choices=BOUNDS,
        default="lower",
        help="the bound a bare name gets from the version resolved: lower >=X.Y (default), "
        "major >=X.Y,<X+1, minor >=X.Y.Z,<X.Y+1, exact ==X.Y.Z",
    )
    add_env(parser)
    add_edit_modes(parser)
    add_json(parser)
    add_lock_timeout(parser)


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Edit, lock, apply; say what changed in env.toml, the lock and the venv."""
    opened = edit.open_spec(args.spec)
    return finish(
        edit.for_env(opened.spec, args.env),  # the venv held is the one applied
        args,
        ctx,
        lambda: edit.add(
            opened,
            args.requirements,
            group=args.group,
            bounds=args.bounds,
            mode=mode_of(args),
            env=args.env,
            services=Services(reporter=ctx.reporter()),
        ),
    )
