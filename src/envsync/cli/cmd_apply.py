"""``envsync apply``: lock if needed, create the venv if needed, make it match the lock."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envsync.cli import fastpath, text
from envsync.cli._data import outcome_data
from envsync.cli._locking import holding, remember_lock
from envsync.cli._multienv import each_env
from envsync.cli._options import (
    add_envs,
    add_flag,
    add_groups,
    add_json,
    add_lock_timeout,
    add_mode,
)
from envsync.core import render
from envsync.core.specenvs import DEFAULT_ENV
from envsync.errors import EXIT_OK
from envsync.report import Step
from envsync.usecases import apply, nochange, remembered, removalrecipe
from envsync.usecases.backends import Services

if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping, Sequence

    from envsync.cli._context import Context
    from envsync.core.selection import GroupSelection
    from envsync.core.spec import Spec
    from envsync.usecases.apply import Outcome

    #: The options of the command line that choose what it installs (``fastpath.chosen``).
    Options = Mapping[str, Sequence[str]]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add apply's options."""
    add_groups(parser)
    add_envs(parser)
    add_mode(parser)
    add_json(parser)
    add_lock_timeout(parser)
    add_flag(
        parser,
        "--verify",
        "re-hash installed files against their RECORD and reinstall packages that changed",
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Apply to each environment chosen (the default one, or ``-e``), in turn.

    The lock is shared: the first environment that relocks writes it, and the others find
    it fresh.
    """
    return each_env(args, ctx, _apply)


def _apply(args: argparse.Namespace, ctx: Context, spec: Spec, groups: GroupSelection) -> int:
    """Apply, then summarize what changed.

    The venv's lock is held from the first look at the venv until the state the no-change
    path trusts is written: that state must describe this run's result, not another's.
    """
    # What the fast paths read of this command line: None when they would not read it.
    options = fastpath.chosen(ctx.argv)
    with holding(spec, args, ctx):
        outcome = apply.apply(
            spec,
            groups=groups,
            mode=args.mode,
            verify=args.verify,
            services=Services(
                reporter=ctx.reporter(),
                ahead=ctx.ahead,
                probe=ctx.probe,
                replica=options is not None,
            ),
        )
        try:
            # The groups are remembered after every apply; the state vouches for the result
            # only to a command line the no-change path will read again (options not None).
            nochange.record(
                spec=args.spec,
                venv=outcome.venv,
                site_packages=outcome.site_packages,
                local_files=outcome.lock.local_files,
                options=options,
                groups=remembered.as_options(outcome.selection),
                default=spec.env_name == DEFAULT_ENV,
            )
            # A frozen install may have used a stale lock; `lock` answers for [env]'s venv.
            if args.mode != "frozen" and spec.env_name == DEFAULT_ENV:
                remember_lock(spec, outcome.lock)
                _keep_recipe(spec, outcome, options)
        except BaseException:
            if outcome.replica is not None:
                outcome.replica.abandon()
            raise
        _keep_replica(args, outcome, options)
    if not outcome.plan.is_empty():  # an empty plan already said "No changes."
        ctx.write(text.applied_text(outcome))
    if outcome.lock.changes:  # a relock: per target, what it changed (as `lock` says it)
        ctx.write(text.lock_text(outcome.lock))
    return ctx.report("ok", EXIT_OK, outcome_data(outcome, ctx.released))


def _keep_recipe(spec: Spec, outcome: Outcome, options: Options | None) -> None:
    """Keep what a later apply that only removes requirements takes (``quickremove``)."""
    if options is None or outcome.installed is None or outcome.target is None:
        return  # the fast path would not read such a command line: its key would not match
    if outcome.lock.local_files:
        return  # their files change without env.toml changing
    removalrecipe.keep(
        spec=spec,
        lock=outcome.installed,
        here=outcome.target,
        selected=[a.name for a in outcome.plan.actions if a.want is not None],
        libs=outcome.site_packages,
        options=options,
    )


def _keep_replica(args: argparse.Namespace, outcome: Outcome, options: Options | None) -> None:
    """Keep the venv this run created (``outcome.replica``, being kept), for the replay path.

    With it, what a later apply of the same inputs would print: this run's plan and summary
    (a lock this run wrote is fresh then, so without this run's lock changes). A venv with
    local sources is not kept: their files change without env.toml changing.
    """
    keeping = outcome.replica
    if keeping is None:
        return
    if options is None or outcome.lock.local_files or outcome.plan.is_empty():
        keeping.abandon()
        return
    done = text.applied_text(outcome)
    count = sum(1 for _ in outcome.plan.changes())
    progress = [
        Step(what=f"creating {outcome.venv} with Python {outcome.python}"),
        Step(what=f"linking {count} package(s) as this lock's last fresh apply installed them"),
    ]
    keeping.finish(
        spec=args.spec,
        options=options,
        site_packages=[str(p) for p in outcome.site_packages],
        groups=remembered.as_options(outcome.selection),
        texts={
            "stdout": f"{render.render_plan(outcome.plan, color=False)}\n{done}\n",
            "stdout_color": f"{render.render_plan(outcome.plan, color=True)}\n{done}\n",
            "stderr": [text.progress_line(event) for event in progress],
        },
    )
