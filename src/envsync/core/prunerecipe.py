"""The recipe ``quickprune`` cuts a lock down with, made where packaging is at hand. PURE.

After an apply, the full path holds the spec, env.toml as parsed and the lock it installed.
The recipe keeps, as plain JSON, what a later removal needs: env.toml's data and where its
requirement lists are (each entry with its normalized text and name), the fingerprint's other
inputs, each target's part of the lock (each package's entry, groups and dependencies) and
the roots. It is made only when the lock is exactly what ``pruning`` would write for this
spec with nothing taken away, so a recipe never stands for a lock ``quickprune`` would write
otherwise; and only for specs the fast path reads alike (no ``[envs]``, ``[sources]`` or
``seed``, which a removal could change the meaning of).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from envsync.core import lockfile
from envsync.core.lockmerge import split
from envsync.core.locktable import fingerprint_data, requirement_text
from envsync.core.quickprune import FORMAT
from envsync.core.spec import RECIPE_KEYS
from envsync.core.targets import describe

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from packaging.pylock import Pylock

    from envsync.core.lockfile import LockInfo
    from envsync.core.spec import Spec
    from envsync.core.targets import LockTarget

__all__ = ["make"]


def make(
    *,
    spec: Spec,
    data: Mapping[str, Any],
    lock: Pylock,
    info: LockInfo,
    text: str,
    here: LockTarget,
    selected: Collection[str],
) -> dict[str, Any] | None:
    """The recipe for *text* (the lock *lock* of *spec*, env.toml read as *data*), or None.

    *here* is the venv's target and *selected* the names it holds from the lock.
    """
    if set(data) - RECIPE_KEYS or spec.seed or here not in info.targets:
        return None
    rows = _rows(spec, data)
    entries = [(p.name, str(p.version)) for p in lock.packages if p.version is not None]
    if rows is None or len(set(entries)) != len(lock.packages):
        return None  # a package without a version (a folder), or two entries alike
    resolutions = [split(lock, target, info.roots) for target in info.targets]
    if lockfile.dumps(lockfile.build_lock(spec=spec, resolutions=resolutions)) != text:
        return None  # not as pruning writes it: quickprune would write other bytes
    index = {entry: i for i, entry in enumerate(entries)}
    inputs, lock_part = fingerprint_data(spec)
    recipe = {
        "format": FORMAT,
        "lists": {root: where for root, (where, _) in rows.items()},
        "rows": {root: found for root, (_, found) in rows.items()},
        "spec": data,
        "inputs": inputs,
        "lock_part": lock_part,
        "entries": [list(entry) for entry in entries],
        "targets": [
            {
                p.name: [index[p.name, str(p.version)], sorted(p.groups), list(p.dependencies)]
                for p in resolution.packages
            }
            for resolution in resolutions
        ],
        "roots": {root: list(names) for root, names in info.roots.items()},
        "selected": sorted(selected),
        "keep": sorted(str(canonicalize_name(name)) for name in spec.keep),
        "describe": describe(info.targets),
    }
    try:  # plain JSON, or none (a date in env.toml, say)
        return dict(json.loads(json.dumps(recipe)))
    except (TypeError, ValueError):
        return None


def _rows(
    spec: Spec, data: Mapping[str, Any]
) -> dict[str, tuple[list[str], list[list[str]]]] | None:
    """Per root, where its list is in *data* and a row per entry: text, normalized, name.

    None when *data* is not what *spec* was read from.
    """
    env = data.get("env", {})
    where = {"": ["env", "dependencies"]}
    groups = data.get("groups", {})
    if not isinstance(env, dict) or not isinstance(groups, dict):
        return None
    where.update((str(canonicalize_name(key)), ["groups", key]) for key in groups)
    wanted = {"": spec.dependencies} | {
        str(canonicalize_name(g.name)): g.requirements for g in spec.groups
    }
    if set(where) != set(wanted):
        return None
    found = {}
    for root, path in where.items():
        items = (env if root == "" else groups).get(path[-1], [])
        rows = _texts(items)
        expected = [requirement_text(r) for r in wanted[root]]
        if rows is None or [row[1] for row in rows] != expected:
            return None
        found[root] = (path, rows)
    return found


def _texts(items: object) -> list[list[str]] | None:
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        return None
    try:
        parsed = [(item, Requirement(item)) for item in items]
    except InvalidRequirement:
        return None
    return [[item, requirement_text(r), str(canonicalize_name(r.name))] for item, r in parsed]
