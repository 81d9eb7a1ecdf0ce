"""Lock <-> pylock.toml (PEP 751) via packaging.pylock: build, write and read a lock. PURE.

The lock model is packaging's ``Pylock``: this module builds one from a resolution, writes it
with stable bytes, and reads it back, validated (``lockcheck``). envsync's own data lives
under ``[tool.envsync]`` (``locktable``); what a lock installs is ``lockselect``'s job. The
names of both are importable from here too, where the rest of envsync takes them from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import tomli_w
from packaging.pylock import (
    Package,
    PackageArchive,
    PackageDirectory,
    PackageSdist,
    PackageVcs,
    PackageWheel,
    Pylock,
    PylockValidationError,
)
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from envsync.core.lockcheck import (
    RELOCK,
    check_packages,
    check_tool,
    lock_error,
    pep751_reason,
)
from envsync.core.lockmerge import Entry, TargetResolution, merge, roots_of, split
from envsync.core.lockselect import Artifact, Wanted, package_version, select
from envsync.core.locktable import (
    FORMAT,
    LockInfo,
    fingerprint,
    info,
    inputs_fingerprint,
    is_fresh,
    read_info,
    requirement_text,
    requirements_table,
    tool_table,
)
from envsync.core.names import LOCK_NAME
from envsync.core.requirementtext import strip_credentials
from envsync.core.resolved import LockedFile, LockedVcs, ResolvedPackage
from envsync.core.tomlcheck import TomlDecodeError, parse_toml
from envsync.errors import LockError, LockProblem

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from envsync._types import NormalizedName
    from envsync.core.spec import Spec
    from envsync.core.targets import LockTarget

__all__ = [
    "FORMAT",
    "LOCK_NAME",
    "Artifact",
    "LockInfo",
    "LockedFile",
    "ParsedLock",
    "ResolvedPackage",
    "TargetResolution",
    "Wanted",
    "build_lock",
    "dumps",
    "fingerprint",
    "info",
    "inputs_fingerprint",
    "is_fresh",
    "loads",
    "package_version",
    "parse",
    "pins",
    "preferences",
    "requirement_text",
    "requirements_table",
    "select",
    "strip_credentials",
    "tool_table",
]

CREATED_BY = "envsync"


# -- building ------------------------------------------------------------------------------


def build_lock(
    *,
    spec: Spec,
    resolutions: Sequence[TargetResolution],
    local: Mapping[str, str] | None = None,
) -> Pylock:
    """A validated Pylock serving every target of *resolutions*, resolved from *spec*.

    Each package entry's marker is true on exactly the targets and groups that need it
    (``lockmerge``); ``environments`` lists one marker per target, so an installer on a
    machine no target matches refuses the lock rather than guess. *local* is as for
    ``fingerprint``.
    """
    group_names = sorted(str(canonicalize_name(g.name)) for g in spec.groups)
    targets = sorted((r.target for r in resolutions), key=lambda t: t.key)
    roots = roots_of(resolutions)
    lock = Pylock(
        lock_version=Version("1.0"),
        environments=[t.marker() for t in targets],
        requires_python=spec.lock_python if str(spec.lock_python) else None,
        dependency_groups=group_names or None,
        created_by=CREATED_BY,
        packages=[_package(e) for e in merge(resolutions)],
        tool={
            "envsync": tool_table(spec, targets, group_names, roots, local),
        },
    )
    try:
        lock.validate()
    except PylockValidationError as exc:  # pragma: no cover - a bug in envsync, not user input
        msg = f"envsync built an invalid lock: {exc}"
        raise LockError(msg) from exc
    return lock


def _package(entry: Entry) -> Package:
    # PEP 751: a source tree's version MUST NOT be in `version`, since the tree can change;
    # envsync keeps the version it saw under the package's tool table, for planning only.
    p = entry.package
    tree = p.directory is not None
    return Package(
        name=p.name,
        version=None if tree else p.version,
        tool=_package_tool(p),
        marker=entry.marker,
        requires_python=SpecifierSet(p.requires_python) if p.requires_python else None,
        dependencies=[
            {"name": name, "version": version} if version else {"name": name}
            for name, version in entry.dependencies
        ]
        or None,
        directory=PackageDirectory(path=p.directory, editable=p.editable or None)
        if p.directory is not None
        else None,
        archive=_archive(p.archive) if p.archive else None,
        vcs=_vcs(p.vcs) if p.vcs else None,
        index=strip_credentials(p.index) if p.index else None,
        sdist=_sdist(p.sdist) if p.sdist else None,
        wheels=[_wheel(w) for w in sorted(p.wheels, key=lambda w: w.filename)] or None,
    )


def _package_tool(p: ResolvedPackage) -> dict[str, Any] | None:
    """The package's ``[packages.tool.envsync]``: a source tree's version, the requires.

    ``requires`` (the Requires-Dist lines behind its ``dependencies``) lives here and not in
    ``dependencies``, whose keys PEP 751 gives a matching meaning.
    """
    table: dict[str, Any] = {}
    if p.directory is not None and p.version:
        table["version"] = str(p.version)
    if p.requires:
        table["requires"] = list(p.requires)
    return {"envsync": table} if table else None


def _url(f: LockedFile) -> str | None:
    return strip_credentials(f.url) if f.url else None


def _wheel(f: LockedFile) -> PackageWheel:
    return PackageWheel(
        name=f.filename, url=_url(f), path=f.path, size=f.size, hashes={"sha256": f.sha256}
    )


def _sdist(f: LockedFile) -> PackageSdist:
    return PackageSdist(
        name=f.filename, url=_url(f), path=f.path, size=f.size, hashes={"sha256": f.sha256}
    )


def _archive(f: LockedFile) -> PackageArchive:
    return PackageArchive(url=_url(f), path=f.path, size=f.size, hashes={"sha256": f.sha256})


def _vcs(v: LockedVcs) -> PackageVcs:
    return PackageVcs(
        type="git",
        url=strip_credentials(v.url),
        requested_revision=v.requested_revision,
        commit_id=v.commit_id,
        subdirectory=v.subdirectory,
    )


# -- reading and writing -------------------------------------------------------------------


def dumps(lock: Pylock) -> str:
    """pylock.toml text; the same lock always gives the same bytes."""
    return tomli_w.dumps(_plain(lock.to_dict()))


def _plain(value: Any) -> Any:  # noqa: ANN401 - walks arbitrary TOML data
    # to_dict() yields Mapping/Sequence views; tomli_w wants dicts and lists.
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True, kw_only=True, slots=True)
class ParsedLock:
    """A pylock.toml read and validated once: the lock, and its ``[tool.envsync]`` table."""

    lock: Pylock
    """The lock, as packaging models it."""
    info: LockInfo
    """Its ``[tool.envsync]`` table, validated with the rest: no need to read it again."""


def parse(text: str, *, path: Path | str = LOCK_NAME) -> ParsedLock:
    """Parse and validate pylock.toml *text*; LockError names the file and every bad key.

    Beyond PEP 751 (which packaging checks, stopping at its first problem), the lock must be
    one envsync can install safely and exactly (see ``lockcheck``): every problem of that
    kind is listed at once, in the order of the file.
    """
    data = _toml(text, path)
    try:
        lock = Pylock.from_dict(data)
    except PylockValidationError as exc:
        msg = f"{path} is not a valid PEP 751 lock: {pep751_reason(exc)}"
        raise LockError(msg, hint=RELOCK) from exc
    problems: list[LockProblem] = []
    check_packages(lock, problems)
    table = read_info(lock, problems)
    if table is not None:
        check_tool(lock, table, problems)
    if table is None or problems:
        raise lock_error(path, problems, data)
    return ParsedLock(lock=lock, info=table)


def loads(text: str, *, path: Path | str = LOCK_NAME) -> Pylock:
    """Parse and validate pylock.toml *text*, as ``parse`` does; the lock alone."""
    return parse(text, path=path).lock


def _toml(text: str, path: Path | str) -> dict[str, Any]:
    try:
        return parse_toml(text)
    except TomlDecodeError as exc:
        msg = f"{path} is not valid TOML: {exc.message}"
        raise LockError(msg, hint=RELOCK) from None


def pins(lock: Pylock) -> dict[NormalizedName, Version]:
    """Locked versions by name: the preferences a relock keeps."""
    return {p.name: p.version for p in lock.packages if p.version is not None}


def preferences(
    current: Pylock | None, info: LockInfo | None, target: LockTarget
) -> dict[NormalizedName, Version]:
    """The pins a relock of *target* keeps: its own where the lock served it, else the lock's.

    A target new to the lock then prefers the versions the others have, so targets differ
    only where they must.
    """
    if current is None:
        return {}
    found = pins(current)
    if info is not None and target in info.targets:
        own = split(current, target, info.roots).packages
        found.update({p.name: p.version for p in own if p.version is not None})
    return found
