"""``envsync check``: the CI gate. Exit 0 in sync, 2 out of sync, 1 on error."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from envsync.cli._options import add_groups, add_json
from envsync.cli._selection import selection
from envsync.core import render
from envsync.errors import EXIT_DRIFT, EXIT_OK
from envsync.usecases import check, project

if TYPE_CHECKING:
    import argparse

    from envsync.cli._context import Context
    from envsync.usecases.check import CheckOutcome


def configure(parser: argparse.ArgumentParser) -> None:
    """Add check's options."""
    add_groups(parser)
    add_json(parser)
    parser.add_argument(
        "--verify",
        action="store_true",
        help="also re-hash every installed file against its RECORD (finds local edits)",
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Check, print what differs, and exit with the documented code."""
    spec = project.load_spec(args.spec)
    outcome = check.check(spec, groups=selection(args), verify=args.verify)
    ctx.write(text(outcome, color=ctx.color))
    in_sync = outcome.in_sync()
    return ctx.report(
        "ok" if in_sync else "drift", EXIT_OK if in_sync else EXIT_DRIFT, data(outcome)
    )


def text(outcome: CheckOutcome, *, color: bool) -> str:
    """Lock and venv state, the changes apply would make, drifted files, and a verdict."""
    lines = [f"lock: {outcome.lock_state}" + _why(outcome.lock_reason)]
    venv_reason = {
        "ok": f" (Python {outcome.python})",
        "missing": " (run `envsync apply` to create it)",
        "wrong-python": f" (Python {outcome.python} does not satisfy env.toml's python)",
        "interrupted": " (an apply was stopped part way; `envsync apply` puts the venv back "
        "and finishes)",
        "broken": " (its interpreter no longer works; `envsync apply` makes it again)",
    }[outcome.venv_state]
    lines.append(f"venv: {outcome.venv_state}{venv_reason}")
    if outcome.plan is not None and not outcome.plan.is_empty():
        lines += ["", render.render_plan(outcome.plan, color=color)]
    lines += [f"! {d.package}: {d.kind} {d.path}" for d in outcome.drift]
    # Drifted files are invisible to a plain apply (its plan compares names and versions).
    fix = "envsync apply --verify" if outcome.drift else "envsync apply"
    verdict = "In sync." if outcome.in_sync() else f"Out of sync: run `{fix}` to fix it."
    return "\n".join([*lines, "", verdict])


def _why(reason: str | None) -> str:
    return f" ({reason})" if reason else ""


def data(outcome: CheckOutcome) -> dict[str, Any]:
    """The JSON report's data for check."""
    return {
        "in_sync": outcome.in_sync(),
        "lock": {
            "path": str(outcome.lock_path),
            "state": outcome.lock_state,
            "reason": outcome.lock_reason,
        },
        "venv": {"path": str(outcome.venv), "state": outcome.venv_state, "python": outcome.python},
        "groups": list(outcome.chosen.groups),
        "main": outcome.chosen.main,
        "plan": render.plan_to_json(outcome.plan) if outcome.plan is not None else None,
        "drift": [{"package": d.package, "kind": d.kind, "path": d.path} for d in outcome.drift],
    }
