"""``envsync run``: bring the venv in line with the lock if it is not, then run a command in it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from envsync.errors import VenvError
from envsync.system.process import call
from envsync.usecases.apply import apply_in
from envsync.usecases.backends import Services
from envsync.usecases.check import check_in
from envsync.usecases.context import start
from envsync.usecases.exclusive import holding
from envsync.venv.create import is_venv, venv_python

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from envsync.core.selection import GroupSelection
    from envsync.core.spec import Spec
    from envsync.report import Reporter
    from envsync.usecases.lock import Mode

__all__ = ["activated", "run_in", "sync"]


def sync(
    spec: Spec,
    *,
    groups: GroupSelection,
    mode: Mode,
    timeout: float,
    notice: Callable[[str], None],
    reporter: Reporter,
) -> None:
    """The fast check first; apply only when the venv or lock differs.

    Both under the venv's lock, so no other envsync changes the venv between the check and
    the apply. The lock is released before the command starts: a long-running command must
    not keep every other envsync waiting, and the command may well run envsync itself.
    """
    with holding(spec, timeout=timeout, command="envsync run", notice=notice):
        # One context for both: the lock is read and the venv probed once.
        ctx = start(spec, Services(reporter=reporter))
        if check_in(ctx, groups=groups).in_sync():
            return
        apply_in(ctx, groups=groups, mode=mode)


def run_in(spec: Spec, argv: Sequence[str], *, synced: bool) -> int:
    """Run *argv* in *spec*'s venv and return its exit code.

    Without *synced* (``--no-sync``) the venv must already exist: nothing makes it here.
    """
    if not synced and not is_venv(spec.venv):
        msg = f"there is no venv at {spec.venv}, and --no-sync forbids making it"
        raise VenvError(msg, hint="run `envsync apply` first, or drop --no-sync")
    return call(argv, env=activated(spec.venv))


def activated(venv: Path) -> dict[str, str]:
    """os.environ as ``source VENV/bin/activate`` would leave it."""
    env = dict(os.environ)
    env.pop("PYTHONHOME", None)
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join([str(venv_python(venv).parent), env.get("PATH", "")])
    return env
