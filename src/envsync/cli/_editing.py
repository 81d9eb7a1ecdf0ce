"""What add, remove and upgrade share: their mode options, and how their outcome is shown.

The lock's per-target changes and the venv summary are drawn as ``lock`` and ``apply`` draw
them (``text``, ``_data``); this module adds the lines of env.toml an edit changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from envsync.cli import text
from envsync.cli._data import lock_data, outcome_data
from envsync.cli._locking import holding, remember_lock
from envsync.core.specenvs import DEFAULT_ENV
from envsync.errors import EXIT_OK

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from envsync.cli._context import Context
    from envsync.core.spec import Spec
    from envsync.usecases.edit import EditMode, EditOutcome

__all__ = ["add_edit_modes", "add_env", "edit_data", "edit_text", "finish", "guarded", "mode_of"]


def add_env(parser: argparse.ArgumentParser) -> None:
    """-e/--env NAME: the one environment applied after the edit (the lock is everyone's)."""
    parser.add_argument(
        "-e",
        "--env",
        metavar="NAME",
        help="apply to the environment NAME of env.toml's [envs] afterwards, with its groups "
        "(default: [env]); the edit and the lock are shared by every environment",
    )


def add_edit_modes(parser: argparse.ArgumentParser, *, dry_run: bool = False) -> None:
    """--no-apply and --frozen (as uv's --no-sync and --frozen), or --dry-run for upgrade."""
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument(
        "--no-apply",
        action="store_const",
        const="no-apply",
        dest="edit_mode",
        help="write pylock.toml (and the edit of env.toml); leave the venv as it is",
    )
    if dry_run:
        modes.add_argument(
            "--dry-run",
            action="store_const",
            const="dry-run",
            dest="edit_mode",
            help="show what the lock would change; write nothing, change no venv",
        )
    else:
        modes.add_argument(
            "--frozen",
            action="store_const",
            const="frozen",
            dest="edit_mode",
            help="only edit env.toml: neither lock nor apply",
        )
    parser.set_defaults(edit_mode="apply")


def mode_of(args: argparse.Namespace) -> EditMode:
    """The mode the command line chose."""
    mode: EditMode = args.edit_mode
    return mode


def guarded(spec: Spec, args: argparse.Namespace, ctx: Context) -> AbstractContextManager[None]:
    """The venv's lock, as apply and lock hold it; none for what touches only env.toml."""
    if args.edit_mode in {"frozen", "dry-run"}:
        import contextlib  # noqa: PLC0415 - only these two modes need a no-op

        return contextlib.nullcontext()
    return holding(spec, args, ctx)


def finish(
    spec: Spec, args: argparse.Namespace, ctx: Context, run: Callable[[], EditOutcome]
) -> int:
    """Run the edit under the venv's lock, then show (or report) what it changed."""
    with guarded(spec, args, ctx):
        outcome = run()
        # As apply: `lock`'s no-change answer is for [env]'s venv.
        if outcome.lock is not None and outcome.written and spec.env_name == DEFAULT_ENV:
            remember_lock(spec, outcome.lock)
    for bare in outcome.unbounded:
        why = "--frozen resolves nothing" if outcome.lock is None else "nothing was resolved for it"
        ctx.warn(f"{bare} was written without a version bound: {why}")
    ctx.write(edit_text(outcome))
    changed = outcome.lock is not None and outcome.lock.change != "unchanged"
    status = "changes" if not outcome.written and changed else "ok"
    return ctx.report(status, EXIT_OK, edit_data(outcome, ctx))


def edit_text(outcome: EditOutcome) -> str:
    """env.toml's changed lines, what pylock.toml changed per target, what the venv did."""
    lines = []
    if outcome.lines.added or outcome.lines.removed:
        lines.append(f"{outcome.spec_path.name}:")
        # Stripped, blank lines left out: the lines' content is the news, not their layout.
        lines += [f"  + {line.strip()}" for line in outcome.lines.added if line.strip()]
        lines += [f"  - {line.strip()}" for line in outcome.lines.removed if line.strip()]
    if outcome.lock is None:
        lines.append("pylock.toml was not updated (--frozen): `envsync apply` locks and applies")
    else:
        lines.append(text.lock_text(outcome.lock, dry_run=not outcome.written))
    if not outcome.written:
        lines.append("Dry run: nothing was written, the venv was left as it is.")
    if outcome.applied is not None and not outcome.applied.plan.is_empty():
        lines.append(text.applied_text(outcome.applied))
    return "\n".join(lines)


def edit_data(outcome: EditOutcome, ctx: Context) -> dict[str, Any]:
    """The JSON report's data: env.toml's lines, the lock, the apply (schema: ``edit``)."""
    applied = outcome.applied
    return {
        "spec": {
            "path": str(outcome.spec_path),
            "added": list(outcome.lines.added),
            "removed": list(outcome.lines.removed),
        },
        "lock": None if outcome.lock is None else lock_data(outcome.lock, ctx.released),
        "apply": None if applied is None else outcome_data(applied, ctx.released),
        "unbounded": list(outcome.unbounded),
        "written": outcome.written,
    }
