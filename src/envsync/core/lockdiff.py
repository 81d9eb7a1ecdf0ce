"""What a new lock changes against the old one, target by target. PURE.

``envsync lock`` (and every command that rewrites pylock.toml) says, per target, which
packages were added, removed or moved to another version, as ``uv lock`` and Poetry do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from envsync.core.lockmerge import split

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

    from packaging.pylock import Pylock

    from envsync.core.locktable import LockInfo
    from envsync.core.targets import LockTarget

__all__ = ["TargetChanges", "changes", "versions_of"]


@dataclass(frozen=True, kw_only=True, slots=True)
class TargetChanges:
    """How one target's packages differ between two locks."""

    target: LockTarget
    """The Python and platform."""
    added: tuple[tuple[str, str], ...] = ()
    """Packages new on this target: (name, version)."""
    removed: tuple[tuple[str, str], ...] = ()
    """Packages this target no longer has: (name, version)."""
    changed: tuple[tuple[str, str, str], ...] = ()
    """Packages at another version: (name, old version, new version)."""
    new_target: bool = False
    """The old lock did not serve this target at all."""

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.new_target)


def versions_of(
    lock: Pylock, target: LockTarget, roots: Mapping[str, Collection[str]]
) -> dict[str, str]:
    """Every package *lock* installs on *target* with some group, and its version."""
    return {p.name: str(p.version) for p in split(lock, target, roots).packages}


def changes(
    old: tuple[Pylock, LockInfo] | None,
    new: tuple[Pylock, LockInfo],
    targets: Sequence[LockTarget],
) -> tuple[TargetChanges, ...]:
    """Per target of *targets*, what *new* changes against *old* (None: there was no lock)."""
    found = []
    for target in targets:
        after = versions_of(new[0], target, new[1].roots)
        served = old is not None and (not old[1].targets or target in old[1].targets)
        before = versions_of(old[0], target, old[1].roots) if old is not None and served else {}
        found.append(
            TargetChanges(
                target=target,
                added=tuple((n, v) for n, v in sorted(after.items()) if n not in before),
                removed=tuple((n, v) for n, v in sorted(before.items()) if n not in after),
                changed=tuple(
                    (n, before[n], v)
                    for n, v in sorted(after.items())
                    if n in before and before[n] != v
                ),
                new_target=old is not None and not served,
            )
        )
    return tuple(found)
