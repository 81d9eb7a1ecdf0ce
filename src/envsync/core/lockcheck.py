"""What envsync checks in a pylock.toml beyond PEP 751. Pure.

packaging validates the PEP 751 structure; a lock envsync installs from must also be safe and
exact: every file fetched from one place and checked against a sha256 of 64 hex digits, paths
and URLs envsync can open, markers it can evaluate, each package once, and a
``[tool.envsync]`` table that agrees with itself. Every problem is one ``LockError`` naming
the file and the key (``packages[3].wheels[0].hashes``) and saying what it must be.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NoReturn

from packaging.requirements import Requirement
from packaging.version import Version

from envsync.core.tomlcheck import (
    check_digits,
    check_marker,
    path_problem,
    plain_reason,
    show,
    url_problem,
)
from envsync.errors import LockError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from packaging.markers import Marker
    from packaging.pylock import (
        Package,
        PackageArchive,
        PackageSdist,
        PackageWheel,
        Pylock,
        PylockValidationError,
    )

    from envsync.core.lockfile import LockInfo

__all__ = ["RELOCK", "check_packages", "check_tool", "pep751_reason"]

RELOCK = "run `envsync lock` to write a fresh lock from env.toml"
_TOML_TYPES = {
    "str": "a string",
    "int": "an integer",
    "float": "a float",
    "bool": "a boolean",
    "dict": "a table",
    "list": "an array",
    "datetime": "a date-time",
    "date": "a date",
    "time": "a time",
    "Mapping": "a table",
    "Sequence": "an array",
}
_UNEXPECTED_TYPE = re.compile(r"Unexpected type (\w+) \(expected (\w+)\)")


def pep751_reason(exc: PylockValidationError) -> str:
    """Packaging's message on one line, in TOML's words, ending with the key it is about."""
    message, _, diagram = exc.message.partition("\n")
    message = plain_reason(message)  # a version of 5000 digits: Python's advice, reworded
    if match := _UNEXPECTED_TYPE.fullmatch(message):
        found, expected = (_TOML_TYPES.get(name, name) for name in match.groups())
        message = f"expected {expected}, found {found}"
    if diagram:  # packaging's caret diagram: the marker or specifier, a caret under the fault
        message += f" (found {show(diagram.splitlines()[0].strip())})"
    return f"{message} in {exc.context!r}" if exc.context else message


_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_HEX = re.compile(r"[0-9a-fA-F]+")


def check_packages(lock: Pylock, path: Path | str) -> None:
    """What envsync needs of the packages beyond PEP 751; LockError names the key."""
    seen: dict[str, str] = {}
    for i, package in enumerate(lock.packages):
        key = f"packages[{i}]"
        if package.name in seen:
            found = f"{package.name!r} again (also at {seen[package.name]})"
            _bad(path, f"{key}.name", f"must name each package once, found {found}")
        seen[package.name] = key
        _check_package(path, key, package)
    for i, marker in enumerate(lock.environments or ()):
        _marker(path, f"environments[{i}]", marker)
    if lock.requires_python is not None:
        _digits(path, "requires-python", str(lock.requires_python))


def _check_package(path: Path | str, key: str, package: Package) -> None:
    """One package: markers envsync can evaluate, named dependencies, files it can fetch."""
    if package.marker is not None:
        _marker(path, f"{key}.marker", package.marker)
    if package.requires_python is not None:
        _digits(path, f"{key}.requires-python", str(package.requires_python))
    for k, dependency in enumerate(package.dependencies or ()):
        if not isinstance(dependency.get("name"), str):
            _bad(path, f"{key}.dependencies[{k}]", f"must have a name, found {show(dependency)}")
    if package.directory is not None:
        _path(path, f"{key}.directory.path", package.directory.path)
    for file_key, file in _files(key, package):
        _check_file(path, file_key, file)


def _files(
    key: str, package: Package
) -> list[tuple[str, PackageWheel | PackageSdist | PackageArchive]]:
    """Each file of *package* with its key."""
    files: list[tuple[str, PackageWheel | PackageSdist | PackageArchive]] = [
        (f"{key}.wheels[{j}]", wheel) for j, wheel in enumerate(package.wheels or ())
    ]
    files += [(f"{key}.sdist", package.sdist)] if package.sdist else []
    return files + ([(f"{key}.archive", package.archive)] if package.archive else [])


def _check_file(
    path: Path | str, key: str, file: PackageWheel | PackageSdist | PackageArchive
) -> None:
    """A file is fetched from one place and checked against its sha256 before it is used."""
    if file.url is not None and file.path is not None:
        _bad(path, key, "must give a url or a path, not both (which file would be meant?)")
    if file.url is not None and (problem := _file_url_problem(file.url)):
        found = f"{show(file.url)} ({problem})"
        _bad(path, f"{key}.url", f"must be an http://, https:// or file:// URL, found {found}")
    if file.path is not None:
        _path(path, f"{key}.path", file.path)
    if file.size is not None and file.size < 0:
        _bad(path, f"{key}.size", f"must be a size in bytes (0 or more), found {file.size}")
    sha256 = file.hashes.get("sha256")
    valid = isinstance(sha256, str) and _SHA256.fullmatch(sha256)
    if not valid or not all(_HEX.fullmatch(value) for value in file.hashes.values()):
        found = show(dict(file.hashes))
        _bad(path, f"{key}.hashes", f"must hold a sha256 of 64 hex digits, found {found}")


def _file_url_problem(url: str) -> str | None:
    """Why envsync could not download *url*, if so."""
    scheme, separator, _ = url.partition("://")
    if not separator or scheme.lower() not in {"http", "https", "file"}:
        return "another scheme, or no scheme at all"
    return url_problem(url)


def _path(path: Path | str, key: str, value: str) -> None:
    if problem := path_problem(value):
        _bad(path, key, f"must be a path, found {show(value)} ({problem})")


def _marker(path: Path | str, key: str, marker: Marker) -> None:
    try:
        check_marker(marker, "lock_file")
    except ValueError as exc:
        found = f"{show(str(marker))} ({exc})"
        _bad(path, key, f"must be a marker a lock can hold (PEP 751), found {found}")


def _digits(path: Path | str, key: str, value: str) -> None:
    try:
        check_digits(value)
    except ValueError as exc:
        _bad(path, key, f"must be something envsync can compare, found {show(value)} ({exc})")


def _bad(path: Path | str, key: str, problem: str) -> NoReturn:
    """Raise LockError: *key* of the lock at *path* has *problem* (``must be ...``)."""
    msg = f"{path}: {key} {problem}"
    raise LockError(msg, hint=RELOCK)


def check_tool(lock: Pylock, table: LockInfo, path: Path | str) -> None:
    """``[tool.envsync]`` agrees with itself and with the lock's PEP 751 fields."""
    try:
        Version(table.python)
    except ValueError:  # InvalidVersion, or a 5000-digit number
        found = show(table.python)
        _bad(path, "tool.envsync.python", f"must be a Python version like 3.12.4, found {found}")
    groups, known = "tool.envsync.groups", table.groups
    _subset(path, groups, table.groups, list(lock.dependency_groups or ()), "dependency-groups")
    _subset(path, "tool.envsync.default-groups", table.default_groups, known, groups)
    _subset(path, "tool.envsync.group-roots", [g for g in table.roots if g], known, groups)
    for root, requirements in table.requirements.items():
        where = f"groups.{root}" if root else "dependencies"
        for k, text in enumerate(requirements):
            if not _is_requirement(text):
                key = f"tool.envsync.requirements.{where}[{k}]"
                _bad(path, key, f"must be a PEP 508 requirement, found {show(text)}")


def _is_requirement(text: str) -> bool:
    try:
        Requirement(text)
    except ValueError:  # InvalidRequirement
        return False
    return True


def _subset(
    path: Path | str, key: str, names: Sequence[str], known: Sequence[str], where: str
) -> None:
    if unknown := [name for name in names if name not in known]:
        listed = ", ".join(known) or "none"
        _bad(path, key, f"must list groups of {where} ({listed}), found {show(unknown[0])}")
