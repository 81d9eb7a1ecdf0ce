"""Locks built in memory for tests: one target, as a resolution of this machine gives."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from packaging.version import Version

from envsync.core.lockfile import LockedFile, ResolvedPackage, TargetResolution, build_lock
from envsync.core.targets import PLATFORMS, LockTarget

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from packaging.pylock import Pylock
    from packaging.utils import NormalizedName

    from envsync.core.spec import Spec

__all__ = ["ANY", "FILES", "nn", "pkg", "sha", "single_lock", "target", "wheel"]

#: Where the files of the locks built here are said to be (never fetched).
FILES = "https://files.example/packages"
#: The tag of a wheel for every platform.
ANY = "py3-none-any"


def nn(name: str) -> NormalizedName:
    """*name*, already normalized, as the type checker wants it."""
    return cast("NormalizedName", name)


def sha(char: str) -> str:
    """A sha256 of one repeated hex digit: easy to tell apart in a failure."""
    return char * 64


def wheel(name: str, version: str, tag: str = ANY, *, sha256: str) -> LockedFile:
    """A wheel of *name* *version* at FILES."""
    filename = f"{name.replace('-', '_')}-{version}-{tag}.whl"
    return LockedFile(filename=filename, url=f"{FILES}/{filename}", sha256=sha256)


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


def pkg(
    name: str,
    version: str | None = "1.0",
    *,
    groups: Iterable[str] = (),
    needs: Iterable[str] = (),
    **sources: Any,
) -> ResolvedPackage:
    """A resolved package: one wheel for every platform unless *sources* name its files."""
    if not sources:
        sources = {"wheels": (wheel(name, version or "1.0", sha256=sha("a")),)}
    return ResolvedPackage(
        name=nn(name),
        version=Version(version) if version else None,
        groups=frozenset(groups),
        dependencies=tuple(nn(n) for n in needs),
        **sources,
    )
