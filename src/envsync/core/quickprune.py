"""A lock cut down to an env.toml that only lost requirements, in the standard library. PURE.

``pruning`` does this on the full path: split the lock per target, walk the graph from the
roots that are left, and build and write the lock again, which takes packaging's parsers and
the lock machinery. This module gives the same bytes from a *recipe* the full path wrote
(``prunerecipe``) beside a lock it had just checked, so an apply that only removes a
requirement needs neither. It answers only where the new lock is the old one less whole
package entries and a new ``[tool.envsync]`` table:

* env.toml is the one the recipe read, less some entries of its requirement lists;
* every package left keeps its groups on every target (its marker stays as it is), and a
  package goes from every target it was on or from none;
* no package left shares its name with one that goes (its ``dependencies`` keys stay).

Anything else returns None, and the full path decides.
"""

from __future__ import annotations

import hashlib
import json
import sys

from envsync.core.graph import closure

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (5 ms): start-up path

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

__all__ = ["FORMAT", "PACKAGE", "TOOL", "Pruned", "blocks", "hash_inputs", "prune"]

#: The recipe's format; a recipe of another is not read.
FORMAT = 1
#: How tomli_w starts each package entry and envsync's table: never inside a value, which
#: it writes on one line with its newlines escaped.
PACKAGE = "\n[[packages]]\n"
TOOL = "\n[tool.envsync]\n"


class Pruned:
    """The new lock and what it dropped."""

    __slots__ = ("packages", "recipe", "removed", "text")

    def __init__(
        self, text: str, removed: list[tuple[str, str]], packages: int, recipe: dict[str, Any]
    ) -> None:
        self.text = text
        """The new pylock.toml."""
        self.removed = removed
        """(name, version) of each package gone, by name: the same on every target."""
        self.packages = packages
        """How many package entries the new lock has."""
        self.recipe = recipe
        """The recipe of the new lock (``lock`` and ``key`` unset: the caller's part)."""


def prune(recipe: Mapping[str, Any], data: Mapping[str, Any], text: str) -> Pruned | None:
    """The lock *text* less what env.toml's *data* no longer asks for, or None.

    *recipe* is what the full path kept for *text* (its sha256 checked by the caller).
    """
    rows = _rows(recipe, data)
    if rows is None:
        return None
    old_rows: dict[str, list[list[str]]] = recipe["rows"]
    # As pruning's _remaining_roots: a root's top-level names less those no entry asks for.
    dropped = {
        root: {r[2] for r in old_rows[root]} - {r[2] for r in kept} for root, kept in rows.items()
    }
    roots = {
        root: [name for name in recipe["roots"].get(root, []) if name not in dropped[root]]
        for root in rows
    }
    kept_entries = _kept_entries(recipe, roots)
    split = blocks(text)
    if kept_entries is None or split is None or not kept_entries:
        return None
    head, entries, tail = split
    names = [entry[0] for entry in recipe["entries"]]
    if len(entries) != len(names) or any(
        not block.startswith(f'{PACKAGE}name = "{name}"\n')
        for block, name in zip(entries, names, strict=True)
    ):
        return None
    new_tail = _tail(recipe, tail, rows, roots, kept_entries)
    gone = _gone(recipe, kept_entries)
    if new_tail is None or gone is None:
        return None
    new_text = head + "".join(entries[i] for i in kept_entries) + new_tail
    return Pruned(new_text, gone, len(kept_entries), _next(recipe, data, rows, roots, kept_entries))


def blocks(text: str) -> tuple[str, list[str], str] | None:
    """*text* as its head, one block per package entry and ``[tool.envsync]`` (to the end).

    The three put together are *text* again; None when *text* is not laid out that way.
    """
    first, tool = text.find(PACKAGE), text.find(TOOL)
    if first < 0 or tool < first:
        return None
    entries = [PACKAGE + part for part in text[first:tool].split(PACKAGE)[1:]]
    head, tail = text[:first], text[tool:]
    return (head, entries, tail) if head + "".join(entries) + tail == text else None


def hash_inputs(data: Mapping[str, Any]) -> str:
    """``locktable``'s hash of a lock's inputs: the same JSON, the same sha256."""
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


# -- env.toml: what went ------------------------------------------------------------------


def _rows(recipe: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, list[list[str]]] | None:
    """Each root's requirement rows left in *data*, when all it lost is some of them.

    None when anything else in env.toml differs, or nothing went.
    """
    lists: dict[str, list[str]] = recipe["lists"]
    old = recipe["spec"]
    left: dict[str, list[list[str]]] = {}
    for root, where in lists.items():
        now = _at(data, where)
        rows = _subsequence(recipe["rows"][root], now)
        if rows is None:
            return None
        left[root] = rows
    if sum(map(len, left.values())) == sum(map(len, recipe["rows"].values())):
        return None  # nothing went: not a removal
    same = _without(data, lists.values()) == _without(old, lists.values())
    return left if same else None


def _at(data: Mapping[str, Any], where: Sequence[str]) -> object:
    found: object = data
    for key in where:
        found = found.get(key) if isinstance(found, dict) else None
    return found


def _subsequence(rows: list[list[str]], now: object) -> list[list[str]] | None:
    """The rows whose requirement strings *now* still lists, in order; None if not a subset."""
    if not isinstance(now, list) or not all(isinstance(item, str) for item in now):
        return None
    kept, rest = [], iter(rows)
    for item in now:
        row = next((r for r in rest if r[0] == item), None)
        if row is None:
            return None
        kept.append(row)
    return kept


def _without(data: Mapping[str, Any], lists: Any) -> object:  # noqa: ANN401 - TOML data
    """*data* with the requirement lists at *lists* left out (copied, not changed)."""
    try:
        copy = json.loads(json.dumps(data))
    except (TypeError, ValueError):  # a date, say: not what a recipe holds
        return object()
    for where in lists:
        table = _at(copy, where[:-1])
        if isinstance(table, dict):
            table.pop(where[-1], None)
    return copy


# -- the graph: what stays ----------------------------------------------------------------


def _kept_entries(recipe: Mapping[str, Any], roots: Mapping[str, list[str]]) -> list[int] | None:
    """The indices of the entries that stay, in lock order; None where a marker would change."""
    stays: dict[int, bool] = {}
    for graph in recipe["targets"]:
        edges = {name: entry[2] for name, entry in graph.items()}
        needs = {
            root: closure(edges, [n for n in names if n in graph]) for root, names in roots.items()
        }
        for name, (index, groups, _deps) in graph.items():
            now = sorted(root for root, reached in needs.items() if name in reached)
            if now and ([] if "" in now else now) != groups:
                return None  # its groups, and so its marker, change here
            if stays.setdefault(index, bool(now)) != bool(now):
                return None  # gone from some targets only: its marker changes
    kept = [index for index, stay in sorted(stays.items()) if stay]
    names = [entry[0] for entry in recipe["entries"]]
    left = {names[i] for i in kept}
    if any(names[i] in left for i, stay in stays.items() if not stay):
        return None  # another version stays: the dependencies that name it change
    return kept


def _gone(recipe: Mapping[str, Any], kept: list[int]) -> list[tuple[str, str]] | None:
    """(name, version) of each entry that goes, by name, when every target loses the same.

    Else None: ``apply`` words changes that differ per target under a heading for each.
    """
    left = set(kept)
    per_target = {
        tuple(sorted(tuple(recipe["entries"][i]) for i, _, _ in graph.values() if i not in left))
        for graph in recipe["targets"]
    }
    return list(per_target.pop()) if len(per_target) == 1 else None


# -- the [tool.envsync] table -------------------------------------------------------------


def _tail(
    recipe: Mapping[str, Any],
    tail: str,
    rows: Mapping[str, list[list[str]]],
    roots: Mapping[str, list[str]],
    kept: list[int],
) -> str | None:
    """The new ``[tool.envsync]`` table, as tomli_w writes it; None if the old is not as read."""
    import tomli_w  # noqa: PLC0415 - only a removal writes TOML

    if sys.version_info >= (3, 11):
        import tomllib  # noqa: PLC0415 - only a removal reads the lock's table
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # noqa: PLC0415

    old = tomllib.loads(tail)
    if tomli_w.dumps(old) != tail[1:]:
        return None  # not laid out as envsync writes it
    table = old["tool"]["envsync"]
    requirements = _requirements(rows, table["requirements"])
    inputs = {**recipe["inputs"], **requirements}
    table["fingerprint"] = hash_inputs(
        inputs if recipe["lock_part"] is None else {**inputs, "lock": recipe["lock_part"]}
    )
    table["inputs"] = hash_inputs(inputs)
    present = _present(recipe, roots, kept)
    if present.get(""):
        table["main-roots"] = present[""]
    else:
        table.pop("main-roots", None)
    if "group-roots" in table:
        table["group-roots"] = {g: names for g, names in sorted(present.items()) if g}
    table["requirements"] = requirements
    return "\n" + tomli_w.dumps(old)


def _requirements(rows: Mapping[str, list[list[str]]], old: Mapping[str, Any]) -> dict[str, Any]:
    """``locktable.requirements_table`` of env.toml now: each root's texts, sorted."""
    return {
        "dependencies": sorted(r[1] for r in rows[""]),
        "groups": {group: sorted(r[1] for r in rows[group]) for group in old["groups"]},
    }


def _present(
    recipe: Mapping[str, Any], roots: Mapping[str, list[str]], kept: list[int]
) -> dict[str, list[str]]:
    """Each root's top-level packages on any target (``lockmerge.roots_of``), sorted."""
    left = {recipe["entries"][i][0] for i in kept}
    found: dict[str, set[str]] = {root: set() for root in roots}
    for graph in recipe["targets"]:
        for root, names in roots.items():
            found[root].update(n for n in names if n in graph and n in left)
    return {root: sorted(names) for root, names in sorted(found.items())}


# -- the recipe of the new lock -----------------------------------------------------------


def _next(
    recipe: Mapping[str, Any],
    data: Mapping[str, Any],
    rows: Mapping[str, list[list[str]]],
    roots: Mapping[str, list[str]],
    kept: list[int],
) -> dict[str, Any]:
    """The recipe for the new lock: the same, less what went (``lock`` and ``key`` unset)."""
    renumber = {old: new for new, old in enumerate(kept)}
    names = {recipe["entries"][i][0] for i in kept}
    targets = [
        {
            name: [renumber[index], groups, [d for d in deps if d in names]]
            for name, (index, groups, deps) in graph.items()
            if index in renumber
        }
        for graph in recipe["targets"]
    ]
    return {
        **recipe,
        "lock": None,
        "key": None,
        "spec": json.loads(json.dumps(data)),
        "rows": {root: list(found) for root, found in rows.items()},
        "inputs": {**recipe["inputs"], **_requirements(rows, recipe["inputs"])},
        "entries": [recipe["entries"][i] for i in kept],
        "targets": targets,
        # As the lock's table reads back: no main roots when main-roots is left out.
        "roots": {r: names for r, names in _present(recipe, roots, kept).items() if r or names},
        "selected": [name for name in recipe["selected"] if name in names],
    }
