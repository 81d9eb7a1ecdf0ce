"""pip's installation report -> the pins pip-compile would print for it. PURE.

``pip install --dry-run --report`` lists what it would install, not why. The lock needs the
why (``via``: which packages and which input files need each pin) for its groups and its
dependencies, so it is rebuilt here as pip's resolver decided it: each package's
``Requires-Dist`` evaluated for the target's markers with the extras asked of that package,
the roots' extras and those its parents ask for, grown together until nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from envsync.errors import ResolutionError
from envsync.resolve.compile_output import Pin

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from envsync._types import NormalizedName

__all__ = ["Root", "pins_from_report", "read_root"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Root:
    """One line of an input file: a requirement envsync asked for."""

    name: NormalizedName
    """The package."""
    extras: frozenset[str] = frozenset()
    """The extras asked for."""
    marker: Marker | None = None
    """Its marker, if any: the line counts only where the marker holds."""
    url: str | None = None
    """The URL it names: a direct reference, or an ``-e`` folder."""
    editable: bool = False
    """An ``-e`` line."""


def read_root(line: str, editables: Mapping[str, NormalizedName]) -> Root:
    """One line of an input file envsync wrote (``inputs.write_inputs``)."""
    if line.startswith("-e "):
        url = line.removeprefix("-e ").strip()
        return Root(name=editables[url], url=url, editable=True)
    req = _requirement(line, "an input file")
    return Root(
        name=canonicalize_name(req.name),
        extras=frozenset(canonicalize_name(e) for e in req.extras),
        marker=req.marker,
        url=req.url,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class _Item:
    """One package of pip's report."""

    name: NormalizedName
    version: str
    requires: tuple[Requirement, ...] = field(default=())
    url: str | None = None
    """Where pip took it from, for a direct reference (None: an index or find-links)."""
    editable: bool = False


def pins_from_report(
    report: Mapping[str, Any],
    roots: Mapping[str, Sequence[Root]],
    markers: Mapping[str, str],
    editables: Mapping[str, NormalizedName],
) -> list[Pin]:
    """The pins of pip's *report*, annotated as pip-compile's output for the same inputs.

    *roots* are the lines of each input file by its name (``main.in``, ``group-dev.in``);
    *markers* the target's marker environment; *editables* the ``-e`` URLs envsync wrote.
    """
    items = {item.name: item for item in _items(report)}
    asked = {
        name: [r for r in lines if _holds(r.marker, markers, "")] for name, lines in roots.items()
    }
    extras = _extras(items, asked, markers)
    parents: dict[NormalizedName, set[NormalizedName]] = {name: set() for name in items}
    for item in items.values():
        for child, _ in _children(item, extras[item.name], items, markers):
            if child != item.name:
                parents[child].add(item.name)
    by_url = {r.name: r.url for lines in asked.values() for r in lines if r.url}
    editable_urls = {name: url for url, name in editables.items()}
    return [
        Pin(
            name=item.name,
            requirement=_pinned(item, by_url, editable_urls),
            via=(
                *sorted(parents[item.name]),
                *(f"-r {file}" for file, lines in asked.items() if _names(item, lines)),
            ),
            editable=item.editable,
        )
        for item in sorted(items.values(), key=lambda i: i.name)
    ]


def _names(item: _Item, lines: Sequence[Root]) -> bool:
    return any(r.name == item.name for r in lines)


def _extras(
    items: Mapping[NormalizedName, _Item],
    asked: Mapping[str, Sequence[Root]],
    markers: Mapping[str, str],
) -> dict[NormalizedName, frozenset[str]]:
    """The extras asked of each package: by the roots, then by its parents, to a fixpoint."""
    extras: dict[NormalizedName, frozenset[str]] = dict.fromkeys(items, frozenset())
    for root in (r for lines in asked.values() for r in lines if r.name in extras):
        extras[root.name] |= root.extras
    changed = True
    while changed:  # extras only grow, and are finite: this ends
        changed = False
        for item in items.values():
            for child, wanted in _children(item, extras[item.name], items, markers):
                if not wanted <= extras[child]:
                    extras[child] |= wanted
                    changed = True
    return extras


def _children(
    item: _Item,
    extras: frozenset[str],
    items: Mapping[NormalizedName, _Item],
    markers: Mapping[str, str],
) -> Iterator[tuple[NormalizedName, frozenset[str]]]:
    """The packages *item* needs on the target with *extras*, and the extras it asks of each."""
    for req in item.requires:
        child = canonicalize_name(req.name)
        if child in items and any(_holds(req.marker, markers, e) for e in ("", *extras)):
            yield child, frozenset(canonicalize_name(e) for e in req.extras)


def _holds(marker: Marker | None, markers: Mapping[str, str], extra: str) -> bool:
    if marker is None:
        return True
    try:
        return marker.evaluate({**markers, "extra": extra})
    except (UndefinedComparison, UndefinedEnvironmentName):
        return False  # pip stops on such a marker, so it never chose a package through it


def _pinned(
    item: _Item,
    by_url: Mapping[NormalizedName, str],
    editable_urls: Mapping[NormalizedName, str],
) -> Requirement:
    """``name==version``; ``name @ url`` as envsync wrote it for a direct reference."""
    if item.editable:
        url = editable_urls.get(item.name, item.url)
    elif item.url is not None:
        url = by_url.get(item.name) or item.url
    else:
        return Requirement(f"{item.name}=={item.version}")
    return Requirement(f"{item.name} @ {url}")


def _items(report: Mapping[str, Any]) -> Iterator[_Item]:
    install = report.get("install")
    if not isinstance(install, list):
        raise _unreadable("no list of packages to install")
    try:
        yield from (_item(raw) for raw in install)
    except (KeyError, TypeError, AttributeError) as exc:
        raise _unreadable(f"an entry is not as pip writes it ({exc!r})") from exc


def _item(raw: Mapping[str, Any]) -> _Item:
    """One entry of the report (a KeyError, TypeError or AttributeError where it is not)."""
    metadata, info = raw["metadata"], raw["download_info"]
    name = str(metadata["name"])
    return _Item(
        name=canonicalize_name(name),
        version=str(metadata["version"]),
        requires=tuple(_requirement(r, name) for r in metadata.get("requires_dist") or ()),
        url=_direct_url(info) if raw.get("is_direct") else None,
        editable=bool((info.get("dir_info") or {}).get("editable")),
    )


def _direct_url(info: Mapping[str, Any]) -> str:
    """PEP 610's URL as a requirement names it (a VCS URL with its scheme and commit)."""
    url = str(info["url"])
    vcs = info.get("vcs_info")
    if isinstance(vcs, dict):
        return f"{vcs['vcs']}+{url}@{vcs['commit_id']}"
    return url


def _requirement(text: str, where: str) -> Requirement:
    try:
        return Requirement(text)
    except (InvalidRequirement, InvalidMarker) as exc:
        raise _unreadable(f"{where} has the requirement {text!r}: {exc}") from exc


def _unreadable(why: str) -> ResolutionError:
    return ResolutionError(f"could not read pip's installation report: {why}")
