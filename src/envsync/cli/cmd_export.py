"""``envsync export``: pylock.toml -> a requirements file with hashes. Never resolves."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from envsync import _atomic, export, lockfile, projectfiles, target
from envsync.cli._options import add_groups
from envsync.cli._selection import selection
from envsync.errors import EXIT_OK, MissingLockError
from envsync.selection import choose

if TYPE_CHECKING:
    import argparse

    from envsync.cli._context import Context

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add export's options."""
    parser.add_argument(
        "--format",
        choices=["requirements"],
        default="requirements",
        help="the output format: a pip requirements file (the only one so far)",
    )
    add_groups(parser)
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="write to FILE (replaced atomically) instead of stdout",
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Export the lock as it is: a missing lock is an error, a stale one a warning."""
    spec = projectfiles.load_spec(args.spec)
    path = projectfiles.lock_path(spec)
    the_lock = projectfiles.read_lock(path)
    if the_lock is None:
        msg = f"export needs a lock, and {path} does not exist"
        raise MissingLockError(msg, hint="run `envsync lock` first; export never resolves")
    table = lockfile.info(the_lock, path=path)
    # Like --frozen: the groups are the lock's, not the spec's.
    chosen = choose(selection(args), known=table.groups, default=table.default_groups)
    found = target.find_target(spec, ctx.reporter())
    why = target.staleness(the_lock, spec, found.version)
    if why is not None:
        ctx.warn(f"pylock.toml is out of date ({why}); exported it as it is")
    exported = export.requirements(
        the_lock,
        environment=found.markers,
        tags=found.tags,
        groups=chosen.groups,
        root=spec.root,
        main=chosen.main,
    )
    for name in exported.local:
        ctx.warn(
            f"{name} is a local folder: pip refuses it under --require-hashes, "
            "so it is only listed in a comment at the end; install it separately"
        )
    _write(args.output, exported, ctx)
    return EXIT_OK


def _write(output: Path | None, exported: export.Exported, ctx: Context) -> None:
    if output is None:
        ctx.out.write(exported.text)
        return
    _atomic.write_text(output, exported.text)
    ctx.write(f"Exported {len(exported.packages)} package(s) to {output}")
