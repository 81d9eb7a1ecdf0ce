"""env.toml text -> Spec: validated, frozen, normalized. PURE: no I/O beyond the text given.

Every problem in a spec is collected and raised together as one `SpecError`, each naming the
key, what was expected there, what was found and, where it can be found, the line.
"""

from __future__ import annotations

import difflib
import json
import os.path
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import InvalidName, canonicalize_name
from packaging.version import Version

from envsync.errors import SpecError, SpecProblem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from envsync._types import NormalizedName

__all__ = [
    "DEFAULT_KEEP",
    "DEFAULT_VENV",
    "ENV_KEYS",
    "INDEXES_KEYS",
    "INDEX_KEYS",
    "SOURCE_KEYS",
    "TOP_KEYS",
    "Group",
    "IndexConfig",
    "NamedIndex",
    "Source",
    "Spec",
    "parse_spec",
]

DEFAULT_VENV = ".venv"
#: Installed packages that apply never removes unless the spec says otherwise.
DEFAULT_KEEP: tuple[str, ...] = ("pip",)
#: The tables an env.toml may hold (schemas/env.schema.json lists the same, a test checks).
TOP_KEYS = frozenset({"env", "groups", "index", "indexes", "sources"})
#: The keys of ``[env]``.
ENV_KEYS = frozenset({"python", "venv", "dependencies", "keep", "default-groups"})
#: The keys of ``[index]``.
INDEX_KEYS = frozenset({"url", "extra-urls", "find-links"})
#: The keys of each ``[indexes.NAME]``.
INDEXES_KEYS = frozenset({"url"})
#: The keys of each ``[sources]`` entry.
SOURCE_KEYS = frozenset({"index", "path", "editable"})


@dataclass(frozen=True, kw_only=True, slots=True)
class IndexConfig:
    """Where packages come from. pip's own configuration is never mixed in."""

    url: str | None = None
    """The default index (PEP 503 simple API); None means pip's built-in default."""
    extra_urls: tuple[str, ...] = ()
    """Further indexes searched as well."""
    find_links: tuple[str, ...] = ()
    """Folders or pages of links to search for archives, as written in env.toml."""

    def resolved(self, root: Path) -> IndexConfig:
        """This config with relative find-links folders made absolute against *root*.

        env.toml keeps them relative (so the lock's fingerprint survives moving the project);
        pip, run from elsewhere, needs them absolute.
        """
        links = tuple(f if "://" in f else str(root / f) for f in self.find_links)
        return replace(self, find_links=links)


@dataclass(frozen=True, kw_only=True, slots=True)
class Group:
    """A named dependency group (PEP 735 style)."""

    name: str
    """Group name as written (normalized for comparison)."""
    requirements: tuple[Requirement, ...]
    """The group's requirements."""


@dataclass(frozen=True, kw_only=True, slots=True)
class NamedIndex:
    """An index from ``[indexes.NAME]``: used only by the packages pinned to it in [sources]."""

    name: str
    """The name [sources] entries refer to (as written)."""
    url: str
    """Its simple-API URL (http(s):// or file://); credentials come from elsewhere."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Source:
    """Where one package must come from: ``[sources] NAME = {...}``."""

    package: NormalizedName
    """The package this source is for (normalized)."""
    index: str | None = None
    """Name of a NamedIndex: the package is taken from it and from nowhere else."""
    path: str | None = None
    """A local project folder (relative to env.toml, or absolute)."""
    editable: bool = False
    """Install the folder in editable mode (only with ``path``)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Spec:
    """A parsed env.toml."""

    path: Path
    """The env.toml file; relative paths in it are relative to its folder."""
    python: SpecifierSet
    """Interpreter versions accepted; ``"3.12"`` becomes ``==3.12.*``; empty accepts any."""
    venv: Path
    """Absolute path of the virtual environment."""
    dependencies: tuple[Requirement, ...]
    """Top-level requirements, always installed."""
    groups: tuple[Group, ...] = ()
    """Optional groups, installed on request; sorted by name."""
    index: IndexConfig = field(default_factory=IndexConfig)
    """Package sources."""
    keep: tuple[NormalizedName, ...] = ()
    """Packages apply never removes (normalized); defaults to DEFAULT_KEEP."""
    default_groups: tuple[str, ...] = ()
    """Groups apply installs unless told otherwise (normalized, sorted; each defined)."""
    indexes: tuple[NamedIndex, ...] = ()
    """Named indexes, sorted by name."""
    sources: tuple[Source, ...] = ()
    """Per-package sources, sorted by package."""

    def source(self, name: str) -> Source | None:
        """The [sources] entry for package *name*, if any."""
        wanted = canonicalize_name(name)
        return next((s for s in self.sources if s.package == wanted), None)

    def named_index(self, name: str) -> NamedIndex | None:
        """The [indexes] entry called *name*, if any."""
        return next((i for i in self.indexes if i.name == name), None)

    @property
    def root(self) -> Path:
        """The folder holding env.toml: the project root."""
        return self.path.parent

    def group(self, name: str) -> Group | None:
        """Return the group called *name* (normalized match), if any."""
        wanted = _normalize_group(name)
        return next((g for g in self.groups if _normalize_group(g.name) == wanted), None)


def _normalize_group(name: str) -> str:
    # PEP 735: group names compare like package names.
    return str(canonicalize_name(name))


def parse_spec(text: str, *, path: Path) -> Spec:
    """Parse env.toml *text* read from *path*; raise SpecError listing every problem."""
    data = _load_toml(text, path)
    check = _Checker(text)
    _check_keys(check, data, (), TOP_KEYS)
    env = _table(check, data, ("env",), ENV_KEYS)
    asked: list[tuple[_Key, Requirement]] = []  # every requirement, for the [sources] checks
    dependencies = _requirements(check, env, ("env", "dependencies"), asked)
    groups = _groups(check, data, asked)
    sources = _sources(check, data)
    _check_path_sources(check, sources.values(), asked)
    spec = Spec(
        path=path,
        python=_python(check, env),
        venv=_venv(check, env, path),
        dependencies=dependencies,
        groups=groups,
        index=_index(check, data),
        keep=_keep(check, env),
        default_groups=_default_groups(check, env, groups),
        indexes=_indexes(check, data),
        sources=tuple(sources[package][1] for package in sorted(sources)),
    )
    if check.problems:
        # File order reads best; problems without a line go last.
        problems = sorted(check.problems, key=lambda p: (p.line is None, p.line or 0))
        raise SpecError(path, problems)
    return spec


# --- reading TOML and reporting ---------------------------------------------------------------

_T = TypeVar("_T")
_Key = tuple[str | int, ...]
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_LINE_IN_MESSAGE = re.compile(r"\bline (\d+)")
_SHOW_LIMIT = 60
_TOML_NAMES = {
    "bool": "boolean",
    "int": "integer",
    "str": "string",
    "list": "array",
    "dict": "table",
}


def _load_toml(text: str, path: Path) -> dict[str, Any]:
    """Decode *text*, or raise a SpecError carrying the parser's message and line."""
    try:
        return tomllib.loads(text)
    except ValueError as err:  # TOMLDecodeError, or int() refusing a huge integer
        message = str(err)
    except RecursionError:
        message = "arrays or tables nested too deeply"
    match = _LINE_IN_MESSAGE.search(message)
    line = int(match[1]) if match else None
    raise SpecError(path, [SpecProblem(key="", expected="valid TOML", found=message, line=line)])


class _Checker:
    """Collects problems, each with the line of its key where that can be found."""

    __slots__ = ("problems", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.problems: list[SpecProblem] = []

    def add(
        self, key: _Key, expected: str, found: str, item: str | None, hint: str | None = None
    ) -> None:
        """Record that *key* (the list entry *item*, if given) holds *found*, not *expected*."""
        line = _line_of(self.text, key, item)
        problem = SpecProblem(
            key=_dotted(key), expected=expected, found=found, line=line, suggestion=hint
        )
        self.problems.append(problem)

    def wrong_type(self, key: _Key, expected: str, value: object) -> None:
        """Record that *key* holds *value*, of the wrong TOML type."""
        kind = _TOML_NAMES.get(type(value).__name__, type(value).__name__)
        self.add(key, expected, f"{kind} {_show(value)}", value if isinstance(value, str) else None)


def _dotted(key: _Key) -> str:
    """Render *key* like ``groups.dev[1]``, quoting components TOML would quote."""
    text = ""
    for part in key:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            shown = part if _BARE_KEY.fullmatch(part) else json.dumps(part, ensure_ascii=False)
            text += f".{shown}" if text else shown
    return text


def _line_of(text: str, key: _Key, item: str | None) -> int | None:
    """Find the 1-based line of *key* (of the string *item*, for a list entry) in *text*."""
    position, names = _header_of(text, [part for part in key if isinstance(part, str)])
    match = None
    for name in names:  # walk down from the table header through the keys left
        # `key =`, `[key]`, `{key =`, `, key =` or the `key.` of a dotted key
        pattern = rf"(?m)(?:^|[\[{{,.])[ \t]*{_key_pattern(name)}[ \t]*[=\].]"
        match = re.compile(pattern).search(text, position)
        position = match.start() if match else position
    if match is None:
        return None
    if item is not None:
        quoted = [text.find(f"{quote}{item}{quote}", position) for quote in "\"'"]
        position = min((found for found in quoted if found >= 0), default=position)
    return text.count("\n", 0, position) + 1


def _header_of(text: str, names: list[str]) -> tuple[int, list[str]]:
    """Find the deepest ``[a.b]`` header naming a table *names* lies in; return it and the rest."""
    for depth in range(len(names) - 1, 0, -1):
        dotted = r"[ \t]*\.[ \t]*".join(_key_pattern(name) for name in names[:depth])
        header = re.search(rf"(?m)^[ \t]*\[[ \t]*{dotted}[ \t]*\]", text)
        if header:
            return header.start(), names[depth:]
    return 0, names


def _key_pattern(name: str) -> str:
    """Match *name* as a bare, basic-quoted or literal-quoted TOML key."""
    escaped = re.escape(name)
    return f"(?:{escaped}|\"{escaped}\"|'{escaped}')"


def _show(value: object) -> str:
    """Spell *value* the way it looks in TOML, shortened for a message."""
    if isinstance(value, (str, bool, list, dict)):
        text = json.dumps(value, ensure_ascii=False, default=str)  # same spelling as TOML
    else:
        text = str(value)
    return text if len(text) <= _SHOW_LIMIT else text[: _SHOW_LIMIT - 3] + "..."


# --- typed getters --------------------------------------------------------------------------------


def _check_keys(
    check: _Checker, table: Mapping[str, object], at: _Key, known: frozenset[str]
) -> None:
    """Report every key of *table* that is not in *known*, with a did-you-mean."""
    choices = sorted(known)
    for name in table:
        if name not in known:
            expected = f"a known key ({', '.join(choices)})"
            check.add(
                (*at, name), expected, f"unknown key {_show(name)}", None, _closest(name, choices)
            )


def _undefined(check: _Checker, key: _Key, what: str, text: str, defined: list[str]) -> None:
    """Report that *text*, at *key*, names none of the *defined* names."""
    choices = sorted(defined)
    expected = f"{what} ({', '.join(choices) or 'there are none'})"
    check.add(key, expected, _show(text), text, _closest(text, choices))


def _closest(name: str, choices: list[str]) -> str | None:
    """The choice *name* was most likely meant to be, if one is close."""
    return next(iter(difflib.get_close_matches(name, choices, n=1)), None)


def _table(
    check: _Checker, parent: Mapping[str, object], key: _Key, known: frozenset[str] | None = None
) -> Mapping[str, object]:
    """Return the table at *key* (empty if absent), its keys checked against *known* if given."""
    value = parent.get(str(key[-1]), {})
    if not isinstance(value, dict):
        check.wrong_type(key, "a table", value)
        return {}
    if known is not None:
        _check_keys(check, value, key, known)
    return value


def _string(check: _Checker, table: Mapping[str, object], key: _Key) -> str | None:
    """Return the string at *key*, or None if it is absent or not a string (reported)."""
    value = table.get(str(key[-1]))
    if value is None or isinstance(value, str):
        return value
    check.wrong_type(key, "a string", value)
    return None


def _boolean(check: _Checker, table: Mapping[str, object], key: _Key) -> bool:
    """Return the boolean at *key*: false if it is absent or not a boolean (reported)."""
    value = table.get(str(key[-1]), False)
    if isinstance(value, bool):
        return value
    check.wrong_type(key, "a boolean", value)
    return False


def _each(
    check: _Checker,
    table: Mapping[str, object],
    key: _Key,
    convert: Callable[[str], _T],
    expected: str,
) -> list[tuple[_Key, _T]] | None:
    """Convert each string of the array at *key*, keyed; None if the key is absent."""
    value = table.get(str(key[-1]))
    if value is None:
        return None
    if not isinstance(value, list):
        check.wrong_type(key, "an array of strings", value)
        return []
    converted = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            check.wrong_type((*key, index), "a string", item)
        elif (result := _convert(check, (*key, index), item, convert, expected)) is not None:
            converted.append(((*key, index), result))
    return converted


def _convert(
    check: _Checker, key: _Key, text: str, convert: Callable[[str], _T], expected: str
) -> _T | None:
    """Return ``convert(text)``, or report its ValueError as a problem at *key* and return None."""
    try:
        return convert(text)
    except ValueError as err:  # packaging's Invalid* errors, int() refusing a huge number, ours
        reason = str(err).partition("\n")[0]  # the rest is packaging's caret diagram
        check.add(key, expected, f"{_show(text)} ({reason})" if reason else _show(text), text)
        return None


# --- the keys -------------------------------------------------------------------------------------

_PYTHON_EXPECTED = 'a Python version like "3.12" or a specifier like ">=3.11"'
_URL_EXPECTED = "an http://, https:// or file:// URL"
_URL_SCHEMES = frozenset({"http", "https", "file"})
_NAME_CHARS = "(letters, digits, . _ -)"


def _python(check: _Checker, env: Mapping[str, object]) -> SpecifierSet:
    """Read ``[env] python``: a specifier set, or a bare version meaning that release."""
    text = (_string(check, env, ("env", "python")) or "").strip()
    result = (
        _convert(check, ("env", "python"), text, _python_specifier, _PYTHON_EXPECTED)
        if text
        else None
    )
    return SpecifierSet() if result is None else result


def _python_specifier(text: str) -> SpecifierSet:
    """Turn ``"3.12"`` into ``==3.12.*`` and ``"3.12.1"`` into ``==3.12.1``; parse the rest."""
    if not text[0].isdigit():
        return SpecifierSet(text)
    version = Version(text)
    # Only a plain X.Y or X.Y.Z is shorthand; anything fancier is written as a specifier.
    if str(version) != version.base_version or len(version.release) not in {2, 3}:
        raise ValueError("a bare version must look like X.Y or X.Y.Z")
    wildcard = ".*" if len(version.release) == 2 else ""  # noqa: PLR2004 - X.Y
    return SpecifierSet(f"=={version}{wildcard}")


def _venv(check: _Checker, env: Mapping[str, object], path: Path) -> Path:
    """Read ``[env] venv``, made absolute against the spec's folder by string operations."""
    key: _Key = ("env", "venv")
    raw = _string(check, env, key)
    if raw is not None and (not raw.strip() or "\0" in raw):
        check.add(key, "a folder path", _show(raw), raw)
        raw = None
    root = Path(os.path.normpath(path.parent.absolute()))
    venv = Path(os.path.normpath(root / (raw or DEFAULT_VENV)))
    if root.is_relative_to(venv):  # apply replaces the venv: never the project itself
        expected = "a folder of its own, not the project folder or one above it"
        check.add(key, expected, f"{_show(raw)}, which is {venv}", raw)
    return venv


def _requirements(
    check: _Checker, table: Mapping[str, object], key: _Key, asked: list[tuple[_Key, Requirement]]
) -> tuple[Requirement, ...]:
    """Read a list of PEP 508 requirements, each package at most once per environment marker.

    Each is also added to *asked*, keyed, for the checks that look across lists.
    """
    parsed = _each(check, table, key, Requirement, "a PEP 508 requirement") or []
    asked.extend(parsed)
    seen: dict[str, list[tuple[_Key, str | None]]] = {}
    for item_key, requirement in parsed:
        name = canonicalize_name(requirement.name)
        marker = str(requirement.marker) if requirement.marker else None
        # The same name twice is fine only when both entries are for different environments.
        clash = next((k for k, m in seen.get(name, []) if None in {m, marker} or m == marker), None)
        if clash is not None:
            expected = "each package once (or once per distinct environment marker)"
            check.add(item_key, expected, f"{_show(name)} again, also at {_dotted(clash)}", None)
        seen.setdefault(name, []).append((item_key, marker))
    return tuple(requirement for _, requirement in parsed)


def _keep(check: _Checker, env: Mapping[str, object]) -> tuple[NormalizedName, ...]:
    """Read ``[env] keep``: package names, normalized, sorted and deduplicated."""
    names = _each(check, env, ("env", "keep"), _valid_name, "a package name")
    if names is None:
        return tuple(sorted({canonicalize_name(name) for name in DEFAULT_KEEP}))
    return tuple(sorted({name for _, name in names}))


def _valid_name(text: str) -> NormalizedName:
    """Normalize a package or group name, rejecting invalid ones without repeating them."""
    try:
        return canonicalize_name(text, validate=True)
    except InvalidName:
        raise ValueError("") from None


def _groups(
    check: _Checker, data: Mapping[str, object], asked: list[tuple[_Key, Requirement]]
) -> tuple[Group, ...]:
    """Read ``[groups]``: valid, unique names, each with requirements; sorted by name."""
    table = _table(check, data, ("groups",))
    groups: dict[str, Group] = {}
    for name in table:
        key: _Key = ("groups", name)
        requirements = _requirements(check, table, key, asked)
        normal = _convert(check, key, name, _valid_name, f"a group name {_NAME_CHARS}")
        if normal in groups:
            found = f"{_show(name)}, the same name as {_show(groups[normal].name)}"
            check.add(key, "each group name once (compared like package names)", found, None)
        elif normal is not None:
            groups[normal] = Group(name=name, requirements=requirements)
    return tuple(groups[normal] for normal in sorted(groups))


def _index(check: _Checker, data: Mapping[str, object]) -> IndexConfig:
    """Read ``[index]``: http(s):// or file:// index URLs, and find-links locations."""
    table = _table(check, data, ("index",), INDEX_KEYS)
    url = _url(check, table, ("index", "url"))
    extra_urls = _each(check, table, ("index", "extra-urls"), _index_url, _URL_EXPECTED) or []
    find_links = (
        _each(check, table, ("index", "find-links"), _location, "a URL or a folder path") or []
    )
    return IndexConfig(
        url=url,
        extra_urls=tuple(text for _, text in extra_urls),
        find_links=tuple(text for _, text in find_links),
    )


def _url(check: _Checker, table: Mapping[str, object], key: _Key) -> str | None:
    """Return the index URL at *key*, or None if it is absent or not one (reported)."""
    url = _string(check, table, key)
    return None if url is None else _convert(check, key, url, _index_url, _URL_EXPECTED)


def _index_url(text: str) -> str:
    """Return *text* if it is an http(s) URL with a host or a file URL (as the schema's pattern)."""
    scheme, separator, rest = text.partition("://")
    if separator and scheme.lower() == "file":
        return text
    if separator and scheme.lower() in _URL_SCHEMES and rest[:1] not in {"", "/", "?", "#"}:
        return text
    raise ValueError("")


def _location(text: str) -> str:
    """Return *text* if it is not blank."""
    if not text.strip():
        raise ValueError("")
    return text


# --- default groups, named indexes and per-package sources ----------------------------------------


def _default_groups(
    check: _Checker, env: Mapping[str, object], groups: tuple[Group, ...]
) -> tuple[str, ...]:
    """Read ``[env] default-groups``: groups defined in [groups]; normalized and sorted."""
    key: _Key = ("env", "default-groups")
    named = _each(check, env, key, _named, "a group name") or []
    defined = [group.name for group in groups]
    normal = {_normalize_group(name) for name in defined}
    for item_key, (text, name) in named:
        if name not in normal:
            _undefined(check, item_key, "a group defined in [groups]", text, defined)
    return tuple(sorted({name for _, (_, name) in named}))


def _named(text: str) -> tuple[str, str]:
    """Return *text* as written and normalized, if it is a valid name."""
    return text, _valid_name(text)


def _indexes(check: _Checker, data: Mapping[str, object]) -> tuple[NamedIndex, ...]:
    """Read ``[indexes]``: a table per index, each with a URL; sorted by name."""
    table = _table(check, data, ("indexes",))
    indexes = []
    for name, value in table.items():
        key: _Key = ("indexes", name)
        entry = _table(check, table, key, INDEXES_KEYS)
        valid = _convert(check, key, name, _valid_name, f"an index name {_NAME_CHARS}")
        url = _url(check, entry, (*key, "url"))
        if isinstance(value, dict) and "url" not in entry:
            check.add(key, f"a url ({_URL_EXPECTED})", "a table without one", None)
        if valid is not None and url is not None:
            indexes.append(NamedIndex(name=name, url=url))
    return tuple(sorted(indexes, key=lambda index: index.name))


def _sources(
    check: _Checker, data: Mapping[str, object]
) -> dict[NormalizedName, tuple[_Key, Source]]:
    """Read ``[sources]``: at most one per package (compared normalized), keyed by package."""
    table = _table(check, data, ("sources",))
    indexes = data.get("indexes")
    # A source may name an index whose own entry has a problem: that one is reported there.
    defined = [str(name) for name in indexes] if isinstance(indexes, dict) else []
    sources: dict[NormalizedName, tuple[_Key, Source]] = {}
    for name in table:
        key: _Key = ("sources", name)
        package = _convert(check, key, name, _valid_name, "a package name")
        source = _source(check, table, key, defined)
        if package in sources:
            found = f"{_show(name)}, the same package as {_show(sources[package][0][-1])}"
            check.add(key, "each package once (names compared normalized)", found, None)
        elif package is not None and source is not None:
            sources[package] = (key, source)
    return sources


def _source(
    check: _Checker, table: Mapping[str, object], key: _Key, indexes: list[str]
) -> Source | None:
    """Read one [sources] entry: exactly one of index or path; editable only with a path."""
    entry = _table(check, table, key, SOURCE_KEYS)
    kinds = [kind for kind in ("index", "path") if kind in entry]
    if len(kinds) != 1 and isinstance(table[str(key[-1])], dict):
        check.add(key, "exactly one of index or path", "both" if kinds else "neither", None)
    elif kinds == ["index"] and "editable" in entry:
        check.add((*key, "editable"), "editable only with a path", "an index source", None)
    index = _string(check, entry, (*key, "index"))
    if index is not None and index not in indexes:
        _undefined(check, (*key, "index"), "an index defined in [indexes]", index, indexes)
    path = _string(check, entry, (*key, "path"))
    if path is not None:
        path = _convert(check, (*key, "path"), path, _location, "a folder path")
    editable = _boolean(check, entry, (*key, "editable"))
    package = canonicalize_name(str(key[-1]))
    source = Source(package=package, index=index, path=path, editable=editable)
    return source if len(kinds) == 1 else None


def _check_path_sources(
    check: _Checker,
    sources: Iterable[tuple[_Key, Source]],
    asked: list[tuple[_Key, Requirement]],
) -> None:
    """A path source's package is asked for by name somewhere, and nowhere by a direct URL."""
    names = {canonicalize_name(requirement.name) for _, requirement in asked}
    for key, source in sources:
        if source.path is None:  # an index source may guard a package only others depend on
            continue
        if source.package not in names:
            found = "a path source for a package no dependency or group asks for"
            check.add(key, "a package named in dependencies or a group", found, None)
        for item_key, requirement in asked:
            if requirement.url and canonicalize_name(requirement.name) == source.package:
                expected = f"the package by name only ({_dotted(key)} gives its path)"
                text = str(requirement)
                found = f"{_show(text)} (a path source and a direct URL for the same package)"
                check.add(item_key, expected, found, text)
