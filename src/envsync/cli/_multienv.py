"""A command run for each environment chosen (``-e NAME...``, ``--all-envs``), in turn.

One environment runs as the command always ran. Several each get a heading line, as
Terraform heads each resource: an error in one is reported there and the next still runs,
the exit code is the worst, and ``--json`` prints one report holding one object per
environment.
"""

from __future__ import annotations

import io
import json
import os.path
from typing import TYPE_CHECKING, Any, TypeAlias

from envsync.cli._context import Context, envelope
from envsync.cli._main import report_error
from envsync.cli._selection import selection
from envsync.errors import EXIT_DRIFT, EXIT_OK, EnvsyncError
from envsync.usecases import envs, project

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Mapping, Sequence

    from envsync.core.selection import GroupSelection
    from envsync.core.spec import Spec

    #: One command for one environment: the options, the context to write to, the
    #: environment's Spec and its groups -> the exit code.
    One: TypeAlias = Callable[[argparse.Namespace, Context, Spec, GroupSelection], int]

__all__ = ["each_env", "several", "shown"]


def several(args: argparse.Namespace) -> bool:
    """Whether the command line asks for more than one environment (or for all of them)."""
    return bool(args.all_envs) or len(set(args.env)) > 1


def each_env(
    args: argparse.Namespace,
    ctx: Context,
    one: One,
    *,
    states: Mapping[str, str] | None = None,
    run: bool = False,
) -> int:
    """Run *one* for each environment the command line chooses; the worst exit code.

    *states* (filled by *one*) add a per-environment summary; *run* says the command's own
    exit codes, so the first failure counts and the headings go to stderr.
    """
    spec = project.load_spec(args.spec)
    chosen = envs.pick(spec, args.env, every=args.all_envs)
    asked = selection(args)
    if not several(args):
        with envs.naming(chosen[0]):
            return one(args, ctx, chosen[0], envs.groups_for(chosen[0], asked))
    results: list[tuple[Spec, int, Context]] = []
    for each in chosen:
        heading = f"== env {each.env_name} ({shown(each.venv, each.root)}) =="
        if run:  # the command's stdout stays its own
            ctx.err.write(heading + "\n")
        else:
            ctx.write(heading)
        sub = Context(args=args, out=io.StringIO() if ctx.json else ctx.out, err=ctx.err)
        code = _one(args, sub, each, envs.groups_for(each, asked), one)
        if run and code != EXIT_OK:
            ctx.err.write(f"envsync: the command exited {code} in environment {each.env_name}\n")
        results.append((each, code, sub))
    if states is not None:
        _summary(ctx, [spec for spec, _, _ in results], states)
    codes = [code for _, code, _ in results]
    worst = next((c for c in codes if c != EXIT_OK), EXIT_OK) if run else _worst(codes)
    if ctx.json:
        _report(ctx, worst, results, states or {})
    return worst


def _one(
    args: argparse.Namespace,
    ctx: Context,
    spec: Spec,
    groups: GroupSelection,
    one: One,
) -> int:
    """*one* for one environment of several: its error is reported, and the next one runs."""
    try:
        with envs.naming(spec):
            return one(args, ctx, spec, groups)
    except EnvsyncError as exc:
        return report_error(ctx, exc)


def _worst(codes: Sequence[int]) -> int:
    """An error outranks drift, drift outranks success; the first of the worst kind."""
    rank = {EXIT_OK: 0, EXIT_DRIFT: 1}
    return max(codes, key=lambda code: rank.get(code, 2), default=EXIT_OK)


def shown(path: os.PathLike[str], root: os.PathLike[str]) -> str:
    """*path* relative to the project folder when it lies inside it, else as it is."""
    relative = os.path.relpath(path, root)
    return os.fspath(path) if relative.startswith("..") else relative


def _summary(ctx: Context, specs: Sequence[Spec], states: Mapping[str, str]) -> None:
    """One line per environment: its name, venv and state."""
    width = max(len(spec.env_name) for spec in specs)
    venvs = [shown(spec.venv, spec.root) for spec in specs]
    venv_width = max(len(venv) for venv in venvs)
    ctx.write("Environments:")
    for spec, venv in zip(specs, venvs, strict=True):
        state = states.get(spec.env_name, "error")
        ctx.write(f"  {spec.env_name:<{width}}  {venv:<{venv_width}}  {state}")


def _report(
    ctx: Context,
    worst: int,
    results: Sequence[tuple[Spec, int, Context]],
    states: Mapping[str, str],
) -> None:
    """One JSON report: each environment's own report, under ``data.envs``."""
    entries: list[dict[str, Any]] = []
    errors: list[dict[str, str | None]] = []
    for spec, _, sub in results:
        assert isinstance(sub.out, io.StringIO)  # noqa: S101 - made so in each_env
        document = json.loads(sub.out.getvalue())
        entry = {"env": spec.env_name, "venv": str(spec.venv)}
        entry.update({key: document[key] for key in ("status", "exit_code", "data", "errors")})
        if spec.env_name in states:
            entry["state"] = states[spec.env_name]
        entries.append(entry)
        errors.extend(
            {**e, "message": f"environment {spec.env_name}: {e['message']}"}
            for e in document["errors"]
        )
    statuses = [entry["status"] for entry in entries]
    status = "error" if errors else next((s for s in statuses if s != "ok"), "ok")
    document = envelope(ctx.args.command, status, worst, {"envs": entries}, errors)
    ctx.out.write(json.dumps(document, indent=2) + "\n")
