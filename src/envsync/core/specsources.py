"""Where packages come from: env.toml's ``[index]``, ``[indexes]`` and ``[sources]``. PURE.

Read with the loader's toolkit (``tomlcheck``), every problem recorded on the ``Checker`` that
``spec.parse_spec`` hands in, and checked against the requirements the spec asks for.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from packaging.utils import InvalidName, canonicalize_name

from envsync.core.tomlcheck import (
    Checker,
    Key,
    convert_value,
    dotted,
    get_boolean,
    get_each,
    get_string,
    get_table,
    path_problem,
    show,
    undefined,
    url_problem,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

    from packaging.requirements import Requirement

    from envsync._types import NormalizedName

__all__ = [
    "INDEXES_KEYS",
    "INDEX_KEYS",
    "NAME_CHARS",
    "SOURCE_KEYS",
    "IndexConfig",
    "NamedIndex",
    "Source",
    "check_path_sources",
    "read_index",
    "read_indexes",
    "read_sources",
    "valid_name",
]

#: The keys of ``[index]``.
INDEX_KEYS = frozenset({"url", "extra-urls", "find-links"})
#: The keys of each ``[indexes.NAME]``.
INDEXES_KEYS = frozenset({"url"})
#: The keys of each ``[sources]`` entry.
SOURCE_KEYS = frozenset({"index", "path", "editable"})


#: What a name may hold, for messages.
NAME_CHARS = "(letters, digits, . _ -)"
_URL_EXPECTED = "an http://, https:// or file:// URL"
_URL_SCHEMES = frozenset({"http", "https", "file"})


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


def valid_name(text: str) -> NormalizedName:
    """Normalize a package or group name, rejecting invalid ones without repeating them."""
    try:
        return canonicalize_name(text, validate=True)
    except InvalidName:
        raise ValueError("") from None


def read_index(check: Checker, data: Mapping[str, object]) -> IndexConfig:
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


def read_indexes(check: Checker, data: Mapping[str, object]) -> tuple[NamedIndex, ...]:
    """Read ``[indexes]``: a table per index, each with a URL; sorted by name."""
    table = get_table(check, data, ("indexes",))
    indexes = []
    for name, value in table.items():
        key: Key = ("indexes", name)
        entry = get_table(check, table, key, INDEXES_KEYS)
        valid = convert_value(check, key, name, valid_name, f"an index name {NAME_CHARS}")
        url = _url(check, entry, (*key, "url"))
        if isinstance(value, dict) and "url" not in entry:
            check.add(key, f"a url ({_URL_EXPECTED})", "a table without one", None)
        if valid is not None and url is not None:
            indexes.append(NamedIndex(name=name, url=url))
    return tuple(sorted(indexes, key=lambda index: index.name))


def read_sources(
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
        package = convert_value(check, key, name, valid_name, "a package name")
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


def check_path_sources(
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
