"""``envsync export``: pylock.toml -> a requirements file with hashes. Never resolves."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from envsync.cli._multienv import each_env, several
from envsync.cli._options import add_envs, add_groups
from envsync.core.targets import PLATFORMS
from envsync.errors import EXIT_OK, EnvsyncError
from envsync.usecases import export

if TYPE_CHECKING:
    import argparse

    from envsync.cli._context import Context
    from envsync.core.selection import GroupSelection
    from envsync.core.spec import Spec

__all__ = ["configure", "run"]

#: ``--format`` values: ours, and uv's ``export --format`` names for the same formats.
_FORMATS: dict[str, export.ExportFormat] = {
    "requirements": "requirements",
    "requirements.txt": "requirements",
    "cyclonedx": "cyclonedx",
    "cyclonedx1.6": "cyclonedx",
}


def configure(parser: argparse.ArgumentParser) -> None:
    """Add export's options."""
    parser.add_argument(
        "--format",
        choices=list(_FORMATS),
        default="requirements",
        help="the output format: a pip requirements file with hashes (default), or a CycloneDX "
        "1.6 JSON SBOM of the same packages (cyclonedx)",
    )
    add_groups(parser)
    add_envs(parser)
    parser.add_argument(
        "--platform",
        choices=list(PLATFORMS),
        help="export for this platform of the lock's targets instead of this machine's "
        "(needs no Python of it here)",
    )
    parser.add_argument(
        "--python",
        metavar="X.Y",
        help="export for this Python version of the lock's targets (with --platform, or alone "
        "where the lock serves one platform)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="write to FILE (replaced atomically) instead of stdout",
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Export for the default environment, or the one ``-e`` names (its groups, its Python)."""
    if several(args):
        raise EnvsyncError(
            "export writes one file, so it exports one environment at a time",
            hint="name one environment with -e NAME (and -o FILE for each)",
        )
    return each_env(args, ctx, _export)


def _export(args: argparse.Namespace, ctx: Context, spec: Spec, groups: GroupSelection) -> int:
    """Export the lock as it is: a missing lock is an error, a stale one a warning."""
    result = export.export_lock(
        spec,
        groups,
        ctx.reporter(),
        platform=args.platform,
        python=args.python,
        format=_FORMATS[args.format],
    )
    if result.stale is not None:
        ctx.warn(f"pylock.toml is out of date ({result.stale}); exported it as it is")
    for name in result.file.local:
        ctx.warn(
            f"{name} is a local folder: pip refuses it under --require-hashes, "
            "so it is only listed in a comment at the end; install it separately"
        )
    for name in result.file.vcs:
        ctx.warn(
            f"{name} is a git commit: pip refuses it under --require-hashes, "
            "so it is only listed in a comment at the end; install it separately"
        )
    if args.output is None:
        ctx.out.write(result.file.text)
    else:
        export.write(args.output, result.file.text)
        ctx.write(f"Exported {len(result.file.packages)} package(s) to {args.output}")
    return EXIT_OK
