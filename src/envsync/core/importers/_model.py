"""The values importers produce, the error they raise, and the merging rule they share. PURE."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from envsync.errors import EnvsyncError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["ImportSourceError", "Imported", "LocalSource", "Reader", "merged", "reason"]


class ImportSourceError(EnvsyncError, ValueError):
    """A file given to ``envsync init --from`` cannot become an env.toml; every problem listed."""

    code = "import-invalid"

    def __init__(self, origin: str, problems: Sequence[str]) -> None:
        self.origin = origin
        self.problems = tuple(dict.fromkeys(problems))
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(
            f"cannot make an env.toml from {origin}:\n{lines}",
            hint="fix the lines above, or write env.toml by hand (see the README, env.toml)",
        )


class Reader(Protocol):
    """How a requirements file reaches the files and folders it names (the caller's disk)."""

    def read(self, reference: str, *, within: str) -> tuple[str, str]:
        """Read the file *reference* (relative to the file *within*): its name and its text.

        Raises OSError or UnicodeDecodeError when it cannot be read.
        """

    def path(self, reference: str, *, within: str) -> str:
        """The folder *reference* (relative to the file *within*), as env.toml must spell it."""

    def project_name(self, reference: str, *, within: str) -> str | None:
        """The ``[project] name`` of the folder *reference*'s pyproject.toml, if it has one."""


@dataclass(frozen=True, kw_only=True, slots=True)
class LocalSource:
    """A local project folder: a ``[sources]`` entry of env.toml."""

    name: str
    """The package name, as the project (or ``#egg=``) spells it."""
    path: str
    """The folder, as env.toml spells it (relative to env.toml, or absolute)."""
    editable: bool
    """Installed in editable mode (``-e``)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Imported:
    """Everything an imported file says that env.toml can hold."""

    origin: str
    """The file imported, as named on the command line."""
    python: str | None = None
    """A Python specifier (``requires-python``), if the file gave one."""
    dependencies: tuple[str, ...] = ()
    """Main requirements (PEP 508, normalized spelling), in file order."""
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Groups, in file order: (name, requirements)."""
    extras: tuple[str, ...] = ()
    """The groups that were extras (``[project.optional-dependencies]``)."""
    index_url: str | None = None
    """``--index-url``: the default index."""
    extra_urls: tuple[str, ...] = ()
    """``--extra-index-url`` values."""
    find_links: tuple[str, ...] = ()
    """``--find-links`` values (folders as env.toml spells them)."""
    sources: tuple[LocalSource, ...] = ()
    """Local folders (``-e ./path`` or ``./path``)."""
    warnings: tuple[str, ...] = ()
    """What was dropped and why, for the command to show."""


def merged(entries: Sequence[tuple[Requirement, str]], problems: list[str]) -> tuple[str, ...]:
    """One requirement per package and marker, as env.toml wants: repeats are combined.

    Specifiers intersect and extras join (what pip does with a repeated name); two different
    URLs, or one entry with a marker and one without, cannot be combined and are reported.
    """
    merged: dict[tuple[str, str | None], tuple[Requirement, str]] = {}
    for requirement, where in entries:
        name = str(canonicalize_name(requirement.name))
        key = (name, str(requirement.marker) if requirement.marker else None)
        if key in merged:
            first, first_where = merged[key]
            combined = _combine(first, requirement)
            if combined is None:
                problems.append(f"{where}: {requirement} and {first} ({first_where}) differ in URL")
            else:
                merged[key] = (combined, first_where)
        elif clash := _marker_clash(merged, key):
            problems.append(
                f"{where}: {name} is also listed at {clash}: env.toml takes a package once, "
                "or once per environment marker; merge the two by hand"
            )
        else:
            merged[key] = (requirement, where)
    return tuple(str(requirement) for requirement, _ in merged.values())


def _marker_clash(
    merged: Mapping[tuple[str, str | None], tuple[Requirement, str]], key: tuple[str, str | None]
) -> str | None:
    """Where *key*'s package is already listed with no marker, or *key* has none; or None."""
    name, marker = key
    return next((w for (n, m), (_, w) in merged.items() if n == name and None in {m, marker}), None)


def _combine(first: Requirement, second: Requirement) -> Requirement | None:
    if first.url != second.url:
        return None
    combined = Requirement(str(first))
    combined.extras = first.extras | second.extras
    combined.specifier = first.specifier & second.specifier
    return combined


def reason(exc: Exception) -> str:
    return str(exc).partition("\n")[0]  # the rest is packaging's caret diagram
