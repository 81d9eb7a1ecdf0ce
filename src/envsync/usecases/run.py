"""``envsync run``: bring the venv in line with the lock if it is not, then run a command in it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from envsync.core.selection import GroupSelection
from envsync.core.specenvs import DEFAULT_ENV
from envsync.errors import VenvError
from envsync.system.process import call
from envsync.usecases import nochange, remembered
from envsync.usecases.apply import apply_in
from envsync.usecases.backends import Services
from envsync.usecases.check import check_in
from envsync.usecases.context import start
from envsync.usecases.exclusive import holding
from envsync.venv.create import is_venv, venv_python

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from envsync.core.spec import Spec
    from envsync.report import Reporter
    from envsync.usecases.apply import Outcome
    from envsync.usecases.lock import Mode

__all__ = ["activated", "outside", "run_in", "sync"]

#: The flag of each mode, as the state file records apply's command line.
_MODE_FLAG = {"frozen": "--frozen", "locked": "--locked"}


def sync(
    spec: Spec,
    *,
    groups: GroupSelection,
    mode: Mode,
    timeout: float,
    notice: Callable[[str], None],
    reporter: Reporter,
) -> Outcome | None:
    """The fast check first; apply only when the venv or lock differs (its outcome).

    Both under the venv's lock, so no other envsync changes the venv between the check and
    the apply. The lock is released before the command starts: a long-running command must
    not keep every other envsync waiting, and the command may well run envsync itself.
    """
    with holding(spec, timeout=timeout, command="envsync run", notice=notice):
        # One context for both: the lock is read and the venv probed once.
        ctx = start(spec, Services(reporter=reporter))
        if check_in(ctx, groups=groups).in_sync():
            if groups != GroupSelection():  # remembered, as an apply with them would be
                remembered.keep(spec.venv, groups)
            return None
        done = apply_in(ctx, groups=groups, mode=mode)
        # What `envsync apply` with these options would leave: its no-change path answers.
        options = remembered.as_options(done.selection)
        nochange.record(
            spec=spec.path,
            venv=done.venv,
            site_packages=done.site_packages,
            local_files=done.lock.local_files,
            options={**options, **({_MODE_FLAG[mode]: [""]} if mode in _MODE_FLAG else {})},
            groups=options,
            default=spec.env_name == DEFAULT_ENV,
        )
    return done


def run_in(spec: Spec, argv: Sequence[str], *, synced: bool, notice: Callable[[str], None]) -> int:
    """Run *argv* in *spec*'s venv and return its exit code.

    Without *synced* (``--no-sync``) the venv must already exist: nothing makes it here.
    A command the venv does not have, found further along PATH, is named to *notice*: it
    runs outside the venv, which is rarely what was meant.
    """
    if not synced and not is_venv(spec.venv):
        msg = f"there is no venv at {spec.venv}, and --no-sync forbids making it"
        raise VenvError(msg, hint="run `envsync apply` first, or drop --no-sync")
    env = activated(spec.venv)
    if found := outside(spec.venv, argv[0], env):
        notice(f"envsync: {argv[0]} is not in {spec.venv.name}; running {found} from PATH")
    return call(argv, env=env)


def outside(venv: Path, command: str, env: Mapping[str, str]) -> str | None:
    """Where PATH finds *command* when that is not the venv's own scripts folder, else None.

    A command given with a folder (``./x``, ``/usr/bin/x``) is not looked up: it is what
    was asked for. None too when nothing is found (running it reports that).
    """
    if os.sep in command or (os.altsep and os.altsep in command):
        return None
    found = shutil.which(command, path=env.get("PATH"))
    if found is None or Path(found).parent == venv_python(venv).parent:
        return None
    return found


def activated(venv: Path) -> dict[str, str]:
    """os.environ as ``source VENV/bin/activate`` would leave it."""
    env = dict(os.environ)
    env.pop("PYTHONHOME", None)
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join([str(venv_python(venv).parent), env.get("PATH", "")])
    return env
