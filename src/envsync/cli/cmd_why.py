"""``envsync why PKG``: every path from env.toml's requirements down to PKG, from the lock."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envsync.cli._options import add_groups, add_json
from envsync.cli._selection import selection
from envsync.core import treetext
from envsync.core.targets import PLATFORMS
from envsync.errors import EXIT_OK
from envsync.usecases import envs, inspect, project

if TYPE_CHECKING:
    import argparse

    from envsync.cli._context import Context
    from envsync.core.selection import GroupSelection
    from envsync.core.spec import Spec

__all__ = ["add_target", "chosen", "configure", "run", "warn_stale"]


def add_target(parser: argparse.ArgumentParser) -> None:
    """The groups, ``-e NAME``, ``--platform`` / ``--python`` as export takes them, ``--json``."""
    add_groups(parser)
    add_json(parser)
    parser.add_argument(
        "-e",
        "--env",
        metavar="NAME",
        help="as the environment NAME of env.toml's [envs] installs it: its Python, its "
        "groups (default: [env])",
    )
    parser.add_argument(
        "--platform",
        choices=list(PLATFORMS),
        help="for this platform of the lock's targets instead of this machine's "
        "(needs no Python of it here)",
    )
    parser.add_argument(
        "--python",
        metavar="X.Y",
        help="for this Python version of the lock's targets (with --platform, or alone "
        "where the lock serves one platform)",
    )


def configure(parser: argparse.ArgumentParser) -> None:
    """Add why's options."""
    parser.add_argument("package", metavar="PKG", help="a package of the lock")
    add_target(parser)


def chosen(args: argparse.Namespace) -> tuple[Spec, GroupSelection]:
    """The environment ``-e`` names (else [env]'s) and the groups it is read with."""
    spec = project.load_spec(args.spec)
    if args.env is not None:
        (spec,) = envs.pick(spec, [args.env])
    return spec, envs.groups_for(spec, selection(args))


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Show why the lock installs the package: each path up to a root, with its lines."""
    spec, groups = chosen(args)
    found = inspect.why(
        spec,
        args.package,
        groups,
        ctx.reporter(),
        platform=args.platform,
        python=args.python,
    )
    warn_stale(ctx, found.inspected)
    ctx.write(treetext.render_why(found.answer))
    data = {
        "target": found.inspected.target,
        "package": found.answer.name,
        "version": found.answer.version or None,
        "paths": treetext.paths(found.answer),
        "tree": treetext.node_data(found.answer),
    }
    return ctx.report("ok", EXIT_OK, data)


def warn_stale(ctx: Context, inspected: inspect.Inspected) -> None:
    """Say that the lock is out of date for env.toml, and read as it is."""
    if inspected.stale is not None:
        ctx.warn(f"pylock.toml is out of date ({inspected.stale}); read it as it is")
