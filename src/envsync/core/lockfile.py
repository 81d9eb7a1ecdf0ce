"""Lock <-> pylock.toml (PEP 751) via packaging.pylock; spec fingerprint; selection. PURE.

The lock model is packaging's ``Pylock``: this module builds one from a resolution, writes it
with stable bytes, reads and validates it, and selects what a given environment installs.
envsync's own data lives under ``[tool.envsync]``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import tomli_w
from packaging.markers import Marker
from packaging.pylock import (
    Package,
    PackageArchive,
    PackageDirectory,
    PackageSdist,
    PackageWheel,
    Pylock,
    PylockSelectError,
    PylockValidationError,
)
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envsync.core.lockcheck import RELOCK as _RELOCK
from envsync.core.lockcheck import check_packages, check_tool, pep751_reason
from envsync.core.names import LOCK_NAME
from envsync.core.tomlcheck import TomlDecodeError, parse_toml, show
from envsync.errors import LockError

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence

    from envsync._types import ArtifactKind, NormalizedName
    from envsync.core.spec import Spec

__all__ = [
    "FORMAT",
    "LOCK_NAME",
    "Artifact",
    "LockInfo",
    "LockedFile",
    "ResolvedPackage",
    "Wanted",
    "build_lock",
    "dumps",
    "fingerprint",
    "group_marker",
    "info",
    "is_fresh",
    "loads",
    "package_version",
    "pins",
    "requirement_text",
    "requirements_table",
    "select",
    "strip_credentials",
    "tool_table",
]

#: Version of the ``[tool.envsync]`` table; bumped when older envsyncs could misread it.
FORMAT = 1
CREATED_BY = "envsync"


@dataclass(frozen=True, kw_only=True, slots=True)
class Artifact:
    """The one file or folder the lock selects for a package on the target."""

    kind: ArtifactKind
    """wheel, sdist, directory or archive."""
    url: str
    """Where to get it: an index URL, or a file:// URL made absolute against the project."""
    sha256: str | None = None
    """Expected sha256 of the file; None for directories."""
    filename: str | None = None
    """The file name, for wheels, sdists and archives."""

    def is_wheel(self) -> bool:
        """Whether this is a wheel file (from an index, find-links or a direct URL).

        Installing a wheel runs no build code, unlike an sdist or a folder.
        """
        name = self.filename or PurePosixPath(urlsplit(self.url).path).name
        return self.kind in {"wheel", "archive"} and name.endswith(".whl")


@dataclass(frozen=True, kw_only=True, slots=True)
class Wanted:
    """A package the lock selects for the target environment."""

    name: NormalizedName
    """Normalized project name."""
    version: Version | None
    """Locked version (None only for a local directory whose version is not recorded)."""
    artifact: Artifact
    """What to install."""
    editable: bool = False
    """Install in editable mode (local directories only)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class LockedFile:
    """One distribution file of a pinned version, as an index lists it."""

    filename: str
    """The file's name (wheel or sdist)."""
    url: str | None = None
    """Absolute URL, credentials stripped; None when ``path`` is set."""
    path: str | None = None
    """Path relative to the project (POSIX separators), for local files."""
    sha256: str
    """Hex sha256 of the file."""
    size: int | None = None
    """Size in bytes, when the index says."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ResolvedPackage:
    """One package of a resolution, with everything the lock records about it."""

    name: NormalizedName
    """Normalized project name."""
    version: Version | None
    """Pinned version; None for a local directory."""
    groups: frozenset[str]
    """Groups that need it; empty when the main dependencies need it (always installed)."""
    dependencies: tuple[NormalizedName, ...] = ()
    """Names of the packages it requires in this resolution."""
    wheels: tuple[LockedFile, ...] = ()
    """Every wheel of the version, for every platform the index lists."""
    sdist: LockedFile | None = None
    """The source distribution, if any."""
    directory: str | None = None
    """A local project folder (relative to the project where possible)."""
    editable: bool = False
    """Install the directory in editable mode."""
    archive: LockedFile | None = None
    """A direct-URL or local archive."""
    index: str | None = None
    """The simple-API URL the files came from."""
    requires_python: str | None = None
    """The version's Requires-Python, when known."""


@dataclass(frozen=True, kw_only=True, slots=True)
class LockInfo:
    """The ``[tool.envsync]`` table."""

    format: int
    """Table format version."""
    fingerprint: str
    """Hash of the spec inputs the lock was resolved from."""
    groups: tuple[str, ...]
    """Every group the lock covers."""
    python: str
    """Full version of the interpreter the lock was resolved for."""
    default_groups: tuple[str, ...] = ()
    """Groups installed unless asked otherwise (the spec's default-groups)."""
    roots: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Each group's own top-level packages (``""``: the main dependencies')."""
    requirements: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """The requirements the lock was resolved from, per root (``""``: the main ones)."""


# -- fingerprint ---------------------------------------------------------------------------


def fingerprint(spec: Spec, local: Mapping[str, str] | None = None) -> str:
    """Hash of what the resolution depends on; comments, order and venv path do not count.

    *local* maps each local project folder to a hash of its build files, so editing a local
    package's version or dependencies makes the lock stale.
    """
    # Credentials are left out: they change no result (a new token must not make the lock
    # stale), and a hash of a short token in a committed file could be guessed back.
    data = {
        "python": sorted(str(s) for s in spec.python),
        **requirements_table(spec),
        "index": {
            "url": strip_credentials(spec.index.url) if spec.index.url else None,
            "extra-urls": [strip_credentials(u) for u in spec.index.extra_urls],
            "find-links": [strip_credentials(u) for u in spec.index.find_links],
        },
    }
    # Newer inputs join only when used, so locks of specs without them keep their hash.
    extra = {
        "default-groups": list(spec.default_groups),
        "indexes": {i.name: strip_credentials(i.url) for i in spec.indexes},
        "sources": {s.package: [s.index, s.path, s.editable] for s in spec.sources},
        "local": dict(local or {}),
    }
    data.update({key: value for key, value in extra.items() if value})
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def is_fresh(lock: Pylock, spec: Spec, local: Mapping[str, str] | None = None) -> bool:
    """True when *lock* was resolved from exactly *spec*'s inputs (and local projects)."""
    return info(lock).fingerprint == fingerprint(spec, local)


# -- building ------------------------------------------------------------------------------


def strip_credentials(url: str) -> str:
    """*url* without ``user:password@``: credentials never reach a lock, a log or a plan.

    ssh's bare ``git@`` is not a secret and is kept (PEP 610 does the same).
    """
    parts = urlsplit(url)
    userinfo, sep, host = parts.netloc.rpartition("@")
    if not sep or userinfo == "git":
        return url
    return urlunsplit(parts._replace(netloc=host))


def build_lock(
    *,
    spec: Spec,
    python: str,
    packages: Iterable[ResolvedPackage],
    roots: Mapping[str, Iterable[str]] | None = None,
    local: Mapping[str, str] | None = None,
) -> Pylock:
    """A validated Pylock for *packages*, resolved for Python *python* from *spec*.

    *roots* names each group's top-level packages; *local* is as for ``fingerprint``.
    """
    group_names = sorted(str(canonicalize_name(g.name)) for g in spec.groups)
    lock = Pylock(
        lock_version=Version("1.0"),
        environments=[_environment_marker(python)],
        requires_python=spec.python if str(spec.python) else None,
        dependency_groups=group_names or None,
        created_by=CREATED_BY,
        packages=[_package(p) for p in sorted(packages, key=lambda p: p.name)],
        tool={
            "envsync": tool_table(spec, python, group_names, roots or {}, local),
        },
    )
    try:
        lock.validate()
    except PylockValidationError as exc:  # pragma: no cover - a bug in envsync, not user input
        msg = f"envsync built an invalid lock: {exc}"
        raise LockError(msg) from exc
    return lock


def tool_table(
    spec: Spec,
    python: str,
    group_names: list[str],
    roots: Mapping[str, Iterable[str]],
    local: Mapping[str, str] | None,
) -> dict[str, Any]:
    """The ``[tool.envsync]`` table for a lock of *spec* (see LockInfo for its keys)."""
    table: dict[str, Any] = {
        "format": FORMAT,
        "fingerprint": fingerprint(spec, local),
        "groups": group_names,
        "python": python,
    }
    if spec.default_groups:
        table["default-groups"] = list(spec.default_groups)
    if main := sorted(set(roots.get("", ()))):
        table["main-roots"] = main
    group_roots = {g: sorted(set(names)) for g, names in sorted(roots.items()) if g}
    if group_roots:
        table["group-roots"] = group_roots
    # What was resolved, so dropping a requirement later needs no resolver run.
    table["requirements"] = requirements_table(spec)
    return table


def requirements_table(spec: Spec) -> dict[str, Any]:
    """The spec's requirements as the lock records them: sorted, credentials stripped."""
    return {
        "dependencies": sorted(requirement_text(r) for r in spec.dependencies),
        "groups": {
            str(canonicalize_name(g.name)): sorted(requirement_text(r) for r in g.requirements)
            for g in spec.groups
        },
    }


def requirement_text(requirement: Requirement) -> str:
    """*requirement* as a lock may hold it: a direct URL without ``user:password@``."""
    if not requirement.url or strip_credentials(requirement.url) == requirement.url:
        return str(requirement)
    plain = Requirement(str(requirement))
    plain.url = strip_credentials(requirement.url)
    return str(plain)


def _environment_marker(python: str) -> Marker:
    # pip-compile evaluates markers for one interpreter, so the lock is only correct for
    # that Python minor version: say so, so other installers refuse rather than guess.
    minor = ".".join(python.split(".")[:2])
    return Marker(f"python_version == '{minor}'")


def group_marker(groups: frozenset[str]) -> Marker | None:
    """The PEP 751 marker of a package the given groups need (None: always installed)."""
    if not groups:
        return None
    return Marker(" or ".join(f"'{g}' in dependency_groups" for g in sorted(groups)))


def _package(p: ResolvedPackage) -> Package:
    # PEP 751: a source tree's version MUST NOT be in `version`, since the tree can change;
    # envsync keeps the version it saw under the package's tool table, for planning only.
    tree = p.directory is not None
    return Package(
        name=p.name,
        version=None if tree else p.version,
        tool={"envsync": {"version": str(p.version)}} if tree and p.version else None,
        marker=group_marker(p.groups),
        requires_python=SpecifierSet(p.requires_python) if p.requires_python else None,
        dependencies=[{"name": d} for d in sorted(p.dependencies)] or None,
        directory=PackageDirectory(path=p.directory, editable=p.editable or None)
        if p.directory is not None
        else None,
        archive=_archive(p.archive) if p.archive else None,
        index=strip_credentials(p.index) if p.index else None,
        sdist=_sdist(p.sdist) if p.sdist else None,
        wheels=[_wheel(w) for w in sorted(p.wheels, key=lambda w: w.filename)] or None,
    )


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


def loads(text: str, *, path: Path | str = LOCK_NAME) -> Pylock:
    """Parse and validate pylock.toml *text*; LockError names the file and the bad key.

    Beyond PEP 751 (which packaging checks), the lock must be one envsync can install
    safely and exactly: see ``_lockcheck``.
    """
    try:
        data = parse_toml(text)
    except TomlDecodeError as exc:
        msg = f"{path} is not valid TOML: {exc.message}"
        raise LockError(msg, hint=_RELOCK) from None
    try:
        lock = Pylock.from_dict(data)
    except PylockValidationError as exc:
        msg = f"{path} is not a valid PEP 751 lock: {pep751_reason(exc)}"
        raise LockError(msg, hint=_RELOCK) from exc
    check_packages(lock, path)
    check_tool(lock, info(lock, path=path), path)
    return lock


def info(lock: Pylock, *, path: Path | str = LOCK_NAME) -> LockInfo:
    """The lock's ``[tool.envsync]`` table; LockError if missing, malformed or too new."""
    table = (lock.tool or {}).get("envsync")
    if not isinstance(table, dict):
        msg = f"{path} has no [tool.envsync] table, so it was not written by envsync"
        raise LockError(msg, hint=_RELOCK)
    fmt = table.get("format")
    if isinstance(fmt, bool) or not isinstance(fmt, int) or fmt > FORMAT:
        msg = f"{path}: tool.envsync.format is {fmt!r}; this envsync reads format {FORMAT}"
        raise LockError(msg, hint="upgrade envsync, or " + _RELOCK)
    roots = table.get("group-roots", {})
    if not isinstance(roots, dict):
        msg = f"{path}: tool.envsync.group-roots must be a table, found {roots!r}"
        raise LockError(msg, hint=_RELOCK)
    all_roots = {str(g): _strings(n, f"group-roots.{g}", path) for g, n in roots.items()}
    if "main-roots" in table:
        all_roots[""] = _strings(table["main-roots"], "main-roots", path)
    return LockInfo(
        format=fmt,
        fingerprint=_required_string(table, "fingerprint", path),
        groups=_strings(table.get("groups", []), "groups", path),
        python=_required_string(table, "python", path),
        default_groups=_strings(table.get("default-groups", []), "default-groups", path),
        roots=all_roots,
        requirements=_recorded_requirements(table.get("requirements"), path),
    )


def _recorded_requirements(value: object, path: Path | str) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not isinstance(value.get("groups", {}), dict):
        msg = f"{path}: tool.envsync.requirements must be a table, found {show(value)}"
        raise LockError(msg, hint=_RELOCK)
    found = {"": _strings(value.get("dependencies", []), "requirements.dependencies", path)}
    for group, reqs in value.get("groups", {}).items():
        found[str(group)] = _strings(reqs, f"requirements.groups.{group}", path)
    return found


def _strings(value: object, key: str, path: Path | str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        msg = f"{path}: tool.envsync.{key} must be an array of strings, found {value!r}"
        raise LockError(msg, hint=_RELOCK)
    return tuple(value)


def _required_string(table: Mapping[str, object], key: str, path: Path | str) -> str:
    value = table.get(key)
    if not isinstance(value, str):
        what = "is missing" if value is None else f"must be a string, found {value!r}"
        msg = f"{path}: tool.envsync.{key} {what}"
        raise LockError(msg, hint=_RELOCK)
    return value


def pins(lock: Pylock) -> dict[NormalizedName, Version]:
    """Locked versions by name: the preferences a relock keeps."""
    return {p.name: p.version for p in lock.packages if p.version is not None}


# -- selection -----------------------------------------------------------------------------


def select(
    lock: Pylock,
    *,
    environment: Mapping[str, str],
    tags: Sequence[str],
    groups: Collection[str],
    root: Path,
    main: bool = True,
) -> tuple[Wanted, ...]:
    """What *lock* installs into an environment with these markers, tags and groups.

    With ``main=False`` (``--only-group``) only what the groups themselves need is kept,
    following each package's ``dependencies`` from the groups' own top-level packages.
    Paths in the lock are made absolute against *root*, the project folder.
    LockError when the lock does not fit the environment (another Python, no wheel).
    """
    parsed_tags = [Tag(*t.split("-", 2)) for t in tags]
    # Group names are checked against the spec before this; a group the lock does not declare
    # selects nothing (packaging >= 26.4 would raise instead of ignoring it).
    declared = frozenset(groups) & frozenset(lock.dependency_groups or ())
    try:
        chosen = list(
            lock.select(
                environment=dict(environment),  # type: ignore[arg-type] # a plain marker dict
                tags=parsed_tags,
                dependency_groups=declared,
            )
        )
    except PylockSelectError as exc:
        msg = f"the lock does not fit this environment: {exc}"
        raise LockError(msg, hint=_RELOCK) from exc
    if not main:
        needed = _needed_by(lock, groups)
        chosen = [(p, source) for p, source in chosen if p.name in needed]
    return tuple(sorted((_wanted(p, source, root) for p, source in chosen), key=_by_name))


def _needed_by(lock: Pylock, groups: Collection[str]) -> set[str]:
    """The groups' top-level packages and everything they depend on, by name."""
    roots = info(lock).roots
    edges: dict[str, list[str]] = {
        p.name: [str(d.get("name")) for d in p.dependencies or []] for p in lock.packages
    }
    todo = [name for group in groups for name in roots.get(group, ())]
    needed: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo.extend(edges.get(name, ()))
    return needed


def _by_name(w: Wanted) -> str:
    return w.name


def _wanted(
    package: Package,
    source: object,
    root: Path,
) -> Wanted:
    if isinstance(source, PackageDirectory):
        artifact = Artifact(kind="directory", url=_location(None, source.path, root))
        return Wanted(
            name=package.name,
            version=_tree_version(package),
            artifact=artifact,
            editable=bool(source.editable),
        )
    if isinstance(source, (PackageWheel, PackageSdist, PackageArchive)):
        kind: ArtifactKind = (
            "wheel"
            if isinstance(source, PackageWheel)
            else "sdist"
            if isinstance(source, PackageSdist)
            else "archive"
        )
        artifact = Artifact(
            kind=kind,
            url=_location(source.url, source.path, root),
            sha256=source.hashes.get("sha256"),
            filename=None if isinstance(source, PackageArchive) else source.filename,
        )
        return Wanted(name=package.name, version=package.version, artifact=artifact)
    msg = f"{package.name}: VCS sources are not supported by envsync yet"
    raise LockError(msg, hint=_RELOCK)


def package_version(package: Package) -> Version | None:
    """The package's version: ``version``, or for a source tree the one envsync saw."""
    return package.version if package.version is not None else _tree_version(package)


def _tree_version(package: Package) -> Version | None:
    """The version envsync saw for a source tree (under the package's [tool.envsync])."""
    table = (package.tool or {}).get("envsync")
    seen = table.get("version") if isinstance(table, dict) else None
    try:
        return Version(seen) if isinstance(seen, str) else None
    except InvalidVersion:
        return None


def _location(url: str | None, path: str | None, root: Path) -> str:
    if url:
        return url
    if path is None:  # pragma: no cover - Pylock validation requires url or path
        msg = "a lock entry has neither url nor path"
        raise LockError(msg, hint=_RELOCK)
    pure = PurePosixPath(path)
    target = Path(pure) if pure.is_absolute() else root / Path(*pure.parts)
    # pip records normpath(abspath(...)) in direct_url.json; spell it the same way.
    return Path(os.path.normpath(target)).as_uri()
