"""make_plan(wanted, installed, policy) -> Plan. PURE: decides, never acts.

Selection from the lock (which needs the target's markers and tags) happens before, in
lockfile.select(); the planner compares that selection with what the venv holds.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from packaging.version import Version

    from envsync._types import NormalizedName
    from envsync.core.lockfile import Wanted

__all__ = [
    "COMMIT_DIFFERS",
    "EDITABLE_DIFFERS",
    "FILES_MODIFIED",
    "HASH_DIFFERS",
    "INSTALLED_TWICE",
    "SEED",
    "SEEDED",
    "SOURCE_DIFFERS",
    "Action",
    "Change",
    "DirectUrl",
    "InstalledDist",
    "Plan",
    "Policy",
    "make_plan",
]

#: Reasons a REINSTALL (or a REMOVE of a duplicate) gives; render shows them as they are.
EDITABLE_DIFFERS = "editable mode differs"
SOURCE_DIFFERS = "source differs"
HASH_DIFFERS = "hash differs"
COMMIT_DIFFERS = "git commit differs"
INSTALLED_TWICE = "installed twice"
FILES_MODIFIED = "files modified"
#: The reason of the INSTALL that puts pip in with the venv's ensurepip (``seed = true``).
SEED = "seed: from the venv's ensurepip"
#: What ``seed = true`` keeps: pip, and the setuptools that ensurepip of Python 3.10 and
#: 3.11 installs with it (uv's --seed adds it there too). Names the lock selects are the lock's.
SEEDED = frozenset(cast("NormalizedName", name) for name in ("pip", "setuptools"))


class Change(enum.Enum):
    """What happens to one package."""

    INSTALL = "install"
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    REINSTALL = "reinstall"
    REMOVE = "remove"
    KEEP = "keep"


@dataclass(frozen=True, kw_only=True, slots=True)
class DirectUrl:
    """What a dist-info's direct_url.json (PEP 610) says about where it came from."""

    url: str
    """The URL it was installed from (credentials already stripped)."""
    sha256: str | None = None
    """archive_info hash, when the source was an archive."""
    is_dir: bool = False
    """True for a local directory (dir_info)."""
    editable: bool = False
    """True for an editable install."""
    commit_id: str | None = None
    """vcs_info's commit, when the source was a VCS checkout."""


@dataclass(frozen=True, kw_only=True, slots=True)
class InstalledDist:
    """One distribution found in the venv's site-packages."""

    name: NormalizedName
    """Normalized project name."""
    version: Version
    """Installed version."""
    installer: str | None = None
    """Content of the INSTALLER file (``pip``, ``uv``...), if any."""
    direct_url: DirectUrl | None = None
    """Parsed direct_url.json, if the dist has one."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Policy:
    """Rules that are the user's choice rather than facts about the venv."""

    keep: frozenset[NormalizedName] = frozenset()
    """Installed names never removed even when not locked (pip, envsync itself)."""
    reinstall: frozenset[NormalizedName] = frozenset()
    """Installed dists whose files no longer match their RECORD: apply reinstalls them.

    Only a wanted name that would otherwise be kept is affected; other reasons come first.
    """
    seed: bool = False
    """``seed = true``: pip belongs in the venv though the lock has none; SEEDED is kept."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Action:
    """The decision for one package name."""

    name: NormalizedName
    """Normalized project name."""
    change: Change
    """What happens to it."""
    have: InstalledDist | None = None
    """What the venv holds now, if anything."""
    want: Wanted | None = None
    """What the lock selects, if anything."""
    reason: str | None = None
    """Why, for REINSTALL (``hash differs``, ``source differs``...)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Plan:
    """Every decision, sorted by name; KEEP actions are included for reporting."""

    actions: tuple[Action, ...]
    """One action per name, sorted."""

    def is_empty(self) -> bool:
        """Return True when applying would change nothing."""
        return all(a.change is Change.KEEP for a in self.actions)

    def changes(self) -> tuple[Action, ...]:
        """Return the actions that do something."""
        return tuple(a for a in self.actions if a.change is not Change.KEEP)

    def of(self, *changes: Change) -> tuple[Action, ...]:
        """Return the actions of the given kinds, in name order."""
        return tuple(a for a in self.actions if a.change in changes)


def make_plan(
    wanted: Iterable[Wanted],
    installed: Iterable[InstalledDist],
    policy: Policy,
) -> Plan:
    """Compare the lock's selection with the venv's dists.

    Returns one action per name found on either side, sorted by name. Raises ValueError when
    ``wanted`` names a package twice: that is a caller's bug, since lockfile.select() picks
    one artifact per name.
    """
    want = _index_wanted(wanted)
    have = _group_installed(installed)
    names = sorted(want.keys() | have.keys())
    actions = [_decide(n, want.get(n), have.get(n, ()), policy) for n in names]
    pip = cast("NormalizedName", "pip")
    if policy.seed and pip not in want and pip not in have:
        actions.append(Action(name=pip, change=Change.INSTALL, reason=SEED))
    return Plan(actions=tuple(sorted(actions, key=lambda action: action.name)))


def _index_wanted(wanted: Iterable[Wanted]) -> dict[NormalizedName, Wanted]:
    """Map each wanted name to its entry, refusing duplicates."""
    index: dict[NormalizedName, Wanted] = {}
    for want in wanted:
        if want.name in index:
            raise ValueError(f"package {want.name!r} is wanted twice; select one artifact per name")
        index[want.name] = want
    return index


def _group_installed(
    installed: Iterable[InstalledDist],
) -> dict[NormalizedName, tuple[InstalledDist, ...]]:
    """Map each installed name to every dist-info found for it (a broken venv can hold two)."""
    groups: dict[NormalizedName, tuple[InstalledDist, ...]] = {}
    for dist in installed:
        groups[dist.name] = (*groups.get(dist.name, ()), dist)
    return groups


def _decide(
    name: NormalizedName,
    want: Wanted | None,
    have: tuple[InstalledDist, ...],
    policy: Policy,
) -> Action:
    """Decide one name, given what is wanted and every dist installed under it."""
    if want is None:
        return _decide_extra(name, have, policy)
    if not have:
        return Action(name=name, change=Change.INSTALL, want=want)
    if len(have) > 1:
        return Action(
            name=name,
            change=Change.REINSTALL,
            have=_newest(have),
            want=want,
            reason=INSTALLED_TWICE,
        )
    return _compare(want, have[0], policy)


def _decide_extra(name: NormalizedName, have: tuple[InstalledDist, ...], policy: Policy) -> Action:
    """Keep an installed name the lock does not select if the policy says so, else remove it.

    A kept name stays untouched even when installed twice: the policy means "hands off".
    """
    if name in policy.keep or (policy.seed and name in SEEDED):
        return Action(name=name, change=Change.KEEP, have=_newest(have))
    reason = INSTALLED_TWICE if len(have) > 1 else None
    return Action(name=name, change=Change.REMOVE, have=_newest(have), reason=reason)


def _newest(have: tuple[InstalledDist, ...]) -> InstalledDist:
    """Pick the dist to report for a name: the highest version when there are several."""
    return max(have, key=lambda dist: dist.version)


def _compare(want: Wanted, have: InstalledDist, policy: Policy) -> Action:
    """Decide between upgrade, downgrade, reinstall and keep for a name on both sides."""
    change = _version_change(want, have)
    if change is not None:
        return Action(name=want.name, change=change, have=have, want=want)
    reason = _reinstall_reason(want, have, policy)
    change = Change.REINSTALL if reason else Change.KEEP
    return Action(name=want.name, change=change, have=have, want=want, reason=reason)


def _version_change(want: Wanted, have: InstalledDist) -> Change | None:
    """Return UPGRADE or DOWNGRADE when versions differ; None if they agree or none is locked."""
    if want.version is None or want.version == have.version:
        return None
    return Change.UPGRADE if have.version < want.version else Change.DOWNGRADE


def _reinstall_reason(want: Wanted, have: InstalledDist, policy: Policy) -> str | None:
    """Say why a same-version dist must be reinstalled, or None if it can stay.

    The rules run in order and the first that applies names the reason; the policy's
    reasons come last, since a reinstall for any reason also repairs modified files.
    """
    for rule in _SAME_VERSION_RULES:
        reason = rule(want, have)
        if reason:
            return reason
    if have.name in policy.reinstall:
        return FILES_MODIFIED
    return None


def _editable_differs(want: Wanted, have: InstalledDist) -> str | None:
    """Flag an editable install wanted where a regular one is installed, or the reverse."""
    installed_editable = have.direct_url.editable if have.direct_url else False
    return EDITABLE_DIFFERS if want.editable != installed_editable else None


def _directory_differs(want: Wanted, have: InstalledDist) -> str | None:
    """Flag a dist not installed from the local directory the lock wants."""
    if want.artifact.kind != "directory":
        return None
    if have.direct_url is None or have.direct_url.url != want.artifact.url:
        return SOURCE_DIFFERS
    return None


def _file_differs(want: Wanted, have: InstalledDist) -> str | None:
    """Flag a dist installed from a directory where a wheel, sdist or archive is wanted.

    Same version number, but a directory's code can be anything: only a built file is pinned.
    """
    if want.artifact.kind == "directory" or have.direct_url is None:
        return None
    return SOURCE_DIFFERS if have.direct_url.is_dir else None


def _commit_differs(want: Wanted, have: InstalledDist) -> str | None:
    """Flag a dist not built from the git commit the lock wants (or not from git at all)."""
    vcs = want.artifact.vcs
    if vcs is None:
        return None
    found = have.direct_url.commit_id if have.direct_url else None
    return COMMIT_DIFFERS if found != vcs.commit_id else None


def _hash_differs(want: Wanted, have: InstalledDist) -> str | None:
    """Flag a sha256 recorded on both sides that disagrees (hex compared case-insensitively).

    URLs of wheels are not compared: a mirror may serve the same file from another address,
    and the hash is what identifies it.
    """
    expected = want.artifact.sha256
    found = have.direct_url.sha256 if have.direct_url else None
    if expected and found and expected.lower() != found.lower():
        return HASH_DIFFERS
    return None


#: Same-version checks, in the order their reasons take precedence.
_SAME_VERSION_RULES: tuple[Callable[[Wanted, InstalledDist], str | None], ...] = (
    _editable_differs,
    _directory_differs,
    _file_differs,
    _commit_differs,
    _hash_differs,
)
