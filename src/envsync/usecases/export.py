"""``envsync export``: the lock as it is -> a requirements file with hashes, or an SBOM.

Never resolves. The SBOM is CycloneDX 1.6 JSON (``core/sbom.py``).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Literal, Protocol

from envsync.core import export, sbom
from envsync.core.targets import describe
from envsync.errors import EnvsyncError, LockError, MissingLockError, printable
from envsync.system import atomic
from envsync.usecases import locktargets, project, target
from envsync.usecases.context import start
from envsync.usecases.planning import choose_groups

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence
    from pathlib import Path

    from packaging.pylock import Pylock

    from envsync.core.locktable import LockInfo
    from envsync.core.selection import GroupSelection
    from envsync.core.spec import Spec
    from envsync.core.targets import LockTarget
    from envsync.report import Reporter

__all__ = ["ExportFormat", "Exported", "export_lock", "named_target", "write"]

#: What ``envsync export`` writes: a pip requirements file, or a CycloneDX 1.6 JSON SBOM.
ExportFormat = Literal["requirements", "cyclonedx"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Exported:
    """The exported file, and what the caller should warn about."""

    file: export.Exported
    """The text, the packages in it and the local folders left out (requirements only)."""
    stale: str | None
    """Why the lock is out of date for env.toml (it is exported as it is), or None."""


def export_lock(
    spec: Spec,
    groups: GroupSelection | None,
    reporter: Reporter,
    *,
    platform: str | None = None,
    python: str | None = None,
    format: ExportFormat = "requirements",  # noqa: A002 - the option's name
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
        chosen_target = named_target(info, platform, python)
        environment = chosen_target.markers()
        tags = tuple(str(t) for t in chosen_target.tags())
        stale = project.stale_because(ctx.project, None)
    render = _cyclonedx(spec) if format == "cyclonedx" else export.requirements
    exported = render(
        the_lock,
        environment=environment,
        tags=tags,
        groups=chosen.groups,
        root=spec.root,
        main=chosen.main,
        table=info,
    )
    return Exported(file=exported, stale=stale)


class _Render(Protocol):
    """A lock's selection -> a file: ``export.requirements``, or ``sbom.cyclonedx`` told more."""

    def __call__(
        self,
        lock: Pylock,
        *,
        environment: Mapping[str, str],
        tags: Sequence[str],
        groups: Collection[str],
        root: Path,
        main: bool,
        table: LockInfo | None,
    ) -> export.Exported: ...


def _cyclonedx(spec: Spec) -> _Render:
    """``sbom.cyclonedx`` told what the lock alone does not say: the project, the default index."""
    # Imported here: the index client is only needed for the SBOM, and why/tree share this
    # module while promising to load no index code.
    from envsync.index import simpleapi  # noqa: PLC0415

    about = sbom.About(
        project=spec.root.name,
        default_index=simpleapi.default_index_url(),
        timestamp=_source_date(os.environ.get("SOURCE_DATE_EPOCH")),
    )
    return functools.partial(sbom.cyclonedx, about=about)


def _source_date(value: str | None) -> datetime | None:
    """``SOURCE_DATE_EPOCH`` (reproducible-builds.org) as the SBOM's timestamp, when set.

    A malformed value is an error, as that convention asks, rather than a silent present time.
    """
    if not value:
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=timezone.utc)
    except (ValueError, OverflowError, OSError) as exc:
        msg = f"SOURCE_DATE_EPOCH is not a Unix time in seconds: {printable(value)}"
        hint = (
            "set it to a whole number of seconds (such as `git log -1 --format=%ct`), or unset it"
        )
        raise EnvsyncError(msg, hint=hint) from exc


def named_target(info: LockInfo | None, platform: str | None, python: str | None) -> LockTarget:
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
