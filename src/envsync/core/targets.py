"""The environments a lock is for: named platforms x Python minor versions. PURE.

A lock target is one Python minor version on one platform. Each named platform stands for a
marker environment (``sys_platform``, ``platform_machine``, ...) and a list of wheel platform
tags, with a stated floor (glibc 2.28 on Linux, macOS 13 on macOS), the way pixi names its
platforms and uv its ``--python-platform`` values. A lock lists one ``environments`` marker
per target; an installer on a machine no target matches refuses the lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from packaging.markers import Marker
from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence

__all__ = [
    "GLIBC_FLOOR",
    "MACOS_FLOOR",
    "PLATFORMS",
    "LockTarget",
    "LockTargets",
    "Platform",
    "describe",
    "machine_platform",
    "matching",
    "subset_marker",
]

#: The oldest glibc a ``linux-*`` lock promises to serve (manylinux_2_28, as pixi's default).
GLIBC_FLOOR = (2, 28)
#: The oldest macOS a ``macos-*`` lock promises to serve (the oldest macOS Apple still supports).
MACOS_FLOOR = (13, 0)
#: The marker variables that tell targets apart (the rest follow from these).
_KEYS = ("python_version", "sys_platform", "platform_machine")


@dataclass(frozen=True, kw_only=True, slots=True)
class Platform:
    """An operating system and CPU, as markers and wheel tags see them."""

    name: str
    """The name env.toml uses: ``linux-x86_64``."""
    sys_platform: str
    """``sys.platform``: linux, darwin, win32."""
    platform_system: str = field(compare=False)
    """``platform.system()``: Linux, Darwin, Windows."""
    os_name: str = field(compare=False)
    """``os.name``: posix or nt."""
    platform_machine: str
    """``platform.machine()``: x86_64, aarch64, arm64, AMD64."""
    tags: tuple[str, ...] = field(compare=False)
    """The wheel platform tags it accepts, best first (a platform is known by its name and
    markers: a lock read back knows no tags for a machine no named platform matches)."""
    uv: str | None = field(default=None, compare=False)
    """uv's ``--python-platform`` value for the same platform (None: uv has no name for it)."""


def _manylinux(arch: str) -> tuple[str, ...]:
    """Linux platform tags from the glibc floor down, as packaging lists a glibc's tags."""
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    lowest = 5 if arch in {"x86_64", "i686"} else 17
    found: list[str] = []
    for minor in range(GLIBC_FLOOR[1], lowest - 1, -1):
        found.append(f"manylinux_2_{minor}_{arch}")
        alias = legacy.get(minor)
        if alias and (arch in {"x86_64", "i686"} or alias == "manylinux2014"):
            found.append(f"{alias}_{arch}")
    return (*found, f"linux_{arch}")


def _linux(arch: str) -> Platform:
    return Platform(
        name=f"linux-{arch}",
        sys_platform="linux",
        platform_system="Linux",
        os_name="posix",
        platform_machine=arch,
        tags=_manylinux(arch),
        uv=f"{arch}-manylinux_{GLIBC_FLOOR[0]}_{GLIBC_FLOOR[1]}",
    )


def _macos(arch: str, uv: str) -> Platform:
    return Platform(
        name=f"macos-{arch}",
        sys_platform="darwin",
        platform_system="Darwin",
        os_name="posix",
        platform_machine=arch,
        tags=tuple(mac_platforms(MACOS_FLOOR, arch)),
        uv=uv,
    )


#: The platforms env.toml can name, in the order they are listed.
PLATFORMS: Mapping[str, Platform] = {
    p.name: p
    for p in (
        _linux("x86_64"),
        _linux("aarch64"),
        _macos("arm64", "aarch64-apple-darwin"),
        _macos("x86_64", "x86_64-apple-darwin"),
        Platform(
            name="windows-x86_64",
            sys_platform="win32",
            platform_system="Windows",
            os_name="nt",
            platform_machine="AMD64",
            tags=("win_amd64",),
            uv="x86_64-pc-windows-msvc",
        ),
    )
}


@dataclass(frozen=True, kw_only=True, slots=True)
class LockTarget:
    """One Python minor version on one platform: what one ``environments`` marker stands for."""

    python: str
    """The minor version: ``3.12``."""
    platform: Platform
    """The platform."""

    def __str__(self) -> str:
        return f"Python {self.python} on {self.platform.name}"

    @property
    def key(self) -> tuple[tuple[int, ...], str]:
        """Sort key: by Python version, then platform name."""
        return tuple(int(p) for p in self.python.split(".")), self.platform.name

    def markers(self) -> dict[str, str]:
        """The PEP 508 marker environment (a patch version of 0, as uv assumes)."""
        p = self.platform
        full = f"{self.python}.0"
        return {
            "implementation_name": "cpython",
            "implementation_version": full,
            "os_name": p.os_name,
            "platform_machine": p.platform_machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": p.platform_system,
            "platform_version": "",
            "python_full_version": full,
            "python_version": self.python,
            "sys_platform": p.sys_platform,
        }

    def marker(self) -> Marker:
        """The ``environments`` marker of this target."""
        return Marker(_conjunction(self))

    def tags(self) -> tuple[Tag, ...]:
        """The wheel tags a CPython of this version on this platform accepts, best first."""
        version = tuple(int(p) for p in self.python.split("."))
        interpreter = "cp" + "".join(str(v) for v in version)
        platforms = list(self.platform.tags)
        return (
            *cpython_tags(version, abis=[interpreter], platforms=platforms),
            *compatible_tags(version, interpreter, platforms),
        )

    def matches(self, markers: Mapping[str, str]) -> bool:
        """Whether an environment with these markers is this target."""
        mine = self.markers()
        return all(markers.get(key) == mine[key] for key in _KEYS)


@dataclass(frozen=True, kw_only=True, slots=True)
class LockTargets:
    """The targets env.toml's ``[lock]`` asks for; an empty tuple is "not set": this machine's."""

    python_versions: tuple[str, ...] = ()
    """Python minor versions (``3.12``), oldest first; empty: the target interpreter's."""
    platforms: tuple[str, ...] = ()
    """Names from PLATFORMS, sorted; empty: the platform of the machine that locks."""

    def grid(self, *, python: str, machine: Platform) -> tuple[LockTarget, ...]:
        """Each Python version on each platform, sorted by Python version, then platform.

        *python* (a minor version) and *machine* stand in for what ``[lock]`` does not set.
        """
        pythons = self.python_versions or (python,)
        platforms = [PLATFORMS[name] for name in self.platforms] or [machine]
        targets = {LockTarget(python=v, platform=p) for v in pythons for p in platforms}
        return tuple(sorted(targets, key=lambda t: t.key))


def _conjunction(target: LockTarget) -> str:
    p = target.platform
    return (
        f'python_version == "{target.python}" and sys_platform == "{p.sys_platform}" '
        f'and platform_machine == "{p.platform_machine}"'
    )


def _platform_only(platform: Platform) -> str:
    machine = platform.platform_machine
    return f'sys_platform == "{platform.sys_platform}" and platform_machine == "{machine}"'


def machine_platform(markers: Mapping[str, str], tags: Sequence[str]) -> Platform:
    """The platform of a machine whose interpreter has these markers and tags.

    A named platform where one matches; else one named after the machine, accepting the
    platform tags its own interpreter accepts (the lock then serves that machine only).
    """
    for platform in PLATFORMS.values():
        if (platform.sys_platform, platform.platform_machine) == (
            markers.get("sys_platform"),
            markers.get("platform_machine"),
        ):
            return platform
    system = markers.get("platform_system", "").lower() or markers.get("sys_platform", "")
    machine = markers.get("platform_machine", "")
    # "any" is no platform: LockTarget.tags() adds the pure-Python tags itself.
    own = dict.fromkeys(p for t in tags if (p := Tag(*t.split("-", 2)).platform) != "any")
    return Platform(
        name=f"{'macos' if system == 'darwin' else system}-{machine.lower()}",
        sys_platform=markers.get("sys_platform", ""),
        platform_system=markers.get("platform_system", ""),
        os_name=markers.get("os_name", ""),
        platform_machine=machine,
        tags=tuple(own),
    )


def matching(targets: Iterable[LockTarget], markers: Mapping[str, str]) -> LockTarget | None:
    """The target an environment with these markers is, or None."""
    return next((t for t in targets if t.matches(markers)), None)


def describe(targets: Iterable[LockTarget]) -> str:
    """``Python 3.11 and 3.12 on linux-x86_64, macos-arm64``: targets as a person reads them."""
    ordered = sorted(set(targets), key=lambda t: t.key)  # a target twice would fake a full grid
    if not ordered:
        return "no targets"
    pythons = list(dict.fromkeys(t.python for t in ordered))
    platforms = sorted({t.platform.name for t in ordered})
    if len(ordered) == len(pythons) * len(platforms):  # a full grid
        return f"Python {_and(pythons)} on {', '.join(platforms)}"
    return "; ".join(str(t) for t in ordered)


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def subset_marker(subset: Collection[LockTarget], every: Collection[LockTarget]) -> str | None:
    """A marker true on exactly the targets of *subset* among *every* (None: on all of them).

    Markers only ever meet environments a lock's ``environments`` admits, so a marker naming
    just the Python versions (or just the platforms) is exact when the subset is whole rows
    (or whole columns) of the grid of targets. An empty *subset* is a ValueError: what no
    target needs has no place in a lock, and the ``""`` it used to get is no marker at all.
    """
    chosen = set(subset)
    if not chosen:
        msg = "subset_marker: an empty subset of targets has no marker"
        raise ValueError(msg)
    if chosen >= set(every):
        return None
    pythons = {t.python for t in every}
    platforms = {t.platform.name: t.platform for t in every}

    def rows(python: str) -> set[LockTarget]:
        return {t for t in every if t.python == python}

    def columns(name: str) -> set[LockTarget]:
        return {t for t in every if t.platform.name == name}

    whole_rows = sorted((p for p in pythons if rows(p) <= chosen), key=_version_key)
    if whole_rows and set().union(*map(rows, whole_rows)) == chosen:
        return " or ".join(f'python_version == "{p}"' for p in whole_rows)
    whole_columns = sorted(n for n in platforms if columns(n) <= chosen)
    if whole_columns and set().union(*map(columns, whole_columns)) == chosen:
        return " or ".join(f"({_platform_only(platforms[n])})" for n in whole_columns)
    ordered = sorted(chosen, key=lambda t: t.key)
    return " or ".join(f"({_conjunction(t)})" for t in ordered)


def _version_key(python: str) -> tuple[int, ...]:
    return tuple(int(p) for p in python.split("."))
