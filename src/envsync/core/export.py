"""pylock.toml -> a pip requirements file with hashes, for ``envsync export``. PURE.

The packages are those ``lockfile.select`` picks for the target environment and groups (the
same selection plan and apply install), each pinned with the hash of every file of its
version, so ``pip install --no-deps --require-hashes -r`` accepts it on any platform the
lock has files for. Local folders and git commits have no file to hash, and pip refuses them
under ``--require-hashes`` (pip-compile's ``--generate-hashes`` output fails there the same
way): they are listed in a comment block instead, git commits as ``name @ git+URL@commit``,
ready to install on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from envsync.core import lockfile
from envsync.core.requirementtext import requirement_line
from envsync.errors import LockError

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence
    from pathlib import Path

    from packaging.pylock import Package, PackageSdist, PackageWheel, Pylock

    from envsync._types import NormalizedName
    from envsync.core.lockfile import Wanted
    from envsync.core.locktable import LockInfo

__all__ = ["Exported", "requirements"]

_HEADER = """\
# Exported from pylock.toml by envsync; do not edit, run `envsync export` again instead.
# Selected for Python {python} ({platform}): {what}.
# Install with: pip install --no-deps --require-hashes -r FILE (and your index options)
"""
_LOCAL_HEADER = """\

# Local folders are left out: pip refuses them under --require-hashes, having no hash to check.
# Install them afterwards (paths are relative to the project folder):
"""


_VCS_HEADER = """\

# Git commits are left out: pip refuses them under --require-hashes, having no file to hash.
# Install them afterwards (each names the exact commit the lock records):
"""


@dataclass(frozen=True, kw_only=True, slots=True)
class Exported:
    """A rendered requirements file and what went into it."""

    text: str
    """The requirements file."""
    packages: tuple[NormalizedName, ...]
    """The packages pinned with hashes, sorted."""
    local: tuple[NormalizedName, ...] = ()
    """Local folders left out (listed in a comment), sorted."""
    vcs: tuple[NormalizedName, ...] = ()
    """Git commits left out (listed in a comment), sorted."""


def requirements(
    lock: Pylock,
    *,
    environment: Mapping[str, str],
    tags: Sequence[str],
    groups: Collection[str],
    root: Path,
    main: bool = True,
    table: LockInfo | None = None,
) -> Exported:
    """The requirements file for what *lock* installs into this environment with *groups*.

    *environment* and *tags* describe the target interpreter (markers and wheel tags), as
    for ``lockfile.select``; with ``main=False`` only the groups' own packages are kept
    (*table*, the lock's ``[tool.envsync]``, says which, where the caller holds it).
    """
    chosen = lockfile.select(
        lock, environment=environment, tags=tags, groups=groups, root=root, main=main, table=table
    )
    packages = {(p.name, lockfile.package_version(p)): p for p in lock.packages}
    lines, hashed, local = [], [], []
    commits = [w for w in chosen if w.artifact.kind == "vcs"]
    for wanted in (w for w in chosen if w.artifact.kind != "vcs"):
        package = packages[wanted.name, wanted.version]
        if package.directory is None:
            lines.append(_pinned(wanted, package))
            hashed.append(wanted.name)
        else:
            local.append((wanted, package.directory.path))
    if local:
        lines.append(_LOCAL_HEADER.rstrip("\n"))
        lines.extend(_local(wanted, path) for wanted, path in local)
    if commits:
        lines.append(_VCS_HEADER.rstrip("\n"))
        lines.extend(
            f"#   pip install --no-deps '{requirement_line(w.name, url=w.artifact.url)}'"
            for w in commits
        )
    return Exported(
        text=_header(environment, groups, main=main) + "".join(f"{line}\n" for line in lines),
        packages=tuple(hashed),
        local=tuple(wanted.name for wanted, _ in local),
        vcs=tuple(w.name for w in commits),
    )


def _header(environment: Mapping[str, str], groups: Collection[str], *, main: bool) -> str:
    names = ", ".join(sorted(groups))
    if not main:
        what = f"only the groups {names}"
    elif groups:
        what = f"the main dependencies and the groups {names}"
    else:
        what = "the main dependencies"
    return _HEADER.format(
        python=environment.get("python_full_version", "?"),
        platform=environment.get("sys_platform", "?"),
        what=what,
    )


def _pinned(wanted: Wanted, package: Package) -> str:
    """``name==version`` with the hash of every file of the version, or ``name @ url``.

    The URL form is for archives, and for files the lock gives no version for.
    """
    if wanted.version is None or wanted.artifact.kind == "archive":
        hashes = _hashes(wanted, [wanted.artifact.sha256])
        return requirement_line(wanted.name, url=wanted.artifact.url, hashes=hashes, continued=True)
    files: list[PackageWheel | PackageSdist] = [*(package.wheels or ())]
    files += [package.sdist] if package.sdist else []
    hashes = _hashes(wanted, [file.hashes.get("sha256") for file in files])
    return requirement_line(f"{wanted.name}=={wanted.version}", hashes=hashes, continued=True)


def _hashes(wanted: Wanted, hashes: Sequence[str | None]) -> Sequence[str | None]:
    """*hashes*; LockError when none is a sha256, as pip must check every file."""
    if not any(hashes):
        msg = f"{wanted.name} has no sha256 hash in pylock.toml, so pip could not check it"
        raise LockError(msg, hint="run `envsync lock --upgrade` to write a fresh lock")
    return hashes


def _local(wanted: Wanted, path: str) -> str:
    """The comment line telling how to install a local folder."""
    editable = "-e " if wanted.editable else ""
    return f"#   pip install --no-deps {editable}{path}    # {wanted.name}"
