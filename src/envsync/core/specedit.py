"""Edit env.toml's requirements in a tomlkit document, keeping everything else. PURE.

``envsync add`` and ``envsync remove`` change one array of requirement strings (``[env]
dependencies`` or a ``[groups]`` entry) and, for ``remove``, a ``[sources]`` entry; every
comment, blank line, key order and quoting style around them stays as the user wrote it.
tomlkit keeps the document's trivia, which a TOML writer (tomli-w) would drop.

Each edit takes a document and returns a new one: the one given is never changed, so a
failed lock leaves nothing half edited. The document was validated as a spec before
(``parse_spec``), so its tables and arrays have the shapes envsync accepts.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NoReturn, cast, get_args

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from tomlkit.items import StringType

from envsync.core.tomlcheck import closest
from envsync.errors import EnvsyncError

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator, MutableMapping, Sequence

    from packaging.version import Version
    from tomlkit.items import Array
    from tomlkit.toml_document import TOMLDocument

__all__ = [
    "BOUNDS",
    "Bounds",
    "EditError",
    "LineChanges",
    "UnknownPackageError",
    "add",
    "bound",
    "bounded",
    "changed_lines",
    "dumps",
    "is_bare",
    "load",
    "remove",
    "requirement",
]

#: How ``add`` bounds a bare name by the version resolved (as uv's ``add --bounds``).
Bounds = Literal["lower", "major", "minor", "exact"]
BOUNDS: tuple[Bounds, ...] = get_args(Bounds)


class EditError(EnvsyncError):
    """An edit of env.toml that cannot be made as asked."""

    code = "edit-invalid"


class UnknownPackageError(EnvsyncError):
    """``remove`` or ``upgrade`` named a package that is not there."""

    code = "package-unknown"


@dataclass(frozen=True, kw_only=True, slots=True)
class LineChanges:
    """The lines of env.toml an edit changed."""

    added: tuple[str, ...]
    """Lines the new text has and the old one had not (stripped of the line break)."""
    removed: tuple[str, ...]
    """Lines the old text had and the new one has not."""


def load(text: str) -> TOMLDocument:
    """env.toml's text as a tomlkit document (the text already passed ``parse_spec``)."""
    return tomlkit.parse(text)


def dumps(document: TOMLDocument) -> str:
    """The document's text, byte for byte as read wherever no edit touched it."""
    return document.as_string()


def requirement(text: str) -> Requirement:
    """One PEP 508 requirement from the command line."""
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise EditError(
            f"{text!r} is not a PEP 508 requirement ({exc})",
            hint='write a name with an optional version, such as "requests" or "requests>=2.31"',
        ) from exc


def is_bare(req: Requirement) -> bool:
    """No version and no URL: ``add`` gives it a bound from the version resolved."""
    return not req.specifier and req.url is None


def add(document: TOMLDocument, texts: Sequence[str], *, group: str | None = None) -> TOMLDocument:
    """*document* with each requirement of *texts* in the root (main or *group*).

    A package already in that root has its requirement replaced where it stands; a new one
    goes at the end, quoted as the entry before it is. A group that does not exist is made.
    """
    new = _copy(document)
    array = _root_array(new, group, create=True)
    for text in (t.strip() for t in texts):
        name = canonicalize_name(requirement(text).name)
        at = _position(array, name)
        item = _like(array, text, at if at is not None else len(array) - 1)
        if at is None:
            array.append(item)
        else:
            array[at] = item
    return new


def remove(
    document: TOMLDocument, names: Sequence[str], *, group: str | None = None
) -> TOMLDocument:
    """*document* without the requirements on *names* in the root (main or *group*).

    A ``[sources]`` entry goes too when no requirement left in any root names its package.
    An unknown name is an UnknownPackageError with the closest requirement suggested.
    """
    new = _copy(document)
    where = "[env] dependencies" if group is None else f"[groups] {group}"
    if group is not None and _group_key(new, group) is None:
        _unknown_group(new, group)
    array = _root_array(new, group, create=False)
    for name in names:
        at = _position(array, canonicalize_name(name))
        if at is None:
            _unknown(new, name, array, where)
        del array[at]
    _drop_sources(new, {canonicalize_name(n) for n in names})
    return new


def changed_lines(old: str, new: str) -> LineChanges:
    """The lines an edit added and removed, in file order."""
    diff = list(difflib.ndiff(old.splitlines(), new.splitlines()))
    return LineChanges(
        added=tuple(line[2:] for line in diff if line.startswith("+ ")),
        removed=tuple(line[2:] for line in diff if line.startswith("- ")),
    )


def bound(name: str, versions: Collection[Version], kind: Bounds) -> str | None:
    """The specifier *kind* makes of the versions a bare *name* resolved to (one per target).

    Every version resolved satisfies it, so the lock made for the bare name stays right for
    the bounded one. None when nothing was resolved (a marker left the package out).
    """
    if not versions:
        return None
    low, high = min(versions), max(versions)
    if kind == "exact":
        if low != high:
            raise EditError(
                f"{name} resolves to several versions across the lock's targets "
                f"({', '.join(sorted(str(v) for v in versions))}), so --bounds exact has no "
                "one version to pin",
                hint=f"give the version yourself (such as {name}>={low}) or use --bounds lower",
            )
        return f"=={low.public}"
    floor = _floor(low, 3 if kind == "minor" else 2)
    if kind == "lower":
        return f">={floor}"
    return f">={floor},<{_ceiling(high, minor=kind == 'minor')}"


def bounded(text: str, specifier: str) -> str:
    """The bare requirement *text* with *specifier* put in, extras and marker kept."""
    req = requirement(text)
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    marker = f"; {req.marker}" if req.marker else ""
    return f"{req.name}{extras}{specifier}{marker}"


def _floor(version: Version, parts: int) -> str:
    """*version* cut to *parts* release numbers, unless that would exclude it (a pre-release)."""
    if version.is_prerelease or version.epoch:
        return version.public  # 2.0b1 is below 2.0: cut, the bound would leave it out
    return ".".join(str(n) for n in (*version.release, 0, 0)[:parts])


def _ceiling(version: Version, *, minor: bool) -> str:
    """The first version a ``major`` or ``minor`` bound leaves out (0.x counts its minor)."""
    epoch = f"{version.epoch}!" if version.epoch else ""
    major, minor_n = (*version.release, 0)[:2]
    if minor or major == 0:
        return f"{epoch}{major}.{minor_n + 1}"
    return f"{epoch}{major + 1}"


def _copy(document: TOMLDocument) -> TOMLDocument:
    """An independent document: edits never reach the caller's."""
    return tomlkit.parse(document.as_string())


def _root_array(document: TOMLDocument, group: str | None, *, create: bool) -> Array:
    """The array of requirement strings of main (``[env] dependencies``) or of *group*."""
    table = _table(document, "env" if group is None else "groups", create=create)
    key = "dependencies" if group is None else (_group_key(document, group) or group)
    if key not in table:
        if not create:
            return tomlkit.array()  # nothing to remove from: every name is then unknown
        table[key] = tomlkit.array()
    return cast("Array", table[key])


def _table(document: TOMLDocument, name: str, *, create: bool) -> MutableMapping[str, object]:
    if name not in document and create:
        document[name] = tomlkit.table()
    return cast("MutableMapping[str, object]", document.get(name, {}))


def _group_key(document: TOMLDocument, group: str) -> str | None:
    """The key of *group* in ``[groups]`` as written (group names compare like package names)."""
    groups = cast("MutableMapping[str, object]", document.get("groups", {}))
    wanted = canonicalize_name(group)
    return next((str(k) for k in groups if canonicalize_name(str(k)) == wanted), None)


def _position(array: Array, name: str) -> int | None:
    """Where the requirement on *name* (normalized) is in *array*."""
    return next((i for i, text in enumerate(array) if _name_of(str(text)) == name), None)


def _name_of(text: str) -> str:
    return canonicalize_name(Requirement(text).name)


def _like(array: Array, text: str, neighbour: int) -> object:
    """*text* as a TOML string quoted as the entry at *neighbour* is ('literal' or "basic")."""
    if 0 <= neighbour < len(array) and "'" not in text:
        item = array[neighbour]
        if getattr(item, "type", None) is StringType.SLL:
            return tomlkit.string(text, literal=True)
    return tomlkit.string(text)


def _requirement_names(document: TOMLDocument) -> set[str]:
    """Every package any root of *document* still asks for."""
    env = cast("MutableMapping[str, object]", document.get("env", {}))
    groups = cast("MutableMapping[str, list[str]]", document.get("groups", {}))
    texts = [*cast("list[str]", env.get("dependencies", []))]
    texts += [text for entries in groups.values() for text in entries]
    return {_name_of(str(text)) for text in texts}


def _drop_sources(document: TOMLDocument, removed: set[str]) -> None:
    """Remove the ``[sources]`` entries of *removed* packages that nothing asks for any more."""
    sources = cast("MutableMapping[str, object]", document.get("sources", {}))
    unused = removed - _requirement_names(document)
    for key in [k for k in sources if canonicalize_name(str(k)) in unused]:
        del sources[key]


def _roots(document: TOMLDocument) -> Iterator[tuple[str | None, list[str]]]:
    """Each root's name (None: main) and its requirement strings."""
    env = cast("MutableMapping[str, object]", document.get("env", {}))
    yield None, [str(t) for t in cast("list[str]", env.get("dependencies", []))]
    groups = cast("MutableMapping[str, list[str]]", document.get("groups", {}))
    for key, entries in groups.items():
        yield str(key), [str(t) for t in entries]


def _unknown(document: TOMLDocument, name: str, array: Array, where: str) -> NoReturn:
    """Raise: *name* is not in *where*; say where it is, or what was meant."""
    wanted = canonicalize_name(name)
    for root, texts in _roots(document):
        if any(_name_of(t) == wanted for t in texts):
            option = "without --group" if root is None else f"with --group {root}"
            raise UnknownPackageError(
                f"{name} is not in env.toml's {where}",
                hint=f"it is in {'[env] dependencies' if root is None else f'[groups] {root}'}: "
                f"run `envsync remove {name}` {option}",
            )
    names = sorted({Requirement(str(t)).name for t in array})
    guess = closest(name, names)
    raise UnknownPackageError(
        f"{name} is not in env.toml's {where} ({', '.join(names) or 'it is empty'})",
        hint=f"did you mean {guess!r}?" if guess else "name a package listed there",
    )


def _unknown_group(document: TOMLDocument, group: str) -> NoReturn:
    groups = [str(k) for k in cast("MutableMapping[str, object]", document.get("groups", {}))]
    guess = closest(group, groups)
    raise UnknownPackageError(
        f"env.toml has no group {group!r} ({', '.join(sorted(groups)) or 'it defines none'})",
        hint=f"did you mean {guess!r}?" if guess else "name a group of [groups]",
    )
