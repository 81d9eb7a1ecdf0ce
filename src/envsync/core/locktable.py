"""A lock's ``[tool.envsync]`` table: what envsync records beside PEP 751. PURE.

The table says which spec inputs the lock was resolved from (a fingerprint, so a changed
env.toml makes the lock stale), for which Python, with which groups, their top-level
packages and the requirements themselves (so dropping one needs no resolver run).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from envsync.core.lockcheck import RELOCK
from envsync.core.names import LOCK_NAME
from envsync.core.requirementtext import requirement_line, strip_credentials
from envsync.core.tomlcheck import show
from envsync.errors import LockError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

    from packaging.pylock import Pylock
    from packaging.requirements import Requirement

    from envsync.core.spec import Spec

__all__ = [
    "FORMAT",
    "LockInfo",
    "fingerprint",
    "info",
    "is_fresh",
    "requirement_text",
    "requirements_table",
    "tool_table",
]

#: Version of the ``[tool.envsync]`` table; bumped when older envsyncs could misread it.
FORMAT = 1


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


# -- writing -------------------------------------------------------------------------------


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
    url = strip_credentials(requirement.url) if requirement.url else None
    return requirement_line(requirement, url=url)


# -- reading -------------------------------------------------------------------------------


def info(lock: Pylock, *, path: Path | str = LOCK_NAME) -> LockInfo:
    """The lock's ``[tool.envsync]`` table; LockError if missing, malformed or too new."""
    table = (lock.tool or {}).get("envsync")
    if not isinstance(table, dict):
        msg = f"{path} has no [tool.envsync] table, so it was not written by envsync"
        raise LockError(msg, hint=RELOCK)
    fmt = table.get("format")
    if isinstance(fmt, bool) or not isinstance(fmt, int) or fmt > FORMAT:
        msg = f"{path}: tool.envsync.format is {fmt!r}; this envsync reads format {FORMAT}"
        raise LockError(msg, hint="upgrade envsync, or " + RELOCK)
    roots = table.get("group-roots", {})
    if not isinstance(roots, dict):
        msg = f"{path}: tool.envsync.group-roots must be a table, found {roots!r}"
        raise LockError(msg, hint=RELOCK)
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
        raise LockError(msg, hint=RELOCK)
    found = {"": _strings(value.get("dependencies", []), "requirements.dependencies", path)}
    for group, reqs in value.get("groups", {}).items():
        found[str(group)] = _strings(reqs, f"requirements.groups.{group}", path)
    return found


def _strings(value: object, key: str, path: Path | str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        msg = f"{path}: tool.envsync.{key} must be an array of strings, found {value!r}"
        raise LockError(msg, hint=RELOCK)
    return tuple(value)


def _required_string(table: Mapping[str, object], key: str, path: Path | str) -> str:
    value = table.get(key)
    if not isinstance(value, str):
        what = "is missing" if value is None else f"must be a string, found {value!r}"
        msg = f"{path}: tool.envsync.{key} {what}"
        raise LockError(msg, hint=RELOCK)
    return value
