"""A lock's ``[tool.envsync]`` table: what envsync records beside PEP 751. PURE.

The table says which spec inputs the lock was resolved from (a fingerprint, so a changed
env.toml makes the lock stale), for which Python, with which groups, their top-level
packages and the requirements themselves (so dropping one needs no resolver run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from envsync.core.lockcheck import RELOCK, Key, lock_error
from envsync.core.names import LOCK_NAME
from envsync.core.quickprune import hash_inputs
from envsync.core.requirementtext import requirement_line, strip_credentials
from envsync.core.targets import PLATFORMS, LockTarget, Platform
from envsync.core.tomlcheck import show
from envsync.errors import LockProblem

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
    "fingerprint_data",
    "info",
    "inputs_fingerprint",
    "is_fresh",
    "read_info",
    "requirement_text",
    "requirements_table",
    "tool_table",
]

#: Version of the ``[tool.envsync]`` table; bumped when older envsyncs could misread it.
#: 2: ``targets`` (Pythons x platforms) replaces ``python`` (one interpreter's version).
FORMAT = 2
_TOOL: Key = ("tool", "envsync")
_UPGRADE = "upgrade envsync, or " + RELOCK


@dataclass(frozen=True, kw_only=True, slots=True)
class LockInfo:
    """The ``[tool.envsync]`` table."""

    format: int
    """Table format version."""
    fingerprint: str
    """Hash of the spec inputs the lock was resolved from."""
    groups: tuple[str, ...]
    """Every group the lock covers."""
    python: str = ""
    """Format 1 only: the full version of the one interpreter the lock was resolved for."""
    targets: tuple[LockTarget, ...] = ()
    """The Pythons and platforms the lock serves (format 2; empty in a format 1 lock)."""
    inputs: str = ""
    """Hash of the spec inputs less ``[lock]``: a target whose inputs it still matches keeps
    its resolution when targets are added or dropped."""
    default_groups: tuple[str, ...] = ()
    """Groups installed unless asked otherwise (the spec's default-groups)."""
    roots: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Each group's own top-level packages (``""``: the main dependencies')."""
    requirements: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """The requirements the lock was resolved from, per root (``""``: the main ones)."""


# -- writing -------------------------------------------------------------------------------


def fingerprint(spec: Spec, local: Mapping[str, str] | None = None) -> str:
    """Hash of what the lock depends on, its targets (``[lock]``) included."""
    inputs, lock = fingerprint_data(spec, local)
    return hash_inputs(inputs if lock is None else {**inputs, "lock": lock})


def inputs_fingerprint(spec: Spec, local: Mapping[str, str] | None = None) -> str:
    """Hash of what each target's resolution depends on: ``fingerprint`` less ``[lock]``."""
    return hash_inputs(_inputs(spec, local))


def fingerprint_data(
    spec: Spec, local: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], dict[str, list[str]] | None]:
    """What the two fingerprints hash: the inputs, and ``[lock]``'s targets where it names any."""
    lock = None
    if spec.lock.python_versions or spec.lock.platforms:
        lock = {
            "python-versions": list(spec.lock.python_versions),
            "platforms": list(spec.lock.platforms),
        }
    return _inputs(spec, local), lock


def _inputs(spec: Spec, local: Mapping[str, str] | None) -> dict[str, Any]:
    """What a resolution depends on; comments, order and venv path do not count.

    *local* maps each local project folder to a hash of its build files, so editing a local
    package's version or dependencies makes the lock stale.
    """
    # Credentials are left out: they change no result (a new token must not make the lock
    # stale), and a hash of a short token in a committed file could be guessed back.
    data = {
        "python": sorted(str(s) for s in spec.lock_python),
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
    return data


def is_fresh(
    lock: Pylock,
    spec: Spec,
    local: Mapping[str, str] | None = None,
    *,
    table: LockInfo | None = None,
) -> bool:
    """True when *lock* was resolved from exactly *spec*'s inputs (and local projects).

    *table* is the lock's ``[tool.envsync]`` where the caller holds it already.
    """
    return (table or info(lock)).fingerprint == fingerprint(spec, local)


def tool_table(
    spec: Spec,
    targets: Iterable[LockTarget],
    group_names: list[str],
    roots: Mapping[str, Iterable[str]],
    local: Mapping[str, str] | None,
) -> dict[str, Any]:
    """The ``[tool.envsync]`` table for a lock of *spec* (see LockInfo for its keys)."""
    table: dict[str, Any] = {
        "format": FORMAT,
        "fingerprint": fingerprint(spec, local),
        "inputs": inputs_fingerprint(spec, local),
        "groups": group_names,
        "targets": [_target_table(t) for t in sorted(targets, key=lambda t: t.key)],
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


def _target_table(target: LockTarget) -> dict[str, str]:
    platform = target.platform
    table = {"python": target.python, "platform": platform.name}
    if PLATFORMS.get(platform.name) != platform:  # a machine no named platform matches
        table.update(
            {
                "sys-platform": platform.sys_platform,
                "platform-machine": platform.platform_machine,
                "platform-system": platform.platform_system,
                "os-name": platform.os_name,
            }
        )
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
    """The lock's ``[tool.envsync]`` table; LockError if missing, malformed or too new.

    The error lists every problem of the table at once.
    """
    problems: list[LockProblem] = []
    table = read_info(lock, problems)
    if table is None or problems:
        raise lock_error(path, problems, {"tool": lock.tool or {}})
    return table


def read_info(lock: Pylock, problems: list[LockProblem]) -> LockInfo | None:
    """The ``[tool.envsync]`` table as far as it can be read, its problems added to *problems*.

    None when it cannot be read at all: there is none, or it is of a format this envsync
    does not read. A key that is wrong reads as empty, so the others can still be checked.
    """
    table = (lock.tool or {}).get("envsync")
    if not isinstance(table, dict):
        missing = "has no [tool.envsync] table, so it was not written by envsync"
        problems.append(LockProblem(key=(), problem=missing))
        return None
    fmt = table.get("format")
    if isinstance(fmt, bool) or not isinstance(fmt, int) or fmt > FORMAT:
        newer = f"is {fmt!r}; this envsync reads format {FORMAT}"
        problems.append(LockProblem(key=(*_TOOL, "format"), problem=newer, hint=_UPGRADE))
        return None
    return LockInfo(
        format=fmt,
        fingerprint=_required_string(table, "fingerprint", problems),
        groups=_strings(table.get("groups", []), ("groups",), problems),
        python=_required_string(table, "python", problems) if fmt < FORMAT else "",
        targets=_targets(table.get("targets"), problems) if fmt >= FORMAT else (),
        inputs=_required_string(table, "inputs", problems) if fmt >= FORMAT else "",
        default_groups=_strings(table.get("default-groups", []), ("default-groups",), problems),
        roots=_roots(table, problems),
        requirements=_recorded_requirements(table.get("requirements"), problems),
    )


def _roots(table: Mapping[str, object], problems: list[LockProblem]) -> dict[str, tuple[str, ...]]:
    """``group-roots`` and ``main-roots``: each group's top-level packages, ``""`` the main ones."""
    roots = table.get("group-roots", {})
    if not isinstance(roots, dict):
        found = f"must be a table, found {roots!r}"
        problems.append(LockProblem(key=(*_TOOL, "group-roots"), problem=found))
        roots = {}
    found_roots = {str(g): _strings(n, ("group-roots", str(g)), problems) for g, n in roots.items()}
    if "main-roots" in table:
        found_roots[""] = _strings(table["main-roots"], ("main-roots",), problems)
    return found_roots


def _recorded_requirements(
    value: object, problems: list[LockProblem]
) -> dict[str, tuple[str, ...]]:
    """``requirements``: what the lock was resolved from, per root (``""``: the main ones)."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not isinstance(value.get("groups", {}), dict):
        table = f"must be a table, found {show(value)}"
        problems.append(LockProblem(key=(*_TOOL, "requirements"), problem=table))
        return {}
    dependencies = value.get("dependencies", [])
    found = {"": _strings(dependencies, ("requirements", "dependencies"), problems)}
    for group, reqs in value.get("groups", {}).items():
        found[str(group)] = _strings(reqs, ("requirements", "groups", str(group)), problems)
    return found


_MACHINE_KEYS = ("sys-platform", "platform-machine", "platform-system", "os-name")


def _targets(value: object, problems: list[LockProblem]) -> tuple[LockTarget, ...]:
    """``targets``: the Pythons and platforms the lock serves, one table each."""
    if not isinstance(value, list) or not value:
        found = (
            "is missing" if value is None else f"must be an array of tables, found {show(value)}"
        )
        problems.append(LockProblem(key=(*_TOOL, "targets"), problem=found))
        return ()
    found_targets = []
    for k, item in enumerate(value):
        target = _target(item) if isinstance(item, dict) else None
        if target is None:
            what = "must be a table with python (like 3.12) and platform, found " + show(item)
            problems.append(LockProblem(key=(*_TOOL, "targets", k), problem=what))
        else:
            found_targets.append(target)
    return tuple(found_targets)


def _target(item: Mapping[str, object]) -> LockTarget | None:
    python, name = item.get("python"), item.get("platform")
    if not isinstance(python, str) or not isinstance(name, str):
        return None
    parts = python.split(".")
    if len(parts) != 2 or not all(p.isdigit() and len(p) < 4 for p in parts):  # noqa: PLR2004
        return None
    platform = PLATFORMS.get(name)
    if platform is None:
        values = [item.get(key) for key in _MACHINE_KEYS]
        if not all(isinstance(v, str) for v in values):
            return None
        sys_platform, machine, system, os_name = (str(v) for v in values)
        platform = Platform(
            name=name,
            sys_platform=sys_platform,
            platform_machine=machine,
            platform_system=system,
            os_name=os_name,
            tags=(),
        )
    return LockTarget(python=python, platform=platform)


def _strings(value: object, key: Key, problems: list[LockProblem]) -> tuple[str, ...]:
    """The array of strings *value*, at *key* of the table; empty if it is not one."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        found = f"must be an array of strings, found {value!r}"
        problems.append(LockProblem(key=(*_TOOL, *key), problem=found))
        return ()
    return tuple(value)


def _required_string(table: Mapping[str, object], key: str, problems: list[LockProblem]) -> str:
    """The string at *key* of the table; empty if it is missing or not a string."""
    value = table.get(key)
    if not isinstance(value, str):
        what = "is missing" if value is None else f"must be a string, found {value!r}"
        problems.append(LockProblem(key=(*_TOOL, key), problem=what))
        return ""
    return value
