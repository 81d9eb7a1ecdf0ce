"""``envsync export``: the lock as it is -> a pip requirements file with hashes. Never resolves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from envsync.core import export
from envsync.errors import MissingLockError
from envsync.system import atomic
from envsync.usecases import project, target
from envsync.usecases.context import start
from envsync.usecases.planning import choose_groups

if TYPE_CHECKING:
    from pathlib import Path

    from envsync.core.selection import GroupSelection
    from envsync.core.spec import Spec
    from envsync.report import Reporter

__all__ = ["Exported", "export_lock", "write"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Exported:
    """The requirements file, and what the caller should warn about."""

    file: export.Exported
    """The text, the packages in it and the local folders left out."""
    stale: str | None
    """Why the lock is out of date for env.toml (it is exported as it is), or None."""


def export_lock(spec: Spec, groups: GroupSelection | None, reporter: Reporter) -> Exported:
    """Export the lock as it is: a missing lock is an error, a stale one a warning."""
    ctx = start(spec)
    path, the_lock = ctx.project.lock.path, ctx.project.lock.lock
    if the_lock is None:
        msg = f"export needs a lock, and {path} does not exist"
        raise MissingLockError(msg, hint="run `envsync lock` first; export never resolves")
    # Like --frozen: the groups are the lock's, not the spec's.
    chosen = choose_groups(spec, groups, lock=ctx.project.lock.info)
    found = target.find_target(spec, reporter, ctx.prober)
    exported = export.requirements(
        the_lock,
        environment=found.markers,
        tags=found.tags,
        groups=chosen.groups,
        root=spec.root,
        main=chosen.main,
        table=ctx.project.lock.info,
    )
    return Exported(file=exported, stale=project.stale_because(ctx.project, found.version))


def write(output: Path, text: str) -> None:
    """Replace *output* with *text*, whole or not at all."""
    atomic.write_text(output, text)
