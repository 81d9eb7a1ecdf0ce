"""Every line the command line prints about a result or a step: one place to read them all.

Plans and errors are drawn by ``core.render`` (they are shown the same everywhere); this
module puts the use cases' outcomes and the progress events into words around them. JSON
is built in ``_data``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from envsync.core import render

if TYPE_CHECKING:
    from collections.abc import Sequence

    from envsync.core.lockdiff import TargetChanges
    from envsync.core.planner import Plan
    from envsync.report import Event
    from envsync.usecases.apply import Outcome
    from envsync.usecases.check import CheckOutcome
    from envsync.usecases.lock import LockOutcome

__all__ = [
    "applied_line",
    "applied_text",
    "check_text",
    "lock_head",
    "lock_text",
    "locked_line",
    "plan_text",
    "progress_line",
    "step_line",
    "target_lines",
]

_PAST = {
    "install": "installed",
    "upgrade": "upgraded",
    "downgrade": "downgraded",
    "reinstall": "reinstalled",
    "remove": "removed",
}
_LOCK_VERB = {"unchanged": "is up to date", "created": "written", "updated": "updated"}
_LOCK_WOULD = {
    "unchanged": "is up to date",
    "created": "would be written",
    "updated": "would be updated",
}


def plan_text(outcome: Outcome, *, color: bool) -> str:
    """The venv and lock lines, then the package plan."""
    lines = []
    if outcome.venv_change == "create":
        lines.append(f"+ venv {outcome.venv} (Python {outcome.python})")
    elif outcome.venv_change == "recreate":
        lines.append(
            f"~ venv {outcome.venv} recreated with Python {outcome.python}: {outcome.venv_reason}"
        )
    if outcome.lock.change != "unchanged":
        lines.append(f"~ {outcome.lock.path.name} will be {outcome.lock.change} by apply")
        lines += _changes_lines(outcome.lock.changes)  # per target, what the relock changes
    if lines:
        lines.append("")
    lines.append(render.render_plan(outcome.plan, color=color))
    return "\n".join(lines)


def applied_text(outcome: Outcome) -> str:
    """What an apply changed, counted by kind (an empty plan already said "No changes.")."""
    return applied_line(outcome.venv, outcome.plan)


def applied_line(venv: object, plan: Plan) -> str:
    """``Applied to VENV: ...``: *plan*'s changes counted by kind."""
    counts = render.plan_counts(plan)
    done = ", ".join(f"{n} {_PAST[kind]}" for kind, n in counts.items() if n)
    return f"Applied to {venv}: {done}."


def lock_text(outcome: LockOutcome, *, fresh: bool = False, dry_run: bool = False) -> str:
    """What happened to pylock.toml (with *dry_run*: what would happen).

    With *fresh*: the line a later ``lock`` that finds nothing changed prints (the no-change
    path keeps it), without this run's changes: that later run changes nothing.
    """
    from envsync.core.targets import describe  # noqa: PLC0415 - packaging; not on the fast path

    change = "unchanged" if fresh else outcome.change
    head = lock_head(
        outcome.path.name, change, outcome.packages, describe(outcome.targets), dry_run=dry_run
    )
    return "\n".join([head, *([] if fresh else _changes_lines(outcome.changes))])


def lock_head(name: str, change: str, packages: int, targets: str, *, dry_run: bool = False) -> str:
    """The first line of ``lock_text``: the lock's *name*, what *change* did, and its size."""
    verb = (_LOCK_WOULD if dry_run else _LOCK_VERB)[change]
    return f"{name} {verb}: {packages} package(s) for {targets}"


def _changes_lines(changes: Sequence[TargetChanges]) -> list[str]:
    """Per target, what changed; targets that changed alike share one heading."""
    from envsync.core.targets import describe  # noqa: PLC0415 - packaging; not on the fast path

    alike: dict[tuple[object, ...], list[TargetChanges]] = {}
    for change in changes:
        key = (change.added, change.removed, change.changed, change.new_target)
        alike.setdefault(key, []).append(change)
    lines = []
    for group in alike.values():
        first = group[0]
        heading = describe([c.target for c in group])
        lines += target_lines(
            heading, first.added, first.changed, first.removed, new=first.new_target
        )
    return lines


def target_lines(
    heading: str,
    added: Sequence[tuple[str, str]],
    changed: Sequence[tuple[str, str, str]],
    removed: Sequence[tuple[str, str]],
    *,
    new: bool = False,
) -> list[str]:
    """What changed for the targets *heading* names."""
    lines = [f"  {heading}{' (new target)' if new else ''}:"]
    lines += [f"    + {name} {version}" for name, version in added]
    lines += [f"    ~ {name} {old} -> {new_v}" for name, old, new_v in changed]
    lines += [f"    - {name} {version}" for name, version in removed]
    return lines


def check_text(outcome: CheckOutcome, *, color: bool, env: str | None = None) -> str:
    """Lock and venv state, the changes apply would make, drifted files, and a verdict.

    *env*: the named environment checked (``-e NAME``), which the commands it names take.
    """
    apply = "envsync apply" if env is None else f"envsync apply -e {env}"
    lines = [f"lock: {outcome.lock_state}" + _why(outcome.lock_reason)]
    venv_reason = {
        "ok": f" (Python {outcome.python})",
        "missing": f" (run `{apply}` to create it)",
        "wrong-python": f" (Python {outcome.python} does not satisfy env.toml's python)",
        "interrupted": f" (an apply was stopped part way; `{apply}` puts the venv back "
        "and finishes)",
        "broken": f" (its interpreter no longer works; `{apply}` makes it again)",
    }[outcome.venv_state]
    lines.append(f"venv: {outcome.venv_state}{venv_reason}")
    if outcome.remembered:  # no group options: say which groups were checked, and why
        names = ", ".join(outcome.chosen.groups) or "none"
        only = "" if outcome.chosen.main else " only"
        lines.append(f"groups: {names}{only} (as the venv was last applied)")
    if outcome.plan is not None and not outcome.plan.is_empty():
        lines += ["", render.render_plan(outcome.plan, color=color)]
    lines += [f"! {d.package}: {d.kind} {d.path}" for d in outcome.drift]
    # Drifted files are invisible to a plain apply (its plan compares names and versions).
    fix = f"{apply} --verify" if outcome.drift else apply
    verdict = "In sync." if outcome.in_sync() else f"Out of sync: run `{fix}` to fix it."
    return "\n".join([*lines, "", verdict])


def _why(reason: str | None) -> str:
    return f" ({reason})" if reason else ""


def progress_line(event: Event) -> str:
    """One line of progress for *event*."""
    # Imported here: the pure-removal fast path words its steps without the event classes.
    from envsync.report import Locked, Notice, PinReleased, Resolving, Step  # noqa: PLC0415

    if isinstance(event, Resolving):
        where = f" on {event.platform}" if event.platform else ""
        return f"Resolving {event.requirements} requirement(s) for Python {event.python}{where}..."
    if isinstance(event, PinReleased):
        pin = f"{event.package} {event.pinned}"
        return f"Letting go of pinned {pin} (now {event.now}): {event.because}"
    if isinstance(event, Locked):
        return locked_line(event.packages)
    if isinstance(event, Step):
        return step_line(event.what)
    if isinstance(event, Notice):
        return f"envsync: {event.what}"
    return str(event)  # pragma: no cover - Progress is drawn as a bar, never as a line


def step_line(what: str) -> str:
    """The progress line of a step: ``What...``."""
    return what[:1].upper() + what[1:] + "..."


def locked_line(packages: int) -> str:
    """The progress line of a lock written with *packages* packages."""
    return f"Locked {packages} package(s) in pylock.toml"
