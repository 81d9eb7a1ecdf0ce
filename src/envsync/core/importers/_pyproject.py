"""pyproject.toml -> Imported: [project] and PEP 735 [dependency-groups]. PURE."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from envsync.core.importers._model import (
    Imported,
    ImportSourceError,
    LocalSource,
    merged,
    reason,
)
from envsync.core.tomlcheck import TomlDecodeError, dotted, parse_toml

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["from_pyproject"]


def from_pyproject(text: str, *, name: str, project: str | None = None) -> Imported:
    """``[project]`` and ``[dependency-groups]`` of the pyproject.toml *text* (called *name*).

    Extras become groups and PEP 735 includes are expanded; ``me[extra]`` naming the project
    stands for that extra's requirements. With *project* (the pyproject's folder as env.toml
    spells it), the project itself is a main dependency, installed editable from there, so
    its tests run against its own sources; a pyproject without ``[project] name`` cannot be
    installed, and a warning says it was left out.
    """
    try:
        data = parse_toml(text)
    except TomlDecodeError as exc:
        raise ImportSourceError(name, [f"{name}: not valid TOML ({exc.message})"]) from None
    try:
        imported = _imported(data, _Pyproject(text, name))
    except RecursionError:  # include-group or self-referencing extras, hundreds deep
        problem = f"{name}: include-group or extras naming each other nest too deeply"
        raise ImportSourceError(name, [problem]) from None
    return imported if project is None else _with_project(imported, data, project)


def _with_project(imported: Imported, data: Mapping[str, object], folder: str) -> Imported:
    """*imported* with the project itself first among the dependencies, editable from *folder*."""
    table = data.get("project")
    own = table.get("name") if isinstance(table, dict) else None
    if not isinstance(own, str) or not _is_name(own):
        warning = (
            f"{imported.origin} has no [project] name, so the project itself is not added "
            "(only a named project can be installed); pass --no-project to leave it out quietly"
        )
        return replace(imported, warnings=(*imported.warnings, warning))
    source = LocalSource(name=own, path=folder, editable=True)
    return replace(
        imported, dependencies=(own, *imported.dependencies), sources=(source, *imported.sources)
    )


def _is_name(text: str) -> bool:
    """Whether *text* is a project name a requirement can ask for (and nothing more)."""
    try:
        return Requirement(text).name == text
    except InvalidRequirement:
        return False


def _imported(data: Mapping[str, object], doc: _Pyproject) -> Imported:
    """What the decoded pyproject.toml *data* says; ImportSourceError lists every problem."""
    name = doc.file
    project = doc.table(data, "project", "project")
    extras = _extras(doc, project)
    expand = _SelfExpander(_own_name(project), {canonicalize_name(e): r for e, r in extras.items()})
    groups = [(e, expand(r)) for e, r in extras.items()]
    groups += [(g, expand(r)) for g, r in _Groups(doc, data).expanded().items()]
    _check_unique(doc, [group for group, _ in groups])
    main = expand(doc.requirements(project.get("dependencies", []), "project.dependencies"))
    imported = Imported(
        origin=name,
        python=_requires_python(doc, project),
        dependencies=merged([(r, f"{name}: project.dependencies") for r in main], doc.problems),
        groups=tuple(
            (group, merged([(r, f"{name}: group {group}") for r in reqs], doc.problems))
            for group, reqs in groups
        ),
        extras=tuple(extras),
    )
    if doc.problems:
        raise ImportSourceError(name, doc.problems)
    return imported


@dataclass
class _Pyproject:
    """One pyproject.toml being read: its text (for line numbers) and the problems found."""

    text: str
    file: str
    problems: list[str] = field(default_factory=list)

    def add(self, key: str, message: str, item: str | None = None) -> None:
        """Record a problem at *key*; the line is that of the string *item*, when given."""
        line = _line_of(self.text, item) if item is not None else None
        where = f"{self.file}:{line}" if line else self.file
        self.problems.append(f"{where}: {key}: {message}")

    def table(self, parent: Mapping[str, object], name: str, key: str) -> Mapping[str, object]:
        """The table *name* of *parent* (empty if absent)."""
        value = parent.get(name, {})
        if isinstance(value, dict):
            return value
        self.add(key, f"expected a table, found {value!r}")
        return {}

    def requirement(self, item: object, key: str) -> Requirement | None:
        """One PEP 508 string, or None (reported)."""
        if not isinstance(item, str):
            self.add(key, f"expected a PEP 508 string, found {item!r}")
            return None
        try:
            return Requirement(item)
        except InvalidRequirement as exc:
            self.add(key, f"expected a PEP 508 requirement, found {item!r} ({reason(exc)})", item)
            return None

    def requirements(self, value: object, key: str) -> list[Requirement]:
        """An array of PEP 508 strings; bad entries are reported and left out."""
        if not isinstance(value, list):
            self.add(key, f"expected an array of PEP 508 strings, found {value!r}")
            return []
        parsed = [self.requirement(item, f"{key}[{i}]") for i, item in enumerate(value)]
        return [requirement for requirement in parsed if requirement is not None]


def _line_of(text: str, item: str) -> int | None:
    """The 1-based line where the string *item* is written, if it can be found."""
    found = [text.find(f"{quote}{item}{quote}") for quote in "\"'"]
    position = min((at for at in found if at >= 0), default=-1)
    return text.count("\n", 0, position) + 1 if position >= 0 else None


def _own_name(project: Mapping[str, object]) -> str | None:
    own = project.get("name")
    return str(canonicalize_name(own)) if isinstance(own, str) else None


def _extras(doc: _Pyproject, project: Mapping[str, object]) -> dict[str, list[Requirement]]:
    key = "project.optional-dependencies"
    table = doc.table(project, "optional-dependencies", key)
    return {
        extra: doc.requirements(reqs, dotted(("project", "optional-dependencies", extra)))
        for extra, reqs in table.items()
    }


def _requires_python(doc: _Pyproject, project: Mapping[str, object]) -> str | None:
    value = project.get("requires-python")
    key = "project.requires-python"
    if value is None:
        return None
    if not isinstance(value, str):
        doc.add(key, f"expected a string, found {value!r}")
        return None
    try:
        SpecifierSet(value)
    except InvalidSpecifier:
        doc.add(key, f"expected a version specifier, found {value!r}", value)
        return None
    return value.strip() or None


def _check_unique(doc: _Pyproject, names: Sequence[str]) -> None:
    """Extras and dependency groups share env.toml's [groups]: their names must differ."""
    seen: dict[str, str] = {}
    for name in names:
        normal = str(canonicalize_name(name))
        if normal in seen:
            doc.add(
                "dependency-groups",
                f"{seen[normal]!r} and {name!r} would be the same group in env.toml "
                "(names compare normalized; extras and groups share [groups]): rename one",
            )
        seen[normal] = name


@dataclass(frozen=True, slots=True)
class _Include:
    """A PEP 735 ``{include-group = "name"}`` entry."""

    group: str


class _Groups:
    """PEP 735 ``[dependency-groups]``, with every include expanded; a cycle is an error."""

    def __init__(self, doc: _Pyproject, data: Mapping[str, object]) -> None:
        self.doc = doc
        table = doc.table(data, "dependency-groups", "dependency-groups")
        self.raw = {
            str(canonicalize_name(g)): (g, self._entries(g, value)) for g, value in table.items()
        }
        self.done: dict[str, list[Requirement]] = {}

    def expanded(self) -> dict[str, list[Requirement]]:
        """Every group by its name as written, includes replaced by what they include."""
        return {written: self._expand(name, ()) for name, (written, _) in self.raw.items()}

    def _entries(self, group: str, value: object) -> list[Requirement | _Include]:
        key = dotted(("dependency-groups", group))  # a name TOML quotes is quoted, escaped
        if not isinstance(value, list):
            self.doc.add(key, f"expected an array, found {value!r}")
            return []
        return [e for i, item in enumerate(value) if (e := self._entry(item, f"{key}[{i}]"))]

    def _entry(self, item: object, key: str) -> Requirement | _Include | None:
        if not isinstance(item, dict):
            return self.doc.requirement(item, key)
        target = item.get("include-group")
        if set(item) != {"include-group"} or not isinstance(target, str):
            self.doc.add(key, f'expected a string or {{include-group = "NAME"}}, found {item!r}')
            return None
        return _Include(target)

    def _expand(self, name: str, chain: tuple[str, ...]) -> list[Requirement]:
        if name not in self.done:
            written, entries = self.raw[name]
            self.done[name] = []  # a cycle back to this group stops here
            chain = (*chain, name)
            self.done[name] = [r for e in entries for r in self._include(written, e, chain)]
        return self.done[name]

    def _include(
        self, written: str, entry: Requirement | _Include, chain: tuple[str, ...]
    ) -> list[Requirement]:
        if isinstance(entry, Requirement):
            return [entry]
        target = str(canonicalize_name(entry.group))
        key = dotted(("dependency-groups", written))
        if target in chain:
            cycle = [dotted((self.raw[n][0],)) for n in chain[chain.index(target) :]]
            self.doc.add(key, f"include-group makes a cycle ({' -> '.join([*cycle, cycle[0]])})")
            return []
        if target not in self.raw:
            self.doc.add(key, f"include-group names {entry.group!r}, which is not defined")
            return []
        return self._expand(target, chain)


@dataclass(frozen=True, slots=True)
class _SelfExpander:
    """Replaces requirements on the project itself by the extras they name."""

    own: str | None
    extras: Mapping[str, list[Requirement]]

    def __call__(
        self, requirements: Sequence[Requirement], seen: frozenset[str] = frozenset()
    ) -> list[Requirement]:
        """*requirements* without the project; ``me[x]`` becomes extra x's requirements."""
        out: list[Requirement] = []
        for requirement in requirements:
            if canonicalize_name(requirement.name) != self.own:
                out.append(requirement)
                continue
            for extra in sorted(str(canonicalize_name(e)) for e in requirement.extras):
                if extra in self.extras and extra not in seen:
                    inner = self(self.extras[extra], seen | {extra})
                    out.extend(_under(r, requirement.marker) for r in inner)
        return out


def _under(requirement: Requirement, marker: Marker | None) -> Requirement:
    """*requirement*, needed only where *marker* holds as well."""
    if marker is None:
        return requirement
    combined = Requirement(str(requirement))
    combined.marker = (
        Marker(f"({requirement.marker}) and ({marker})") if requirement.marker else marker
    )
    return combined
