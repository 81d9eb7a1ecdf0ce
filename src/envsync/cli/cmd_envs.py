"""``envsync envs``: env.toml's environments, each with its venv, Python, groups and state.

Reads only, as ``check`` does: nothing is resolved, installed or made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from envsync.cli._multienv import shown
from envsync.cli._options import add_json
from envsync.errors import EXIT_OK
from envsync.usecases import envs, project

if TYPE_CHECKING:
    import argparse

    from envsync.cli._context import Context
    from envsync.usecases.envs import EnvStatus

__all__ = ["configure", "run"]

_HEADERS = ("NAME", "VENV", "PYTHON", "GROUPS", "STATE")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add envs' options."""
    add_json(parser)


def run(args: argparse.Namespace, ctx: Context) -> int:
    """List the environments as a table, or as JSON."""
    spec = project.load_spec(args.spec)
    listed = envs.list_envs(spec)
    rows = [_row(status, shown(status.venv, spec.root)) for status in listed]
    widths = [max(len(row[i]) for row in (_HEADERS, *rows)) for i in range(len(_HEADERS))]
    for row in (_HEADERS, *rows):
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        ctx.write("  ".join(cells).rstrip())
    for status in listed:
        if status.reason:
            ctx.write(f"{status.name}: the lock is stale: {status.reason}")
    return ctx.report("ok", EXIT_OK, {"envs": [_data(status) for status in listed]})


def _row(status: EnvStatus, venv: str) -> tuple[str, ...]:
    python = status.version or "-"
    if status.python:
        python += f" ({status.python})"
    groups = [*([] if status.main else ["(only)"]), *status.groups]
    return (status.name, venv, python, " ".join(groups) or "-", status.state)


def _data(status: EnvStatus) -> dict[str, Any]:
    return {
        "name": status.name,
        "venv": str(status.venv),
        "python": status.python,
        "version": status.version,
        "groups": list(status.groups),
        "main": status.main,
        "state": status.state,
        "reason": status.reason,
    }
