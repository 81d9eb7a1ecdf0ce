"""``envsync check``: the CI gate. Exit 0 in sync, 2 out of sync, 1 on error."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envsync.cli import text
from envsync.cli._data import check_data
from envsync.cli._multienv import each_env
from envsync.cli._options import add_envs, add_flag, add_groups, add_json
from envsync.core.specenvs import DEFAULT_ENV
from envsync.errors import EXIT_DRIFT, EXIT_OK
from envsync.usecases import check, envs

if TYPE_CHECKING:
    import argparse

    from envsync.cli._context import Context
    from envsync.core.selection import GroupSelection
    from envsync.core.spec import Spec


def configure(parser: argparse.ArgumentParser) -> None:
    """Add check's options."""
    add_groups(parser)
    add_envs(parser)
    add_json(parser)
    add_flag(
        parser,
        "--verify",
        "also re-hash every installed file against its RECORD (finds local edits)",
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Check each environment chosen: one gate for the matrix, with a line per environment."""
    states: dict[str, str] = {}

    def one(args: argparse.Namespace, ctx: Context, spec: Spec, groups: GroupSelection) -> int:
        return _check(args, ctx, spec, groups, states)

    return each_env(args, ctx, one, states=states)


def _check(
    args: argparse.Namespace,
    ctx: Context,
    spec: Spec,
    groups: GroupSelection,
    states: dict[str, str],
) -> int:
    """Check, print what differs, and exit with the documented code."""
    outcome = check.check(spec, groups=groups, verify=args.verify)
    states[spec.env_name] = envs.state_of(outcome)
    named = None if spec.env_name == DEFAULT_ENV else spec.env_name
    ctx.write(text.check_text(outcome, color=ctx.color, env=named))
    in_sync = outcome.in_sync()
    return ctx.report(
        "ok" if in_sync else "drift", EXIT_OK if in_sync else EXIT_DRIFT, check_data(outcome)
    )
