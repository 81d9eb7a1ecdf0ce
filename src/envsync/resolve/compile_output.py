"""pip-compile's output -> pins, the roots that need them, and their dependencies. PURE.

envsync feeds pip-compile one input file for the main dependencies and one per group, and
asks for ``--annotation-style=line``. Each output line then reads::

    beta==2.0  # via alpha, -r group-dev.in

The ``via`` list is the only machine-readable account of the dependency graph pip-compile
gives, so the lock's group markers and ``dependencies`` are derived from it here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from envsync.errors import ResolutionError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from envsync._types import NormalizedName

__all__ = ["MAIN", "Pin", "dependencies", "group_roots", "input_name", "parse", "roots"]

#: The root name of the main dependencies (groups use their own names).
MAIN = ""
_MAIN_INPUT = "main.in"
_GROUP_PREFIX = "group-"
_VIA = re.compile(r"\s+#\s*via\s+(?P<via>.*)$")


@dataclass(frozen=True, kw_only=True, slots=True)
class Pin:
    """One line of pip-compile's output."""

    name: NormalizedName
    """Normalized project name."""
    requirement: Requirement
    """``name==version`` or ``name @ url``."""
    via: tuple[str, ...]
    """What pulled it in: parent names, or ``-r <input file>`` for a root."""
    editable: bool = False
    """An ``-e`` line: a local folder installed in editable mode."""


def input_name(group: str | None) -> str:
    """The input file name for the main dependencies (None) or for a group."""
    if group is None:
        return _MAIN_INPUT
    return f"{_GROUP_PREFIX}{canonicalize_name(group)}.in"


def parse(text: str, editables: Mapping[str, NormalizedName] | None = None) -> list[Pin]:
    """The pins of a pip-compile output file written with ``--annotation-style=line``.

    ``-e URL`` lines carry no name, so *editables* maps each URL envsync asked for to it.
    """
    pins = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or (line.startswith("-") and _EDIT not in line):
            continue
        match = _VIA.search(line)
        via = tuple(v.strip() for v in match["via"].split(",")) if match else ()
        spec = (line[: match.start()] if match else line).strip()
        editable = spec.startswith(_EDIT)
        if editable:
            spec = _editable_requirement(spec.removeprefix(_EDIT).strip(), editables or {}, line)
        requirement = _requirement(spec, line)
        name = canonicalize_name(requirement.name)
        pins.append(Pin(name=name, requirement=requirement, via=via, editable=editable))
    return pins


_EDIT = "-e "


def _editable_requirement(url: str, editables: Mapping[str, NormalizedName], line: str) -> str:
    name = editables.get(url)
    if name is None:
        msg = f"pip-compile returned an editable requirement envsync did not ask for: {line!r}"
        raise ResolutionError(msg)
    return f"{name} @ {url}"


def _requirement(text: str, line: str) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        msg = f"could not read pip-compile's output line {line!r}: {exc}"
        raise ResolutionError(msg) from exc


def _root(via: str) -> str | None:
    """The root a ``-r file`` annotation names (MAIN or a group), or None for a parent."""
    if not via.startswith("-r "):
        return None
    stem = via[3:].strip().rsplit("/", 1)[-1].removesuffix(".in")
    return stem.removeprefix(_GROUP_PREFIX) if stem.startswith(_GROUP_PREFIX) else MAIN


def roots(pins: Sequence[Pin]) -> dict[NormalizedName, frozenset[str]]:
    """The groups that need each pin; an empty set when the main dependencies need it.

    A package the main dependencies need is always installed, so it carries no group.
    """
    parents = {p.name: p.via for p in pins}
    return {pin.name: _roots_above(pin.name, parents) for pin in pins}


def _roots_above(
    name: NormalizedName, parents: dict[NormalizedName, tuple[str, ...]]
) -> frozenset[str]:
    # A walk up the via-edges with a visited set: linear, and safe on dependency cycles.
    found: set[str] = set()
    seen = {name}
    todo = [name]
    while todo:
        for via in parents.get(todo.pop(), ()):
            root = _root(via)
            if root is not None:
                found.add(root)
            elif (parent := canonicalize_name(via)) in parents and parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return frozenset() if MAIN in found or not found else frozenset(found)


def dependencies(pins: Sequence[Pin]) -> dict[NormalizedName, tuple[NormalizedName, ...]]:
    """Each pin's children: the pins whose ``via`` names it."""
    children: dict[NormalizedName, set[NormalizedName]] = {p.name: set() for p in pins}
    for pin in pins:
        for via in pin.via:
            if _root(via) is None and (parent := canonicalize_name(via)) in children:
                children[parent].add(pin.name)
    return {name: tuple(sorted(kids)) for name, kids in children.items()}


def group_roots(pins: Sequence[Pin]) -> dict[str, tuple[NormalizedName, ...]]:
    """Each root's own top-level packages: the pins an input file asked for (MAIN too)."""
    found: dict[str, set[NormalizedName]] = {}
    for pin in pins:
        for via in pin.via:
            root = _root(via)
            if root is not None:
                found.setdefault(root, set()).add(pin.name)
    return {group: tuple(sorted(names)) for group, names in sorted(found.items())}
