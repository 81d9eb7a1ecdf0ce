"""``envsync tree``: what the lock installs, as a tree from env.toml's requirements down."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from envsync.cli.cmd_why import add_target, chosen, warn_stale
from envsync.core import lockgraph, treetext
from envsync.errors import EXIT_OK
from envsync.usecases import inspect

if TYPE_CHECKING:
    from envsync.cli._context import Context

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add tree's options."""
    parser.add_argument(
        "package",
        metavar="PKG",
        nargs="?",
        help="only PKG and what it needs (with --invert: what pulls it in)",
    )
    parser.add_argument(
        "--depth",
        type=_depth,
        metavar="N",
        help="show N levels of packages below each top line (0: the top lines only)",
    )
    parser.add_argument(
        "--invert",
        action="store_true",
        help="start from each package nothing else needs (or PKG), and show what pulls it in",
    )
    add_target(parser)


def _depth(text: str) -> int:
    try:
        depth = int(text)
    except ValueError:
        depth = -1
    if depth < 0:
        msg = f"expected a whole number of levels (0 or more), found {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return depth


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Show the tree of what the lock installs on the chosen target."""
    spec, groups = chosen(args)
    asked = str(canonicalize_name(args.package)) if args.package else None
    if asked is not None:
        # `why` checks the name (did-you-mean, the targets that install it), once.
        found = inspect.why(
            spec, asked, groups, ctx.reporter(), platform=args.platform, python=args.python
        )
        inspected = found.inspected
    else:
        inspected = inspect.graph_of(
            spec, groups, ctx.reporter(), platform=args.platform, python=args.python
        )
    warn_stale(ctx, inspected)
    nodes = lockgraph.tree(inspected.graph, depth=args.depth, invert=args.invert, package=asked)
    ctx.write(treetext.render_tree(nodes, inverted=args.invert))
    data = {"target": inspected.target, "tree": [treetext.node_data(n) for n in nodes]}
    return ctx.report("ok", EXIT_OK, data)
