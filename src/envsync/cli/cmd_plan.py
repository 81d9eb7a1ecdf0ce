"""``envsync plan``: what apply would do; changes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envsync.cli import text
from envsync.cli._data import outcome_data
from envsync.cli._multienv import each_env
from envsync.cli._options import add_envs, add_flag, add_groups, add_json, add_mode
from envsync.errors import EXIT_DRIFT, EXIT_OK
from envsync.usecases import apply
from envsync.usecases.backends import Services

if TYPE_CHECKING:
    import argparse

    from envsync.cli._context import Context
    from envsync.core.selection import GroupSelection
    from envsync.core.spec import Spec


def configure(parser: argparse.ArgumentParser) -> None:
    """Add plan's options."""
    add_groups(parser)
    add_envs(parser)
    add_mode(parser)
    add_json(parser)
    add_flag(
        parser,
        "--detailed-exitcode",
        "exit 0 when there is nothing to do, 2 when there are changes, 1 on error",
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Plan each environment chosen (the default one, or ``-e``), in turn."""
    return each_env(args, ctx, _plan)


def _plan(args: argparse.Namespace, ctx: Context, spec: Spec, groups: GroupSelection) -> int:
    """Plan and print it."""
    outcome = apply.plan(
        spec,
        groups=groups,
        mode=args.mode,
        services=Services(reporter=ctx.reporter()),
    )
    ctx.write(text.plan_text(outcome, color=ctx.color))
    pending = not outcome.plan.is_empty() or outcome.venv_change != "keep"
    code = EXIT_DRIFT if args.detailed_exitcode and pending else EXIT_OK
    return ctx.report("changes" if pending else "ok", code, outcome_data(outcome, ctx.released))
