"""pylock.toml -> a CycloneDX 1.6 SBOM (JSON) of one target, for ``envsync export``. PURE.

The packages are those ``lockselect.select`` picks for the target's markers, wheel tags and
groups (what plan and apply install, and what the requirements export pins). Each becomes a
``library`` component:

* ``purl`` ``pkg:pypi/NAME@VERSION``, with a ``repository_url`` qualifier when the lock says
  the files came from an index other than pip's default one (the purl spec's pypi type);
  ``bom-ref`` is the purl, stable from one export to the next;
* ``hashes``: the SHA-256 of the one file this target installs (the wheel its tags choose, else
  the sdist or archive), the file an auditor can fetch and check; the other platforms' files
  of the version are not this target's software;
* ``externalReferences``: that file's URL (a lock-relative path for a file beside the
  project) as a ``distribution``, with its hash, credentials stripped.

A local folder (``[sources]`` path, editable or not) has no purl and no hash: it is not a
published package, and a folder has no hash. Its component carries the version envsync saw,
``bom-ref`` ``NAME @ PATH`` and the path, relative to the project, as an ``other`` reference.

The metadata component is the project; it depends on the top-level packages of the main
dependencies and chosen groups (``[tool.envsync]`` roots), and each package on the packages
its lock entry names that this target installs. A package nothing reaches that way (a lock
written without roots) hangs from the project, so every component is reachable from it.
PEP 751 ``dependencies`` carry no markers, and an entry several targets share lists what any
of them needs: an edge another target alone needs shows here when its end is installed here
for another reason.

Reproducible by default: the same lock gives the same bytes. CycloneDX's ``serialNumber`` and
``timestamp`` are optional in the schema and left out (``cdx:reproducible`` says so), unless
the caller gives a timestamp (``SOURCE_DATE_EPOCH``). The library is imported only here,
inside functions, so importing the core (or any other command) never loads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from envsync import __version__
from envsync.core.export import Exported
from envsync.core.graph import closure
from envsync.core.lockcheck import RELOCK
from envsync.core.lockselect import package_version, select
from envsync.core.locktable import info
from envsync.core.requirementtext import strip_credentials
from envsync.errors import LockError

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence
    from datetime import datetime
    from pathlib import Path

    from cyclonedx.model.component import Component
    from packaging.pylock import Package, PackageArchive, PackageSdist, PackageWheel, Pylock

    from envsync._types import NormalizedName
    from envsync.core.lockselect import Wanted
    from envsync.core.locktable import LockInfo

__all__ = ["About", "cyclonedx"]

#: The metadata properties that say which target and groups the SBOM is of.
_TARGET_MARKERS = ("python_version", "sys_platform", "platform_machine")


@dataclass(frozen=True, kw_only=True, slots=True)
class About:
    """What the SBOM says beyond the lock: whose it is, and what the lock's URLs mean."""

    project: str
    """The metadata component's name: the project folder's (env.toml's folder)."""
    default_index: str | None = None
    """pip's default index: packages from it get no ``repository_url`` in their purl."""
    timestamp: datetime | None = None
    """``metadata.timestamp`` (from ``SOURCE_DATE_EPOCH``); None leaves it out."""


@dataclass(frozen=True, kw_only=True, slots=True)
class _Part:
    """One component, as plain values: what the library is then given."""

    name: NormalizedName
    """Normalized project name."""
    version: str | None
    """The locked version (a local folder's: the one envsync saw, if any)."""
    ref: str
    """``bom-ref``: the purl, or ``NAME @ PATH`` for a local folder."""
    purl: str | None
    """``pkg:pypi/...``; None for a local folder."""
    sha256: str | None
    """The SHA-256 of the file this target installs; None for a folder."""
    location: str
    """Where that file (or folder) is: its URL, or its path relative to the project."""
    editable: bool = False
    """A local folder installed in editable mode."""


def cyclonedx(
    lock: Pylock,
    *,
    environment: Mapping[str, str],
    tags: Sequence[str],
    groups: Collection[str],
    root: Path,
    about: About,
    main: bool = True,
    table: LockInfo | None = None,
) -> Exported:
    """The CycloneDX 1.6 JSON SBOM of what *lock* installs into this environment with *groups*.

    The arguments but *about* are as for ``export.requirements``; ``Exported.local`` is empty,
    since local folders are components here too.
    """
    table = table or info(lock)
    chosen = select(
        lock, environment=environment, tags=tags, groups=groups, root=root, main=main, table=table
    )
    entries = {(p.name, package_version(p)): p for p in lock.packages}
    parts: dict[str, _Part] = {}
    edges: dict[str, tuple[str, ...]] = {}
    for wanted in chosen:
        parts[wanted.name] = _part(wanted, entries[wanted.name, wanted.version], about)
    for wanted in chosen:  # after every part: an edge leads only to what this target installs
        edges[wanted.name] = _needs(entries[wanted.name, wanted.version], parts)
    tops = _tops(table, groups, main=main, edges=edges)
    properties = {f"envsync:{key}": environment.get(key, "") for key in _TARGET_MARKERS}
    properties["envsync:groups"] = ",".join(sorted(groups))
    properties["envsync:main-dependencies"] = str(main).lower()
    text = _render(parts, edges, tops, about, properties)
    return Exported(text=text, packages=tuple(wanted.name for wanted in chosen))


def _part(wanted: Wanted, package: Package, about: About) -> _Part:
    version = str(wanted.version) if wanted.version is not None else None
    if package.directory is not None:
        path = package.directory.path
        return _Part(
            name=wanted.name,
            version=version,
            ref=f"{wanted.name} @ {path}",
            purl=None,
            sha256=None,
            location=path,
            editable=wanted.editable,
        )
    purl = _purl(wanted.name, version, _repository(package.index, about.default_index))
    return _Part(
        name=wanted.name,
        version=version,
        ref=purl,
        purl=purl,
        sha256=wanted.artifact.sha256,
        location=_file_location(wanted, package),
    )


def _repository(index: str | None, default_index: str | None) -> str | None:
    """The purl's ``repository_url``: the index the files came from, unless pip's default."""
    if index is None or (default_index and index.rstrip("/") == default_index.rstrip("/")):
        return None
    return strip_credentials(index)


def _purl(name: str, version: str | None, repository: str | None) -> str:
    from packageurl import PackageURL  # noqa: PLC0415 - only this export format loads it

    qualifiers = {"repository_url": repository} if repository else None
    return str(PackageURL(type="pypi", name=name, version=version, qualifiers=qualifiers))


def _file_location(wanted: Wanted, package: Package) -> str:
    """The chosen file as the lock records it: its URL, or its path beside the project.

    Read from the lock, not from ``Wanted.artifact``, whose paths are made absolute on this
    machine: the SBOM of one lock is the same everywhere.
    """
    file: PackageArchive | PackageSdist | PackageWheel | None
    if wanted.artifact.kind == "archive":
        file = package.archive
    elif wanted.artifact.kind == "sdist":
        file = package.sdist
    else:
        wheels = package.wheels or ()
        file = next((w for w in wheels if w.filename == wanted.artifact.filename), None)
    where = (strip_credentials(file.url) if file.url else file.path) if file else None
    if where is None:  # pragma: no cover - select chose the file from this very entry
        msg = f"{wanted.name}: pylock.toml has no URL or path for {wanted.artifact.file_name()}"
        raise LockError(msg, hint=RELOCK)
    return where


def _needs(package: Package, parts: Mapping[str, _Part]) -> tuple[str, ...]:
    """The packages *package* depends on that this target installs, sorted."""
    named = {canonicalize_name(str(d.get("name"))) for d in package.dependencies or ()}
    return tuple(sorted(named & parts.keys()))


def _tops(
    table: LockInfo, groups: Collection[str], *, main: bool, edges: Mapping[str, Sequence[str]]
) -> tuple[str, ...]:
    """What the project depends on: the chosen roots this target installs (and the orphans)."""
    roots = [name for g in ("", *groups) if main or g for name in table.roots.get(g, ())]
    tops = {str(canonicalize_name(name)) for name in roots} & edges.keys()
    # What no root reaches hangs from the project: first what nothing depends on, then what
    # is left (a cycle nothing enters), so a lock without roots still gives one whole graph.
    needed = {name for needs in edges.values() for name in needs}
    tops |= edges.keys() - closure(edges, tops) - needed
    tops |= edges.keys() - closure(edges, tops)
    return tuple(sorted(tops))


def _render(
    parts: Mapping[str, _Part],
    edges: Mapping[str, Sequence[str]],
    tops: Sequence[str],
    about: About,
    properties: Mapping[str, str],
) -> str:
    """The SBOM's JSON, built and serialized by cyclonedx-python-lib."""
    # Imported here: only this export format loads the library (see pyproject.toml).
    from cyclonedx.model import Property  # noqa: PLC0415
    from cyclonedx.model.bom import Bom  # noqa: PLC0415
    from cyclonedx.model.component import Component, ComponentType  # noqa: PLC0415
    from cyclonedx.output.json import JsonV1Dot6  # noqa: PLC0415

    components = {name: _component(part) for name, part in parts.items()}
    project = Component(type=ComponentType.APPLICATION, name=about.project, bom_ref=about.project)
    bom = Bom(components=components.values())
    bom.metadata.component = project
    bom.metadata.tools.components.add(
        Component(type=ComponentType.APPLICATION, name="envsync", version=__version__)
    )
    bom.metadata.properties.update(
        Property(name=name, value=value) for name, value in sorted(properties.items())
    )
    # Optional in the schema, set by the library to a random UUID and the present time: left
    # out so the same lock gives the same bytes (cyclonedx-py's --output-reproducible does so).
    bom.serial_number = None  # type: ignore[assignment] # the schema allows it absent
    bom.metadata.timestamp = about.timestamp  # type: ignore[assignment] # likewise
    bom.metadata.properties.add(Property(name="cdx:reproducible", value="true"))
    bom.register_dependency(project, [components[name] for name in tops])
    for name, needs in edges.items():
        bom.register_dependency(components[name], [components[n] for n in needs])
    return JsonV1Dot6(bom).output_as_string(indent=2) + "\n"


def _folder(part: _Part) -> str:
    how = "installed editable" if part.editable else "installed from its files"
    return f"a local folder, relative to the project ({how})"


def _component(part: _Part) -> Component:
    from cyclonedx.model import (  # noqa: PLC0415 - only this export format loads it
        ExternalReference,
        ExternalReferenceType,
        HashAlgorithm,
        HashType,
        XsUri,
    )
    from cyclonedx.model.component import Component, ComponentType  # noqa: PLC0415
    from packageurl import PackageURL  # noqa: PLC0415

    hashes = [HashType(alg=HashAlgorithm.SHA_256, content=part.sha256)] if part.sha256 else []
    if part.purl:
        kind, comment = ExternalReferenceType.DISTRIBUTION, None
    else:
        kind, comment = ExternalReferenceType.OTHER, _folder(part)
    url = XsUri(part.location)
    reference = ExternalReference(type=kind, url=url, comment=comment, hashes=hashes)
    return Component(
        type=ComponentType.LIBRARY,
        name=part.name,
        version=part.version,
        bom_ref=part.ref,
        purl=PackageURL.from_string(part.purl) if part.purl else None,
        hashes=hashes,
        external_references=[reference],
    )
