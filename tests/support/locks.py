"""Locks built in memory for tests: one target, as a resolution of this machine gives."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envsync.core.lockfile import TargetResolution, build_lock
from envsync.core.targets import PLATFORMS, LockTarget

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from packaging.pylock import Pylock

    from envsync.core.lockfile import ResolvedPackage
    from envsync.core.spec import Spec

__all__ = ["single_lock", "target"]


def target(python: str, platform: str = "linux-x86_64") -> LockTarget:
    """The lock target of Python *python* (``3.12`` or ``3.12.4``) on *platform*."""
    minor = ".".join(python.split(".")[:2])
    return LockTarget(python=minor, platform=PLATFORMS[platform])


def single_lock(
    *,
    spec: Spec,
    python: str,
    packages: Iterable[ResolvedPackage],
    roots: Mapping[str, Iterable[str]] | None = None,
    local: Mapping[str, str] | None = None,
    platform: str = "linux-x86_64",
) -> Pylock:
    """A lock of *packages* for one target: Python *python* on *platform*."""
    resolution = TargetResolution(
        target=target(python, platform),
        packages=tuple(packages),
        roots={k: tuple(v) for k, v in (roots or {}).items()},
    )
    return build_lock(spec=spec, resolutions=[resolution], local=local)
