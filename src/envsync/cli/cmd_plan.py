"""``envsync plan``: what apply would do; changes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envsync.cli import text
from envsync.cli._data import outcome_data
from envsync.cli._options import add_flag, add_groups, add_json, add_mode
from envsync.cli._selection import selection
from envsync.errors import EXIT_DRIFT, EXIT_OK
from envsync.usecases import apply, project
from envsync.usecases.backends import Services

if TYPE_CHECKING:
    import argparse

    from envsync.cli._context import Context


def configure(parser: argparse.ArgumentParser) -> None:
    """Add plan's options."""
    add_groups(parser)
    add_mode(parser)
    add_json(parser)
    add_flag(
        parser,
        "--detailed-exitcode",
        "exit 0 when there is nothing to do, 2 when there are changes, 1 on error",
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Plan and print it."""
    spec = project.load_spec(args.spec)
    outcome = apply.plan(
        spec,
        groups=selection(args),
        mode=args.mode,
        services=Services(reporter=ctx.reporter()),
    )
    ctx.write(text.plan_text(outcome, color=ctx.color))
    pending = not outcome.plan.is_empty() or outcome.venv_change != "keep"
    code = EXIT_DRIFT if args.detailed_exitcode and pending else EXIT_OK
    return ctx.report("changes" if pending else "ok", code, outcome_data(outcome, ctx.released))
