"""Each git requirement's commit, for one lock run: kept from the lock, or looked up. NETWORK.

A relock keeps the commit the lock recorded for a requirement whose URL, revision and
subdirectory are unchanged, even when its branch has moved on: only ``--upgrade`` or
``--upgrade-package NAME`` looks the revision up again (as uv does). The resolvers are then
given each requirement pinned to its commit (``git+URL@<commit>``), so the dependencies
they find are those of the commit the lock records.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from envsync.core.requirementtext import strip_credentials
from envsync.core.resolved import LockedVcs
from envsync.core.vcsurl import VcsUrl, parse_vcs
from envsync.errors import ResolutionError
from envsync.system import removal
from envsync.system.git import Git

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

    from packaging.pylock import Pylock
    from packaging.requirements import Requirement

    from envsync._types import NormalizedName

__all__ = ["locked_commits", "pin_commits", "vcs_requirements"]


def vcs_requirements(requirements: Iterable[Requirement]) -> dict[NormalizedName, VcsUrl]:
    """The git requirements among *requirements*, by name (URLs with their credentials)."""
    found: dict[NormalizedName, VcsUrl] = {}
    for requirement in requirements:
        vcs = parse_vcs(requirement.url) if requirement.url else None
        if vcs is None:
            continue
        name = canonicalize_name(requirement.name)
        if found.setdefault(name, vcs) != vcs:
            raise ResolutionError(
                f"{name} is asked for from two git references: "
                f"{_shown(found[name])} and {_shown(vcs)}",
                hint="ask for one repository and revision of it, in every group",
            )
    return found


def locked_commits(lock: Pylock | None) -> dict[NormalizedName, LockedVcs]:
    """The git packages *lock* records, by name."""
    found: dict[NormalizedName, LockedVcs] = {}
    for package in lock.packages if lock else ():
        vcs = package.vcs
        if vcs is not None and vcs.url is not None:
            found[package.name] = LockedVcs(
                url=vcs.url,
                commit_id=vcs.commit_id,
                requested_revision=vcs.requested_revision,
                subdirectory=vcs.subdirectory,
            )
    return found


def pin_commits(
    wanted: Mapping[NormalizedName, VcsUrl],
    locked: Mapping[NormalizedName, LockedVcs],
    *,
    upgrade: bool = False,
    upgrade_packages: Collection[NormalizedName] = (),
    git: Git | None = None,
) -> dict[NormalizedName, LockedVcs]:
    """Each of *wanted* with its commit: *locked*'s where it still answers, else git's.

    *upgrade* looks every revision up again, *upgrade_packages* those of the names given.
    """
    git = git or Git()
    pinned: dict[NormalizedName, LockedVcs] = {}
    for name, vcs in sorted(wanted.items()):
        old = locked.get(name)
        again = upgrade or name in upgrade_packages
        if old is not None and not again and _same_request(old, vcs):
            pinned[name] = old
            continue
        with removal.temporary_folder("envsync-git-") as tmp:
            commit = git.commit_of(vcs.url, vcs.rev, Path(tmp) / "repo")
        pinned[name] = LockedVcs(
            url=strip_credentials(vcs.url),
            commit_id=commit,
            requested_revision=vcs.rev,
            subdirectory=vcs.subdirectory,
        )
    return pinned


def _same_request(old: LockedVcs, vcs: VcsUrl) -> bool:
    """Whether the lock's entry answers *vcs*: the same repository, revision and folder."""
    return (old.url, old.requested_revision, old.subdirectory) == (
        strip_credentials(vcs.url),
        vcs.rev,
        vcs.subdirectory,
    )


def _shown(vcs: VcsUrl) -> str:
    rev = f"@{vcs.rev}" if vcs.rev else ""
    return f"{strip_credentials(vcs.url)}{rev}"
