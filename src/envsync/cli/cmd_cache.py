"""``envsync cache dir | verify | prune | clean``: look after the wheel cache, as ``uv cache`` does.

The cache is the one ``$ENVSYNC_CACHE_DIR`` (else ``$XDG_CACHE_HOME/envsync``, else
``~/.cache/envsync``) names; env.toml plays no part. Exit 0, or 2 when ``verify`` finds a bad
entry it was not asked to fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from envsync.cli._options import add_json
from envsync.errors import EXIT_DRIFT, EXIT_OK
from envsync.usecases import cache

if TYPE_CHECKING:
    import argparse
    from pathlib import Path
    from typing import Any

    from envsync.cli._context import Context

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the four actions and their options."""
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    folder = actions.add_parser("dir", help="print the cache folder", description="print it")
    check = actions.add_parser(
        "verify",
        help="re-hash every cached wheel and unpacked wheel; exit 2 if one is bad",
        description="re-hash every cached wheel (against the sha256 it is named by) and every "
        "unpacked wheel (against its manifest); exit 2 if one is bad",
    )
    check.add_argument("--fix", action="store_true", help="remove each bad entry")
    prune = actions.add_parser(
        "prune",
        help="remove what no venv uses, and leftovers of killed runs",
        description="remove unpacked wheels no venv links to, their wheels, wheels never "
        "unpacked, and leftovers older than an hour",
    )
    prune.add_argument(
        "--all",
        action="store_true",
        dest="everything",
        help="also remove unpacked wheels venvs still link to (the venvs keep their files)",
    )
    clean = actions.add_parser(
        "clean",
        help="remove the whole cache folder",
        description="remove the whole cache folder (only if it holds nothing but envsync's own)",
    )
    for action in (folder, check, prune, clean):
        add_json(action)


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Carry out the action; print what it found or freed."""
    root = cache.folder()
    if args.action == "dir":
        ctx.write(str(root))
        return ctx.report("ok", EXIT_OK, _data(args, root))
    if args.action == "verify":
        return _verify(args, root, ctx)
    if args.action == "prune":
        freed = cache.prune(everything=args.everything)
        kept = (
            f" Kept {freed.kept} unpacked wheel(s) that venvs link to (`--all` removes them too)."
            if freed.kept
            else ""
        )
        ctx.write(f"Removed {_amount(freed)} from {root}.{kept}")
        return ctx.report("ok", EXIT_OK, _data(args, root, freed=freed))
    freed = cache.clean()
    ctx.write(f"Removed {root}: {_amount(freed)}.")
    return ctx.report("ok", EXIT_OK, _data(args, root, freed=freed))


def _data(
    args: argparse.Namespace,
    root: Path,
    *,
    freed: cache.Freed | None = None,
    bad: list[cache.Bad] | None = None,
) -> dict[str, Any]:
    """The JSON report's data for ``cache`` (schemas/report.schema.json, ``cache``)."""
    data: dict[str, Any] = {"action": args.action, "cache": str(root)}
    if bad is not None:
        data["bad"] = [{"path": str(b.path), "problem": b.problem} for b in bad]
    if freed is not None:
        data.update(removed=freed.entries, freed_bytes=freed.size, kept=freed.kept)
    return data


def _verify(args: argparse.Namespace, root: Path, ctx: Context) -> int:
    bad = cache.verify(fix=args.fix)
    for entry in bad:
        ctx.write(f"! {entry.path}: {entry.problem}")
    data = _data(args, root, bad=bad)
    if not bad:
        ctx.write(f"Every entry of {root} is intact.")
        return ctx.report("ok", EXIT_OK, data)
    if args.fix:
        ctx.write(
            f"Removed {len(bad)} bad entr{'y' if len(bad) == 1 else 'ies'}: each is fetched or "
            "unpacked again when next needed. A venv linked to one keeps its files: "
            "`envsync apply --verify` there repairs it."
        )
        return ctx.report("ok", EXIT_OK, data)
    ctx.write(
        f"{len(bad)} bad entr{'y' if len(bad) == 1 else 'ies'}: run `envsync cache verify --fix` "
        "to remove them (or `envsync cache clean` to start afresh)."
    )
    return ctx.report("drift", EXIT_DRIFT, data)


def _amount(freed: cache.Freed) -> str:
    """``3 entries, 1.2 MiB freed``."""
    return f"{freed.entries} entr{'y' if freed.entries == 1 else 'ies'}, {_bytes(freed.size)} freed"


def _bytes(size: int) -> str:
    """``512 bytes``, ``1.2 MiB``."""
    if size < _KIB:
        return f"{size} bytes"
    value, unit = size / _KIB, "KiB"
    for larger in ("MiB", "GiB"):
        if value < _KIB:
            break
        value, unit = value / _KIB, larger
    return f"{value:.1f} {unit}"


_KIB = 1024
