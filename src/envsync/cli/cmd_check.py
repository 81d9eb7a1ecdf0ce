"""``envsync check``: the CI gate. Exit 0 in sync, 2 out of sync, 1 on error."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envsync.cli import text
from envsync.cli._data import check_data
from envsync.cli._options import add_flag, add_groups, add_json
from envsync.cli._selection import selection
from envsync.errors import EXIT_DRIFT, EXIT_OK
from envsync.usecases import check, project

if TYPE_CHECKING:
    import argparse

    from envsync.cli._context import Context


def configure(parser: argparse.ArgumentParser) -> None:
    """Add check's options."""
    add_groups(parser)
    add_json(parser)
    add_flag(
        parser,
        "--verify",
        "also re-hash every installed file against its RECORD (finds local edits)",
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Check, print what differs, and exit with the documented code."""
    spec = project.load_spec(args.spec)
    outcome = check.check(spec, groups=selection(args), verify=args.verify)
    ctx.write(text.check_text(outcome, color=ctx.color))
    in_sync = outcome.in_sync()
    return ctx.report(
        "ok" if in_sync else "drift", EXIT_OK if in_sync else EXIT_DRIFT, check_data(outcome)
    )
