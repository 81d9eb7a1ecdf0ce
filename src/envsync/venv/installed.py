"""The distributions a venv holds, read from its ``*.dist-info`` folders on the host.

Read-only, and nothing is imported into the venv: METADATA's headers, INSTALLER and
``direct_url.json`` (PEP 610) are all a plan needs. A broken dist-info folder is skipped with
a warning rather than failing the whole read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
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
#: A dist-info's files as read: their identity, what they said (None: unusable), and a
#: digest of their bytes while they were too new for their identity to vouch for them.
Read = tuple[Identity, "InstalledDist | None", str | None]
#: How long a file must have been left alone before its identity vouches for its bytes.
#: File times come from a coarse clock (a few ms; 2 s on FAT): a file written again within
#: that tick, at the same size and inode, keeps its identity. Git calls such a file "racy".
SETTLED_NS = 2_000_000_000


def read_installed(info: VenvInfo, *, prober: Prober | None = None) -> tuple[InstalledDist, ...]:
    """Every distribution in the venv's site-packages, sorted by name (then version).

    Broken ``*.dist-info`` folders (no METADATA, no valid name or version) are skipped with
    a warning rather than failing the whole read. What was read is kept across runs too
    (``_Kept``): a venv of 360 distributions takes 100-140 ms to parse, and a dist-info
    whose files kept their identity says what it said then.
    """
    prober = prober or Prober()
    memory = prober.dists
    kept = _Kept(info, prober.kept_dists)
    found = [_read_dist(folder, memory, kept) for folder in dist_infos(info)]
    kept.save()
    dists = [d for d in found if d is not None]
    return tuple(sorted(dists, key=lambda d: (d.name, d.version)))


class _Kept:
    """The dist-infos of one venv as an earlier run read them: the probe cache's ``dists``.

    Keyed by folder name, each with the identity (device, inode, size, mtime, ctime) of its
    three files when read: a later write changes its ctime, so a match is the same bytes,
    once the files have settled (``SETTLED_NS``). A read of files written just before (apply
    reads what it just installed) keeps a digest of their bytes too, which the next run
    checks instead. Only clean reads are kept, so a broken dist-info warns on every run.
    """

    def __init__(self, info: VenvInfo, run: dict[tuple[object, ...], dict[str, Any]]) -> None:
        self._where = (info.python, os.fspath(info.purelib), os.fspath(info.platlib))
        self._run = run  # what this run loaded or stored: read from the cache once
        if self._where not in run:
            found = probecache.load("dists", self._where[0], *self._where[1:])
            run[self._where] = found if isinstance(found, dict) else {}
        self._before: dict[str, Any] = run[self._where]
        self._now: dict[str, Any] = {}

    def get(self, folder: Path, files: list[Path], key: Identity) -> Read | None:
        """What an earlier run read from *folder*, if its files still say the same."""
        entry = self._before.get(folder.name)
        if not isinstance(entry, list) or len(entry) != 3 or entry[0] != list(key):  # noqa: PLR2004
            return None
        digest = entry[2]
        if digest is not None and digest != _digest(files):  # written again in the same tick
            return None
        try:
            dist = _from_row(entry[1])
        except (TypeError, ValueError, KeyError, InvalidVersion):
            return None
        return key, dist, digest if _racy(key) else None

    def put(self, folder: Path, read: Read) -> None:
        """Keep *read* from *folder*, when it was clean."""
        key, dist, digest = read
        broken_url = dist is not None and dist.direct_url is None and key[2] is not None
        if dist is not None and not broken_url:  # a direct_url.json that did not parse warns
            self._now[folder.name] = [list(key), _row(dist), digest]

    def save(self) -> None:
        """Store what this run read, when it differs from what was kept."""
        if self._now != self._before:
            probecache.store("dists", self._where[0], self._now, *self._where[1:])
            self._run[self._where] = self._now


def _racy(key: Identity) -> bool:
    """Whether a file of *key* changed too recently for its identity to vouch for its bytes."""
    settled = _now_ns() - SETTLED_NS
    return any(found is not None and found[4] >= settled for found in key)


def _now_ns() -> int:
    """The wall clock, which file times follow."""
    return time.time_ns()


def _digest(files: list[Path]) -> str:
    """A hash of the bytes of *files*, a missing one counted as such."""
    digest = hashlib.sha256()
    for data in map(_bytes, files):
        digest.update(b"-" if data is None else b"%d:" % len(data) + data)
    return digest.hexdigest()


def _bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _row(dist: InstalledDist) -> list[object]:
    url = dist.direct_url
    where = None if url is None else [url.url, url.sha256, url.is_dir, url.editable, url.commit_id]
    return [dist.name, str(dist.version), dist.installer, where]


def _from_row(row: list[Any]) -> InstalledDist:
    name, version, installer, where = row
    url = None
    if where is not None:
        text, sha256, is_dir, editable, commit = where
        url = DirectUrl(url=text, sha256=sha256, is_dir=is_dir, editable=editable, commit_id=commit)
    return InstalledDist(
        name=canonicalize_name(name), version=Version(version), installer=installer, direct_url=url
    )


def dist_infos(info: VenvInfo) -> Iterator[Path]:
    """``*.dist-info`` folders of purelib and platlib, each folder once."""
    libs = dict.fromkeys(p.resolve() for p in (info.purelib, info.platlib))
    for lib in libs:
        if lib.is_dir():
            yield from sorted(p for p in lib.glob("*.dist-info") if p.is_dir())


def _read_dist(folder: Path, memory: dict[Path, Read], kept: _Kept) -> InstalledDist | None:
    """One dist-info folder, or None (with a warning) when it is unusable.

    Remembered for the rest of the run while its files are unchanged: apply reads the venv
    again after installing, and only what it installed needs parsing then. Across runs,
    *kept* answers for the folders whose files an earlier run read.
    """
    files = [folder / name for name in ("METADATA", "INSTALLER", "direct_url.json")]
    key = tuple(probecache.identity(path) for path in files)
    found = memory.get(folder)
    if found is None or found[0] != key:
        found = kept.get(folder, files, key)
    if found is None:
        # The digest before the parse: bytes written between the two then fail the check.
        digest = _digest(files) if _racy(key) else None
        found = (key, _parse_dist(folder), digest)
    kept.put(folder, found)
    memory[folder] = found
    return found[1]


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
