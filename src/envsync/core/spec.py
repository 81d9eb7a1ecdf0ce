"""env.toml text -> Spec: validated, frozen, normalized. PURE: no I/O beyond the text given.

Every problem in a spec is collected and raised together as one `SpecError`, each naming the
key, what was expected there, what was found and, where it can be found, the line.
"""

from __future__ import annotations

import os.path
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar, get_args

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import InvalidName, canonicalize_name
from packaging.version import Version

from envsync.core.names import DEFAULT_VENV
from envsync.core.tomlcheck import (
    Checker,
    Key,
    check_digits,
    check_keys,
    check_marker,
    convert_value,
    dotted,
    get_boolean,
    get_each,
    get_string,
    get_table,
    load_toml,
    path_problem,
    show,
    undefined,
    url_problem,
)
from envsync.errors import SpecError

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover - exercised on Python 3.10 only
    pass

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from envsync._types import NormalizedName

__all__ = [
    "DEFAULT_KEEP",
    "DEFAULT_VENV",
    "ENV_KEYS",
    "INDEXES_KEYS",
    "INDEX_KEYS",
    "INSTALLERS",
    "LINK_MODES",
    "RESOLVERS",
    "SOURCE_KEYS",
    "TOP_KEYS",
    "Group",
    "IndexConfig",
    "InstallerName",
    "LinkMode",
    "NamedIndex",
    "ResolverName",
    "Source",
    "Spec",
    "direct_urls",
    "parse_spec",
]

#: The installer backends ``[env] installer`` may name; the first is the default.
InstallerName = Literal["native", "pip", "uv"]
INSTALLERS: tuple[InstallerName, ...] = get_args(InstallerName)
#: How the native installer puts a cached file into a venv; the first is the default.
LinkMode = Literal["hardlink", "copy", "clone"]
LINK_MODES: tuple[LinkMode, ...] = get_args(LinkMode)
#: The resolver backends ``[env] resolver`` may name; the first is the default.
ResolverName = Literal["pip-tools", "uv"]
RESOLVERS: tuple[ResolverName, ...] = get_args(ResolverName)
#: Installed packages that apply never removes unless the spec says otherwise.
DEFAULT_KEEP: tuple[str, ...] = ("pip",)
#: The tables an env.toml may hold (schemas/env.schema.json lists the same, a test checks).
TOP_KEYS = frozenset({"env", "groups", "index", "indexes", "sources"})
#: The keys of ``[env]``.
ENV_KEYS = frozenset(
    {
        "python",
        "venv",
        "dependencies",
        "keep",
        "default-groups",
        "installer",
        "compile-bytecode",
        "link-mode",
        "resolver",
        "build",
    }
)
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


def direct_urls(*requirements: Iterable[Requirement]) -> tuple[str, ...]:
    """The URLs of the direct-URL requirements among *requirements*, each once."""
    return tuple(dict.fromkeys(r.url for reqs in requirements for r in reqs if r.url))


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
    installer: InstallerName = "native"
    """The backend that installs: envsync's own (``native``), ``pip``, or ``uv`` where installed."""
    compile_bytecode: bool = False
    """Write ``.pyc`` files at install time (the native and uv installers; pip always does)."""
    link_mode: LinkMode = "hardlink"
    """How installed files come from the cache: hard links (shared with every venv linked
    from the same entry), copies, or copy-on-write clones where the filesystem has them.
    How, not what, is installed: like ``installer``, it leaves the lock fresh."""
    resolver: ResolverName = "pip-tools"
    """What resolves: pip-compile (pip's resolver), or ``uv pip compile`` where uv is installed."""
    build: bool = True
    """Whether packages may be built from source (sdists, local folders): false means wheels
    only, so no package's build code ever runs."""

    def source(self, name: str) -> Source | None:
        """The [sources] entry for package *name*, if any."""
        wanted = canonicalize_name(name)
        return next((s for s in self.sources if s.package == wanted), None)

    def direct_urls(self) -> tuple[str, ...]:
        """The URLs of direct-URL requirements, as written (credentials and all)."""
        return direct_urls(self.dependencies, *(g.requirements for g in self.groups))

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
    data = load_toml(text, path)
    check = Checker(text)
    check_keys(check, data, (), TOP_KEYS)
    env = get_table(check, data, ("env",), ENV_KEYS)
    asked: list[tuple[Key, Requirement]] = []  # every requirement, for the [sources] checks
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
        installer=_choice(check, env, "installer", INSTALLERS),
        resolver=_choice(check, env, "resolver", RESOLVERS),
        compile_bytecode=get_boolean(check, env, ("env", "compile-bytecode")),
        link_mode=_choice(check, env, "link-mode", LINK_MODES),
        build=_build(check, env, sources),
    )
    if check.problems:
        # File order reads best; problems without a line go last.
        problems = sorted(check.problems, key=lambda p: (p.line is None, p.line or 0))
        raise SpecError(path, problems)
    return spec


# --- the keys -------------------------------------------------------------------------------------


def _build(
    check: Checker, env: Mapping[str, object], sources: Mapping[NormalizedName, tuple[Key, Source]]
) -> bool:
    """Read ``[env] build`` (default true); false forbids [sources] folders, which need a build."""
    if "build" not in env:
        return True
    build = get_boolean(check, env, ("env", "build"))
    for key, source in sources.values():
        if not build and source.path is not None:
            found = f"a local folder, {source.path}"
            check.add(key, "a source that needs no build (build = false)", found, None)
    return build


_PYTHON_EXPECTED = 'a Python version like "3.12" or a specifier like ">=3.11"'
_URL_EXPECTED = "an http://, https:// or file:// URL"
_URL_SCHEMES = frozenset({"http", "https", "file"})
_NAME_CHARS = "(letters, digits, . _ -)"


def _python(check: Checker, env: Mapping[str, object]) -> SpecifierSet:
    """Read ``[env] python``: a specifier set, or a bare version meaning that release."""
    text = (get_string(check, env, ("env", "python")) or "").strip()
    result = (
        convert_value(check, ("env", "python"), text, _python_specifier, _PYTHON_EXPECTED)
        if text
        else None
    )
    return SpecifierSet() if result is None else result


def _python_specifier(text: str) -> SpecifierSet:
    """Turn ``"3.12"`` into ``==3.12.*`` and ``"3.12.1"`` into ``==3.12.1``; parse the rest."""
    check_digits(text)  # packaging would accept it here and fail when it compares versions
    if not text[0].isdigit():
        return SpecifierSet(text)
    version = Version(text)
    # Only a plain X.Y or X.Y.Z is shorthand; anything fancier is written as a specifier.
    if str(version) != version.base_version or len(version.release) not in {2, 3}:
        raise ValueError("a bare version must look like X.Y or X.Y.Z")
    wildcard = ".*" if len(version.release) == 2 else ""  # noqa: PLR2004 - X.Y
    return SpecifierSet(f"=={version}{wildcard}")


def _venv(check: Checker, env: Mapping[str, object], path: Path) -> Path:
    """Read ``[env] venv``, made absolute against the spec's folder by string operations."""
    key: Key = ("env", "venv")
    raw = get_string(check, env, key)
    if raw is not None and (not raw.strip() or "\0" in raw):
        check.add(key, "a folder path", show(raw), raw)
        raw = None
    elif raw is not None and (problem := path_problem(raw)):
        check.add(key, "a folder path", f"{show(raw)} ({problem})", raw)
        raw = None
    root = Path(os.path.normpath(path.parent.absolute()))
    venv = Path(os.path.normpath(root / (raw or DEFAULT_VENV)))
    if root.is_relative_to(venv):  # apply replaces the venv: never the project itself
        expected = "a folder of its own, not the project folder or one above it"
        check.add(key, expected, f"{show(raw)}, which is {venv}", raw)
    return venv


_C = TypeVar("_C", bound=str)


def _choice(check: Checker, env: Mapping[str, object], name: str, choices: tuple[_C, ...]) -> _C:
    """Read ``[env] <name>``: one of *choices* (the first when absent or wrong)."""
    key: Key = ("env", name)
    text = get_string(check, env, key)
    chosen = next((choice for choice in choices if choice == text), None)
    if text is not None and chosen is None:
        undefined(
            check, key, f"an {name}" if name[0] in "aeiou" else f"a {name}", text, list(choices)
        )
    return chosen or choices[0]


def _requirements(
    check: Checker, table: Mapping[str, object], key: Key, asked: list[tuple[Key, Requirement]]
) -> tuple[Requirement, ...]:
    """Read a list of PEP 508 requirements, each package at most once per environment marker.

    Each is also added to *asked*, keyed, for the checks that look across lists.
    """
    parsed = get_each(check, table, key, _requirement, "a PEP 508 requirement") or []
    asked.extend(parsed)
    seen: dict[str, list[tuple[Key, str | None]]] = {}
    for item_key, requirement in parsed:
        name = canonicalize_name(requirement.name)
        marker = str(requirement.marker) if requirement.marker else None
        # The same name twice is fine only when both entries are for different environments.
        clash = next((k for k, m in seen.get(name, []) if None in {m, marker} or m == marker), None)
        if clash is not None:
            expected = "each package once (or once per distinct environment marker)"
            check.add(item_key, expected, f"{show(name)} again, also at {dotted(clash)}", None)
        seen.setdefault(name, []).append((item_key, marker))
    return tuple(requirement for _, requirement in parsed)


def _requirement(text: str) -> Requirement:
    """Parse a PEP 508 requirement whose direct URL, if any, pip can open."""
    requirement = Requirement(check_digits(text))
    if requirement.url and (problem := url_problem(requirement.url)):
        raise ValueError(problem)
    if requirement.marker is not None:
        check_marker(requirement.marker, "requirement")
    return requirement


def _keep(check: Checker, env: Mapping[str, object]) -> tuple[NormalizedName, ...]:
    """Read ``[env] keep``: package names, normalized, sorted and deduplicated."""
    names = get_each(check, env, ("env", "keep"), _valid_name, "a package name")
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
    check: Checker, data: Mapping[str, object], asked: list[tuple[Key, Requirement]]
) -> tuple[Group, ...]:
    """Read ``[groups]``: valid, unique names, each with requirements; sorted by name."""
    table = get_table(check, data, ("groups",))
    groups: dict[str, Group] = {}
    for name in table:
        key: Key = ("groups", name)
        requirements = _requirements(check, table, key, asked)
        normal = convert_value(check, key, name, _valid_name, f"a group name {_NAME_CHARS}")
        if normal in groups:
            found = f"{show(name)}, the same name as {show(groups[normal].name)}"
            check.add(key, "each group name once (compared like package names)", found, None)
        elif normal is not None:
            groups[normal] = Group(name=name, requirements=requirements)
    return tuple(groups[normal] for normal in sorted(groups))


def _index(check: Checker, data: Mapping[str, object]) -> IndexConfig:
    """Read ``[index]``: http(s):// or file:// index URLs, and find-links locations."""
    table = get_table(check, data, ("index",), INDEX_KEYS)
    url = _url(check, table, ("index", "url"))
    extra_urls = get_each(check, table, ("index", "extra-urls"), _index_url, _URL_EXPECTED) or []
    find_links = (
        get_each(check, table, ("index", "find-links"), _location, "a URL or a folder path") or []
    )
    return IndexConfig(
        url=url,
        extra_urls=tuple(text for _, text in extra_urls),
        find_links=tuple(text for _, text in find_links),
    )


def _url(check: Checker, table: Mapping[str, object], key: Key) -> str | None:
    """Return the index URL at *key*, or None if it is absent or not one (reported)."""
    url = get_string(check, table, key)
    return None if url is None else convert_value(check, key, url, _index_url, _URL_EXPECTED)


def _index_url(text: str) -> str:
    """Return *text* if it is an http(s) URL with a host or a file URL (as the schema's pattern).

    The schema's pattern only looks at the start; the rest must be a URL pip can open too.
    """
    scheme, separator, rest = text.partition("://")
    local = scheme.lower() == "file"
    if not separator or not (
        local or (scheme.lower() in _URL_SCHEMES and rest[:1] not in {"", "/", "?", "#"})
    ):
        raise ValueError("")
    if problem := url_problem(text):
        raise ValueError(problem)
    return text


def _location(text: str) -> str:
    """Return *text* if it is a folder path or a URL pip can open."""
    if not text.strip():
        raise ValueError("")
    problem = url_problem(text) if "://" in text else path_problem(text)
    if problem:
        raise ValueError(problem)
    return text


# --- default groups, named indexes and per-package sources ----------------------------------------


def _default_groups(
    check: Checker, env: Mapping[str, object], groups: tuple[Group, ...]
) -> tuple[str, ...]:
    """Read ``[env] default-groups``: groups defined in [groups]; normalized and sorted."""
    key: Key = ("env", "default-groups")
    named = get_each(check, env, key, _named, "a group name") or []
    defined = [group.name for group in groups]
    normal = {_normalize_group(name) for name in defined}
    for item_key, (text, name) in named:
        if name not in normal:
            undefined(check, item_key, "a group defined in [groups]", text, defined)
    return tuple(sorted({name for _, (_, name) in named}))


def _named(text: str) -> tuple[str, str]:
    """Return *text* as written and normalized, if it is a valid name."""
    return text, _valid_name(text)


def _indexes(check: Checker, data: Mapping[str, object]) -> tuple[NamedIndex, ...]:
    """Read ``[indexes]``: a table per index, each with a URL; sorted by name."""
    table = get_table(check, data, ("indexes",))
    indexes = []
    for name, value in table.items():
        key: Key = ("indexes", name)
        entry = get_table(check, table, key, INDEXES_KEYS)
        valid = convert_value(check, key, name, _valid_name, f"an index name {_NAME_CHARS}")
        url = _url(check, entry, (*key, "url"))
        if isinstance(value, dict) and "url" not in entry:
            check.add(key, f"a url ({_URL_EXPECTED})", "a table without one", None)
        if valid is not None and url is not None:
            indexes.append(NamedIndex(name=name, url=url))
    return tuple(sorted(indexes, key=lambda index: index.name))


def _sources(
    check: Checker, data: Mapping[str, object]
) -> dict[NormalizedName, tuple[Key, Source]]:
    """Read ``[sources]``: at most one per package (compared normalized), keyed by package."""
    table = get_table(check, data, ("sources",))
    indexes = data.get("indexes")
    # A source may name an index whose own entry has a problem: that one is reported there.
    defined = [str(name) for name in indexes] if isinstance(indexes, dict) else []
    sources: dict[NormalizedName, tuple[Key, Source]] = {}
    for name in table:
        key: Key = ("sources", name)
        package = convert_value(check, key, name, _valid_name, "a package name")
        source = _source(check, table, key, defined)
        if package in sources:
            found = f"{show(name)}, the same package as {show(sources[package][0][-1])}"
            check.add(key, "each package once (names compared normalized)", found, None)
        elif package is not None and source is not None:
            sources[package] = (key, source)
    return sources


def _source(
    check: Checker, table: Mapping[str, object], key: Key, indexes: list[str]
) -> Source | None:
    """Read one [sources] entry: exactly one of index or path; editable only with a path."""
    entry = get_table(check, table, key, SOURCE_KEYS)
    kinds = [kind for kind in ("index", "path") if kind in entry]
    if len(kinds) != 1 and isinstance(table[str(key[-1])], dict):
        check.add(key, "exactly one of index or path", "both" if kinds else "neither", None)
    elif kinds == ["index"] and "editable" in entry:
        check.add((*key, "editable"), "editable only with a path", "an index source", None)
    index = get_string(check, entry, (*key, "index"))
    if index is not None and index not in indexes:
        undefined(check, (*key, "index"), "an index defined in [indexes]", index, indexes)
    path = get_string(check, entry, (*key, "path"))
    if path is not None:
        path = convert_value(check, (*key, "path"), path, _location, "a folder path")
    editable = get_boolean(check, entry, (*key, "editable"))
    package = canonicalize_name(str(key[-1]))
    source = Source(package=package, index=index, path=path, editable=editable)
    return source if len(kinds) == 1 else None


def _check_path_sources(
    check: Checker,
    sources: Iterable[tuple[Key, Source]],
    asked: list[tuple[Key, Requirement]],
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
                expected = f"the package by name only ({dotted(key)} gives its path)"
                text = str(requirement)
                found = f"{show(text)} (a path source and a direct URL for the same package)"
                check.add(item_key, expected, found, text)
