"""The distributions a venv holds, read from its ``*.dist-info`` folders on the host.

Read-only, and nothing is imported into the venv: METADATA's headers, INSTALLER and
``direct_url.json`` (PEP 610) are all a plan needs. A broken dist-info folder is skipped with
a warning rather than failing the whole read.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from packaging.metadata import parse_email
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envsync.core.lockfile import strip_credentials
from envsync.core.planner import DirectUrl, InstalledDist
from envsync.venv import probecache
from envsync.venv.prober import Prober

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from envsync._types import NormalizedName
    from envsync.venv.environment import VenvInfo

__all__ = ["dist_infos", "own_requirements", "read_installed"]

_LOG = logging.getLogger("envsync.venv.environment")
#: The identity of a dist-info's files when it was read (see ``probecache.identity``).
Identity = tuple[list[int] | None, ...]


def read_installed(info: VenvInfo, *, prober: Prober | None = None) -> tuple[InstalledDist, ...]:
    """Every distribution in the venv's site-packages, sorted by name (then version).

    Broken ``*.dist-info`` folders (no METADATA, no valid name or version) are skipped with
    a warning rather than failing the whole read.
    """
    memory = (prober or Prober()).dists
    dists = [d for folder in dist_infos(info) if (d := _read_dist(folder, memory)) is not None]
    return tuple(sorted(dists, key=lambda d: (d.name, d.version)))


def dist_infos(info: VenvInfo) -> Iterator[Path]:
    """``*.dist-info`` folders of purelib and platlib, each folder once."""
    libs = dict.fromkeys(p.resolve() for p in (info.purelib, info.platlib))
    for lib in libs:
        if lib.is_dir():
            yield from sorted(p for p in lib.glob("*.dist-info") if p.is_dir())


def _read_dist(
    folder: Path, memory: dict[Path, tuple[Identity, InstalledDist | None]]
) -> InstalledDist | None:
    """One dist-info folder, or None (with a warning) when it is unusable.

    Remembered for the rest of the run while its files are unchanged: apply reads the venv
    again after installing, and only what it installed needs parsing then.
    """
    files = [folder / name for name in ("METADATA", "INSTALLER", "direct_url.json")]
    key = tuple(probecache.identity(path) for path in files)
    known = memory.get(folder)
    if known is not None and known[0] == key:
        return known[1]
    dist = _parse_dist(folder)
    memory[folder] = (key, dist)
    return dist


def _parse_dist(folder: Path) -> InstalledDist | None:
    try:
        name, version = _name_and_version(folder / "METADATA")
    except (OSError, KeyError, ValueError, InvalidVersion) as exc:
        _LOG.warning("skipping %s: unreadable METADATA (%s)", folder, exc)
        return None
    return InstalledDist(
        name=canonicalize_name(name),
        version=version,
        installer=_read_installer(folder / "INSTALLER"),
        direct_url=_read_direct_url(folder / "direct_url.json"),
    )


def _name_and_version(path: Path) -> tuple[str, Version]:
    """Name and version from a METADATA file's headers (the body is not needed)."""
    headers = path.read_bytes().replace(b"\r\n", b"\n").partition(b"\n\n")[0]
    raw, _ = parse_email(headers + b"\n")
    name, version = raw.get("name"), raw.get("version")
    if not name or not version:
        raise KeyError("Name" if not name else "Version")
    return name, Version(version)


def _read_installer(path: Path) -> str | None:
    """Read the INSTALLER file's first line, if present."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    return text.splitlines()[0].strip() if text else None


def _read_direct_url(path: Path) -> DirectUrl | None:
    """PEP 610 direct_url.json, if present and well-formed."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        _LOG.warning("ignoring %s: %s", path, exc)
        return None
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        _LOG.warning("ignoring %s: no url", path)
        return None
    return _direct_url(data)


def _direct_url(data: dict[str, Any]) -> DirectUrl:
    """DirectUrl from decoded PEP 610 data."""
    archive = data.get("archive_info")
    dir_info = data.get("dir_info")
    vcs_info = data.get("vcs_info")
    commit = vcs_info.get("commit_id") if isinstance(vcs_info, dict) else None
    return DirectUrl(
        url=strip_credentials(data["url"]),
        sha256=_archive_sha256(archive) if isinstance(archive, dict) else None,
        is_dir=isinstance(dir_info, dict),
        editable=isinstance(dir_info, dict) and dir_info.get("editable") is True,
        commit_id=commit if isinstance(commit, str) else None,
    )


def _archive_sha256(archive: dict[str, Any]) -> str | None:
    """``hashes.sha256``, else the legacy ``hash = "sha256=..."`` form."""
    hashes = archive.get("hashes")
    if isinstance(hashes, dict) and isinstance(hashes.get("sha256"), str):
        return str(hashes["sha256"]).lower()
    legacy = archive.get("hash")
    if isinstance(legacy, str) and legacy.startswith("sha256="):
        return legacy.removeprefix("sha256=").lower()
    return None


def own_requirements() -> set[NormalizedName]:
    """Envsync and everything it needs at run time, from its installed metadata."""
    import importlib.metadata  # noqa: PLC0415 - only when the venv is envsync's own

    seen: set[NormalizedName] = set()
    todo = ["envsync"]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for line in requires:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen
