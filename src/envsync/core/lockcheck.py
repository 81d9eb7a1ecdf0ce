"""What envsync checks in a pylock.toml beyond PEP 751. Pure.

packaging validates the PEP 751 structure; a lock envsync installs from must also be safe and
exact: every file fetched from one place and checked against a sha256 of 64 hex digits, paths
and URLs envsync can open, markers it can evaluate, each package once, and a
``[tool.envsync]`` table that agrees with itself. Each problem is a ``LockProblem`` naming the
key (``packages[3].wheels[0].hashes``) and saying what it must be; ``lock_error`` reports
them all at once, in the order their keys appear in the file.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

from packaging.requirements import Requirement
from packaging.version import Version

from envsync.core.tomlcheck import (
    check_digits,
    check_marker,
    dotted,
    path_problem,
    plain_reason,
    show,
    url_problem,
)
from envsync.errors import LockError, LockProblem

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from packaging.markers import Marker
    from packaging.pylock import (
        Package,
        PackageArchive,
        PackageSdist,
        PackageVcs,
        PackageWheel,
        Pylock,
        PylockValidationError,
    )

    from envsync.core.lockfile import LockInfo

__all__ = ["RELOCK", "Key", "check_packages", "check_tool", "lock_error", "pep751_reason"]

RELOCK = "run `envsync lock` to write a fresh lock from env.toml"
#: A key path in a lock: table keys and array indexes.
Key = tuple[str | int, ...]
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
_TOOL: Key = ("tool", "envsync")


def lock_error(
    path: Path | str, problems: Sequence[LockProblem], document: Mapping[str, Any]
) -> LockError:
    """One LockError for every problem, in the order their keys appear in *document*."""
    ordered = sorted(problems, key=lambda problem: _position(document, problem.key))
    return LockError.listing(path, ordered, hint=RELOCK)


def _position(document: Mapping[str, Any], key: Key) -> tuple[int, ...]:
    """Where *key* is in *document*: the place of each part among its siblings.

    TOML tables keep their keys in the file's order, so this is the order of the text. A key
    the file lacks comes after its siblings; a problem of the whole file (no key) last.
    """
    if not key:
        return (len(document),)
    at: list[int] = []
    node: object = document
    for part in key:
        if isinstance(node, dict) and part in node:
            at.append(list(node).index(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            at.append(part)
            node = node[part]
        else:
            at.append(len(node) if isinstance(node, (dict, list)) else 0)
            break
    return tuple(at)


def check_packages(lock: Pylock, problems: list[LockProblem]) -> None:
    """What envsync needs of the packages beyond PEP 751; each problem names its key."""
    # A lock for several targets may hold a package at one version per target, each entry
    # with the marker of its targets; two entries that could both install are refused.
    seen: dict[str, list[tuple[int, Package]]] = {}
    for i, package in enumerate(lock.packages):
        key: Key = ("packages", i)
        for j, other in seen.get(package.name, ()):
            if package.marker is None or other.marker is None or package.version == other.version:
                found = f"{package.name!r} again (also at packages[{j}])"
                what = "must name each package once (or once per version, each with a marker)"
                _bad(problems, (*key, "name"), f"{what}, found {found}")
                break
        seen.setdefault(package.name, []).append((i, package))
        _check_package(problems, key, package)
    for i, marker in enumerate(lock.environments or ()):
        # Tested against the machine alone, as a requirement's marker is: no groups, no extras.
        _marker(problems, ("environments", i), marker, context="requirement")
    if lock.requires_python is not None:
        _digits(problems, ("requires-python",), str(lock.requires_python))


def _check_package(problems: list[LockProblem], key: Key, package: Package) -> None:
    """One package: markers envsync can evaluate, named dependencies, files it can fetch."""
    if package.marker is not None:
        _marker(problems, (*key, "marker"), package.marker)
    if package.requires_python is not None:
        _digits(problems, (*key, "requires-python"), str(package.requires_python))
    for k, dependency in enumerate(package.dependencies or ()):
        if not isinstance(dependency.get("name"), str):
            found = show(dependency)
            _bad(problems, (*key, "dependencies", k), f"must have a name, found {found}")
    if package.directory is not None:
        _path(problems, (*key, "directory", "path"), package.directory.path)
    _requires(problems, key, package)
    for file_key, file in _files(key, package):
        _check_file(problems, file_key, file)
    if package.vcs is not None:
        _check_vcs(problems, (*key, "vcs"), package.vcs)


_COMMIT = re.compile(r"[0-9a-f]{40}")


def _check_vcs(problems: list[LockProblem], key: Key, vcs: PackageVcs) -> None:
    """A git repository at one full commit id, fetched from a URL envsync can hand git."""
    if vcs.type != "git":
        _bad(
            problems,
            (*key, "type"),
            f'must be "git" (the one VCS envsync installs), found {show(vcs.type)}',
        )
    if vcs.url is None:
        _bad(problems, (*key, "url"), "must be the repository's URL (envsync clones from a url)")
    elif problem := url_problem(vcs.url):
        _bad(
            problems,
            (*key, "url"),
            f"must be a URL git can open, found {show(vcs.url)} ({problem})",
        )
    if not _COMMIT.fullmatch(vcs.commit_id):
        found = show(vcs.commit_id)
        _bad(
            problems,
            (*key, "commit-id"),
            f"must be a full commit id (40 hex digits), found {found}",
        )
    sub = vcs.subdirectory
    if sub is not None and (sub.startswith("/") or ".." in sub.split("/") or path_problem(sub)):
        expected = "must be a relative folder inside the repository"
        _bad(problems, (*key, "subdirectory"), f"{expected}, found {show(sub)}")


def _requires(problems: list[LockProblem], key: Key, package: Package) -> None:
    """``[packages.tool.envsync] requires``: the Requires-Dist lines ``envsync why`` shows."""
    table = (package.tool or {}).get("envsync")
    if not isinstance(table, dict) or "requires" not in table:
        return
    value, at = table["requires"], (*key, "tool", "envsync", "requires")
    if not isinstance(value, list):
        _bad(problems, at, f"must be an array of PEP 508 requirements, found {show(value)}")
        return
    for k, text in enumerate(value):
        if not isinstance(text, str) or not _is_requirement(text):
            _bad(problems, (*at, k), f"must be a PEP 508 requirement, found {show(text)}")


def _files(
    key: Key, package: Package
) -> list[tuple[Key, PackageWheel | PackageSdist | PackageArchive]]:
    """Each file of *package* with its key."""
    files: list[tuple[Key, PackageWheel | PackageSdist | PackageArchive]] = [
        ((*key, "wheels", j), wheel) for j, wheel in enumerate(package.wheels or ())
    ]
    files += [((*key, "sdist"), package.sdist)] if package.sdist else []
    return files + ([((*key, "archive"), package.archive)] if package.archive else [])


def _check_file(
    problems: list[LockProblem], key: Key, file: PackageWheel | PackageSdist | PackageArchive
) -> None:
    """A file is fetched from one place and checked against its sha256 before it is used."""
    if file.url is not None and file.path is not None:
        _bad(problems, key, "must give a url or a path, not both (which file would be meant?)")
    if file.url is not None and (problem := _file_url_problem(file.url)):
        found = f"{show(file.url)} ({problem})"
        expected = "must be an http://, https:// or file:// URL"
        _bad(problems, (*key, "url"), f"{expected}, found {found}")
    if file.path is not None:
        _path(problems, (*key, "path"), file.path)
    if file.size is not None and file.size < 0:
        _bad(problems, (*key, "size"), f"must be a size in bytes (0 or more), found {file.size}")
    sha256 = file.hashes.get("sha256")
    valid = isinstance(sha256, str) and _SHA256.fullmatch(sha256)
    if not valid or not all(_HEX.fullmatch(value) for value in file.hashes.values()):
        found = show(dict(file.hashes))
        _bad(problems, (*key, "hashes"), f"must hold a sha256 of 64 hex digits, found {found}")


def _file_url_problem(url: str) -> str | None:
    """Why envsync could not download *url*, if so."""
    scheme, separator, _ = url.partition("://")
    if not separator or scheme.lower() not in {"http", "https", "file"}:
        return "another scheme, or no scheme at all"
    return url_problem(url)


def _path(problems: list[LockProblem], key: Key, value: str) -> None:
    if problem := path_problem(value):
        _bad(problems, key, f"must be a path, found {show(value)} ({problem})")


def _marker(
    problems: list[LockProblem],
    key: Key,
    marker: Marker,
    context: Literal["requirement", "lock_file"] = "lock_file",
) -> None:
    try:
        check_marker(marker, context)
    except ValueError as exc:
        found = f"{show(str(marker))} ({exc})"
        _bad(problems, key, f"must be a marker a lock can hold (PEP 751), found {found}")


def _digits(problems: list[LockProblem], key: Key, value: str) -> None:
    try:
        check_digits(value)
    except ValueError as exc:
        found = f"{show(value)} ({exc})"
        _bad(problems, key, f"must be something envsync can compare, found {found}")


def _bad(problems: list[LockProblem], key: Key, problem: str) -> None:
    """Record that *key* of the lock has *problem* (``must be ...``)."""
    problems.append(LockProblem(key=key, problem=problem))


def check_tool(lock: Pylock, table: LockInfo, problems: list[LockProblem]) -> None:
    """``[tool.envsync]`` agrees with itself and with the lock's PEP 751 fields.

    *table* is read as far as it could be: a key already in *problems* is not checked again.
    """
    wrong = {problem.key[2] for problem in problems if problem.key[:2] == _TOOL and problem.key[2:]}
    if table.targets == () and "python" not in wrong and "targets" not in wrong:
        _python(problems, table.python)  # a format 1 lock: one interpreter's version
    known, where = table.groups, "tool.envsync.groups"
    subsets = [
        ("groups", table.groups, list(lock.dependency_groups or ()), "dependency-groups"),
        ("default-groups", table.default_groups, known, where),
        ("group-roots", [group for group in table.roots if group], known, where),
    ]
    for name, names, among, listed in subsets:
        if not wrong & {name, "groups"}:  # neither these names nor those they must be among
            _subset(problems, (*_TOOL, name), names, among, listed)
    for root, requirements in table.requirements.items():
        at: Key = ("groups", root) if root else ("dependencies",)
        for k, text in enumerate(requirements):
            if not _is_requirement(text):
                key = (*_TOOL, "requirements", *at, k)
                _bad(problems, key, f"must be a PEP 508 requirement, found {show(text)}")


def _python(problems: list[LockProblem], python: str) -> None:
    try:
        Version(python)
    except ValueError:  # InvalidVersion, or a 5000-digit number
        found = show(python)
        _bad(problems, (*_TOOL, "python"), f"must be a Python version like 3.12.4, found {found}")


def _is_requirement(text: str) -> bool:
    try:
        Requirement(text)
    except ValueError:  # InvalidRequirement
        return False
    return True


def _subset(
    problems: list[LockProblem], key: Key, names: Sequence[str], known: Sequence[str], where: str
) -> None:
    if unknown := [name for name in names if name not in known]:
        listed = ", ".join(dotted((name,)) for name in known) or "none"  # a name TOML quotes
        _bad(problems, key, f"must list groups of {where} ({listed}), found {show(unknown[0])}")
