"""``envsync export``: the lock as it is -> a pip requirements file with hashes. Never resolves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from envsync.core import export
from envsync.core.targets import describe
from envsync.errors import LockError, MissingLockError
from envsync.system import atomic
from envsync.usecases import locktargets, project, target
from envsync.usecases.context import start
from envsync.usecases.planning import choose_groups

if TYPE_CHECKING:
    from pathlib import Path

    from envsync.core.locktable import LockInfo
    from envsync.core.selection import GroupSelection
    from envsync.core.spec import Spec
    from envsync.core.targets import LockTarget
    from envsync.report import Reporter

__all__ = ["Exported", "export_lock", "write"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Exported:
    """The requirements file, and what the caller should warn about."""

    file: export.Exported
    """The text, the packages in it and the local folders left out."""
    stale: str | None
    """Why the lock is out of date for env.toml (it is exported as it is), or None."""


def export_lock(
    spec: Spec,
    groups: GroupSelection | None,
    reporter: Reporter,
    *,
    platform: str | None = None,
    python: str | None = None,
) -> Exported:
    """Export the lock as it is, for this machine or for the target *platform* / *python*.

    A missing lock is an error, a stale one a warning. Naming a target needs no Python of
    that target here: a CI job on another platform can install the file with pip alone.
    """
    ctx = start(spec)
    path, the_lock, info = ctx.project.lock.path, ctx.project.lock.lock, ctx.project.lock.info
    if the_lock is None:
        msg = f"export needs a lock, and {path} does not exist"
        raise MissingLockError(msg, hint="run `envsync lock` first; export never resolves")
    # Like --frozen: the groups are the lock's, not the spec's.
    chosen = choose_groups(spec, groups, lock=info)
    if platform is None and python is None:
        found = target.find_target(spec, reporter, ctx.prober)
        here = locktargets.target_of(found)
        if problem := locktargets.not_served(info, here):
            raise problem
        environment, tags = found.markers, found.tags
        stale = project.stale_because(ctx.project, locktargets.spec_targets(spec, here, ctx.prober))
    else:
        chosen_target = _named_target(info, platform, python)
        environment = chosen_target.markers()
        tags = tuple(str(t) for t in chosen_target.tags())
        stale = project.stale_because(ctx.project, None)
    exported = export.requirements(
        the_lock,
        environment=environment,
        tags=tags,
        groups=chosen.groups,
        root=spec.root,
        main=chosen.main,
        table=info,
    )
    return Exported(file=exported, stale=stale)


def _named_target(info: LockInfo | None, platform: str | None, python: str | None) -> LockTarget:
    """The lock's target that ``--platform`` and ``--python`` name.

    One may be left out where the lock has only one value for it.
    """
    served = info.targets if info is not None else ()
    fits = [
        t
        for t in served
        if (platform is None or t.platform.name == platform)
        and (python is None or t.python == python)
    ]
    if len(fits) == 1:
        return fits[0]
    asked = " ".join(
        part
        for part in (
            f"--platform {platform}" if platform else "",
            f"--python {python}" if python else "",
        )
        if part
    )
    if not served:
        msg = f"pylock.toml does not name its targets, so {asked} cannot choose one"
        raise LockError(msg, hint="run `envsync lock` to write it again with its targets")
    if not fits:
        msg = f"pylock.toml has no target {asked}: it is for {describe(served)}"
        hint = "pass one of its targets, or add that target to env.toml's [lock] and relock"
        raise LockError(msg, hint=hint)
    missing = "--python" if python is None else "--platform"
    msg = f"{asked} fits {len(fits)} of the lock's targets ({describe(fits)})"
    raise LockError(msg, hint=f"pass {missing} as well")


def write(output: Path, text: str) -> None:
    """Replace *output* with *text*, whole or not at all."""
    atomic.write_text(output, text)
