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
    from collections.abc import Sequence

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


def input_name(group: str | None) -> str:
    """The input file name for the main dependencies (None) or for a group."""
    if group is None:
        return _MAIN_INPUT
    return f"{_GROUP_PREFIX}{canonicalize_name(group)}.in"


def parse(text: str) -> list[Pin]:
    """The pins of a pip-compile output file written with ``--annotation-style=line``."""
    pins = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "-")):
            continue
        match = _VIA.search(line)
        via = tuple(v.strip() for v in match["via"].split(",")) if match else ()
        text_req = line[: match.start()] if match else line
        try:
            requirement = Requirement(text_req.strip())
        except InvalidRequirement as exc:
            msg = f"could not read pip-compile's output line {line!r}: {exc}"
            raise ResolutionError(msg) from exc
        pins.append(Pin(name=canonicalize_name(requirement.name), requirement=requirement, via=via))
    return pins


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
    """Each group's own top-level packages: the pins a group's input file asked for."""
    found: dict[str, set[NormalizedName]] = {}
    for pin in pins:
        for via in pin.via:
            root = _root(via)
            if root:  # a group (MAIN, the empty name, needs no roots)
                found.setdefault(root, set()).add(pin.name)
    return {group: tuple(sorted(names)) for group, names in sorted(found.items())}
