"""Unpacking a wheel into a cache entry, bounded and checked; reading and re-hashing entries. FILES.

An entry is ``<folder>/files/...`` (the wheel's files) and ``<folder>/manifest.json`` (each
file's hash, size, mode and mtime). The archive is hostile until proven otherwise: it may
expand without bound (a zip bomb), lie about its members' sizes, hold the same name twice, a
symlink, a path outside itself, or not be a zip at all. Each is refused with an InstallError
naming the wheel and the problem, before anything of it is used. The caller unpacks into a
temporary folder and removes it on failure, so nothing of a refused wheel stays.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import os
import stat
import zipfile
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from envsync.errors import EnvsyncError, InstallError, printable
from envsync.install import inflate
from envsync.system.descriptors import write_all
from envsync.system.hashing import OverLimitError, copy_hashing, sha256_of_file

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from pathlib import Path

    #: Writes one member into a file; the sha256 digest of its bytes.
    Copier = Callable[[zipfile.ZipInfo, int], bytes]

__all__ = [
    "DEFAULT_MAX_RATIO",
    "DEFAULT_MAX_UNPACKED_SIZE",
    "Limits",
    "Member",
    "Tree",
    "changed_files",
    "extract",
    "load",
]

#: Largest total size of a wheel's files once unpacked (bytes): the largest wheels published
#: (CUDA libraries) unpack to about 3 GiB.
DEFAULT_MAX_UNPACKED_SIZE = 8 << 30
#: Largest size:compressed-size ratio of one member; real files compress 2-20:1, zeros ~1000:1.
DEFAULT_MAX_RATIO = 200
#: Members smaller than this are never refused for their ratio: small files of zeros are real.
_RATIO_FLOOR = 1 << 20
_SIZE_VARIABLE = "ENVSYNC_MAX_UNPACKED_SIZE"
_RATIO_VARIABLE = "ENVSYNC_MAX_RATIO"
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_MANIFEST_FORMAT = 1
#: Members up to this size are inflated in one read (see ``_copy_member``).
_WHOLE = 1 << 20
#: What zipfile raises for a damaged member: a bad CRC, a cut-off or corrupt stream, an
#: unsupported compression method, encryption, a local header's name that is not UTF-8
#: though flagged so.
_DAMAGED = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    RuntimeError,
    UnicodeDecodeError,
)
_HINT = (
    "this file is not a usable wheel; report it to the package's authors, or lock another "
    "version (`envsync lock --upgrade-package NAME`)"
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Member:
    """One file of an unpacked wheel."""

    path: str
    """Its path inside the wheel (POSIX separators)."""
    hash: str
    """sha256 of its bytes, urlsafe base64 without padding (as RECORD writes it)."""
    size: int
    """Its size in bytes."""
    executable: bool
    """Whether the wheel marks it executable."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Tree:
    """A wheel unpacked in the cache, ready to be linked from."""

    wheel: str
    """The wheel's file name."""
    root: Path
    """The folder holding the wheel's files."""
    dist_info: str
    """Name of the wheel's ``.dist-info`` folder."""
    members: tuple[Member, ...]
    """Every file, in the wheel's order."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Limits:
    """How far one wheel may expand when unpacked."""

    max_size: int = DEFAULT_MAX_UNPACKED_SIZE
    """Total bytes of all its files (``ENVSYNC_MAX_UNPACKED_SIZE``)."""
    max_ratio: float = DEFAULT_MAX_RATIO
    """Size:compressed size of one member of at least 1 MiB (``ENVSYNC_MAX_RATIO``)."""

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Limits:
        """The limits, as the two variables set them (the defaults where unset)."""
        size, ratio = environ.get(_SIZE_VARIABLE, ""), environ.get(_RATIO_VARIABLE, "")
        return cls(
            max_size=_parse_size(size) if size.strip() else DEFAULT_MAX_UNPACKED_SIZE,
            max_ratio=_parse_ratio(ratio) if ratio.strip() else DEFAULT_MAX_RATIO,
        )


def _parse_size(text: str) -> int:
    """``4294967296``, ``512M``, ``4G`` or ``4GiB``: a positive number of bytes."""
    raw = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = raw[-1:] if raw[-1:] in _UNITS else ""
    try:
        value = int(float(raw.removesuffix(unit)) * _UNITS[unit]) if raw else 0
    except ValueError:
        value = 0
    if value <= 0:
        raise _bad_variable(_SIZE_VARIABLE, text, "a size in bytes such as 8G or 500M")
    return value


def _parse_ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value >= 1:  # also refuses NaN
        raise _bad_variable(_RATIO_VARIABLE, text, "a number of at least 1, such as 200")
    return value


def _shown(text: str) -> str:
    """*text* escaped to sit inside one line of a message (a name from the archive)."""
    return printable(text, one_line=True)


def _bad_variable(name: str, found: str, expected: str) -> EnvsyncError:
    return EnvsyncError(
        f"{name} must be {expected}, found {_shown(found)!r}",
        hint=f"fix or unset {name}",
    )


# -- unpacking --------------------------------------------------------------------------------


def extract(wheel: Path, folder: Path, limits: Limits) -> None:
    """Unpack *wheel* into ``folder/files`` and write the manifest that vouches for it."""
    try:
        archive = zipfile.ZipFile(wheel)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _refused(wheel, f"is not a zip archive ({_shown(str(exc))})") from exc
    inflater = inflate.load()
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        _check_members(wheel, members, limits)
        dist_info = _dist_info(wheel, archive)
        _check_record(wheel, archive, f"{dist_info}/RECORD")
        source = os.open(wheel, os.O_RDONLY)
        try:
            ends = inflate.data_ends(archive)

            def copy(info: zipfile.ZipInfo, out: int) -> bytes:
                if inflater is not None and info.compress_type == zipfile.ZIP_DEFLATED:
                    return inflater.copy(source, info, ends[info], out)
                return _copy_member(archive, info, out)

            files, made = os.fspath(folder / "files"), set[str]()
            entries = [
                _extract_member(wheel, copy, info, files, made)
                for info in members
                if "__pycache__" not in info.filename.split("/")[:-1]  # installers skip these
            ]
        finally:
            os.close(source)
    manifest = {"format": _MANIFEST_FORMAT, "wheel": wheel.name, "dist_info": dist_info}
    manifest["files"] = entries
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")


def _refused(wheel: Path, problem: str) -> InstallError:
    return InstallError(f"cannot unpack {_shown(wheel.name)}: it {problem}", hint=_HINT)


def _check_members(wheel: Path, members: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Refuse unsafe names, duplicates, symlinks and sizes beyond *limits* before unpacking.

    On strings, not pathlib: this reads every name of every wheel a cold sync unpacks, and
    pathlib's parsing was a tenth of the unpacking's CPU.
    """
    # Each name as a path reads it: "pkg//a.py" and "./pkg/a.py" are one file, "pkg/a.py".
    names: dict[str, list[str]] = {}
    for info in members:
        name = info.filename
        parts = _parts(name)
        if _unsafe(name, parts):
            raise _refused(wheel, f"holds a file outside its own folder: {name!r}")
        path = "/".join(parts)
        if path in names:
            raise _refused(wheel, f"holds the member {path!r} twice")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise _refused(wheel, f"holds a symbolic link, {name!r} (wheels hold files only)")
        names[path] = parts
    for parts in names.values():
        if clash := _clash(parts, names):
            raise _refused(wheel, f"holds {clash!r} both as a file and as a folder")
    _check_sizes(wheel, members, limits)


def _parts(name: str) -> list[str]:
    """*name*'s parts as a POSIX path reads them: empty and ``.`` parts dropped."""
    return [part for part in name.split("/") if part and part != "."]


def _clash(parts: list[str], names: Mapping[str, object]) -> str | None:
    """The nearest folder of the member whose *parts* these are that is a member too."""
    for end in range(len(parts) - 1, 0, -1):
        folder = "/".join(parts[:end])
        if folder in names:
            return folder
    return None


def _check_sizes(wheel: Path, members: list[zipfile.ZipInfo], limits: Limits) -> None:
    """The sizes the archive declares, against the limits (what it really holds is counted too)."""
    total = sum(info.file_size for info in members)
    if total > limits.max_size:
        raise _too_big(wheel, f"would unpack to {total} bytes", limits)
    for info in members:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= _RATIO_FLOOR and ratio > limits.max_ratio:
            raise InstallError(
                f"cannot unpack {_shown(wheel.name)}: its member {info.filename!r} expands "
                f"{ratio:.0f}:1 ({info.compress_size} to {info.file_size} bytes), beyond "
                f"the limit of {limits.max_ratio:g}:1 (a zip bomb?)",
                hint=f"if you trust this wheel, raise the limit: {_RATIO_VARIABLE}="
                f"{int(ratio) + 1} envsync apply",
            )


def _too_big(wheel: Path, what: str, limits: Limits) -> InstallError:
    return InstallError(
        f"cannot unpack {_shown(wheel.name)}: it {what}, more than the limit of "
        f"{limits.max_size} bytes (a zip bomb?)",
        hint=f"if you trust this wheel, raise the limit: {_SIZE_VARIABLE}=16G envsync apply",
    )


def _dist_info(wheel: Path, archive: zipfile.ZipFile) -> str:
    """The one ``.dist-info`` folder, named after the wheel (installer's rules)."""
    from installer.exceptions import InstallerError  # noqa: PLC0415 - only when unpacking
    from installer.sources import WheelFile  # noqa: PLC0415

    try:
        return WheelFile(archive).dist_info_dir
    except (InstallerError, ValueError) as exc:
        raise _refused(wheel, f"has no usable .dist-info folder: {_shown(str(exc))}") from exc


def _unsafe(name: str, parts: list[str]) -> bool:
    """An absolute path, a drive, a backslash or a ``..`` part: it could leave the venv.

    *parts* are *name*'s (``_parts``).
    """
    return not parts or name.startswith("/") or ".." in parts or "\\" in name or ":" in parts[0]


def _check_record(wheel: Path, archive: zipfile.ZipFile, record: str) -> None:
    """Refuse a wheel whose RECORD names a path outside it: no installer should trust one."""
    try:
        text = archive.read(record).decode("utf-8")
    except (KeyError, *_DAMAGED) as exc:
        raise _refused(wheel, f"has no readable {record!r}: {_shown(str(exc))}") from exc
    for row in csv.reader(text.splitlines()):
        if row and row[0] and _unsafe(row[0], _parts(row[0])):
            where = f"cannot unpack {_shown(wheel.name)}: its RECORD"
            msg = f"{where} names a file outside the wheel: {row[0]!r}"
            raise InstallError(msg, hint="do not install this wheel; report it to its authors")


def _extract_member(
    wheel: Path, copy: Copier, info: zipfile.ZipInfo, files: str, made: set[str]
) -> list[object]:
    """Write one member, hashing it; its manifest row ``[path, hash, size, exec, mode, mtime]``.

    No more than its declared size is read: the declared sizes are what the limits checked.
    This runs for every file of every wheel a cold sync unpacks, so it works on strings, makes
    each folder once (*made*) and asks the written file, not its path, for its stat.
    """
    mode = info.external_attr >> 16
    executable = bool(mode and stat.S_ISREG(mode) and mode & 0o111)
    target = os.path.join(files, info.filename)  # noqa: PTH118 - strings: see above
    parent = os.path.dirname(target)  # noqa: PTH120
    if parent not in made:
        os.makedirs(parent, exist_ok=True)  # noqa: PTH103
        made.add(parent)
    handle = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o777 if executable else 0o666)
    try:
        digest = copy(info, handle)
        found = os.fstat(handle)  # its mtime is final: nothing more is written to it
    except _DAMAGED as exc:
        problem = f"is damaged: reading {info.filename!r} failed ({_shown(str(exc))})"
        raise _refused(wheel, problem) from exc
    except OverLimitError as exc:
        problem = f"lies about the size of {info.filename!r} (declares {info.file_size} bytes)"
        raise _refused(wheel, problem) from exc
    finally:
        os.close(handle)
    return [
        info.filename,
        _record_hash(digest),
        found.st_size,
        executable,
        found.st_mode,
        found.st_mtime_ns,
    ]


def _copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, out: int) -> bytes:
    """Inflate *info* into the file descriptor *out* through zipfile; its sha256 digest.

    A member up to ``_WHOLE`` bytes (nearly all of them) is read in one call, sparing
    zipfile's reads chunk by chunk; zipfile still stops at its declared size and checks its
    CRC. Larger ones stream, never holding more than a chunk.
    """
    if info.file_size > _WHOLE:
        with archive.open(info) as source, open(out, "wb", closefd=False) as sink:
            return copy_hashing(source, sink, limit=info.file_size)[0].digest()
    data = archive.read(info)
    if len(data) > info.file_size:
        raise OverLimitError
    write_all(out, data)
    return hashlib.sha256(data).digest()


# -- reading an entry -------------------------------------------------------------------------


def load(folder: Path) -> Tree | None:
    """The tree in *folder* if its manifest is readable and every file is as it recorded."""
    try:
        data = json.loads((folder / "manifest.json").read_text("utf-8"))
        if data["format"] != _MANIFEST_FORMAT:
            return None
        root = folder / "files"
        rows = [tuple(row) for row in data["files"]]
        if not _all_unchanged(os.fspath(root), rows):
            return None
        members = tuple(
            Member(path=path, hash=digest, size=size, executable=executable)
            for path, digest, size, executable, *_ in rows
        )
        return Tree(wheel=data["wheel"], root=root, dist_info=data["dist_info"], members=members)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _all_unchanged(root: str, rows: Iterable[tuple[object, ...]]) -> bool:
    """Whether every file still has the size, mode and mtime its manifest row recorded.

    The cached files are hard-linked into venvs, so an edit made in a venv lands here too:
    such a tree must not be linked again. One lstat per file, on strings (this runs for
    every file of every wheel installed). A manifest naming a path that leaves the entry
    (it was checked when written, so someone edited it) does not vouch for anything.
    """
    for row in rows:
        path = str(row[0])
        if path.startswith("/") or "\\" in path or "/../" in f"/{path}/":
            return False
        try:
            found = os.lstat(os.path.join(root, path))  # noqa: PTH118
        except OSError:
            return False
        if (found.st_size, found.st_mode, found.st_mtime_ns) != (row[2], row[4], row[5]):
            return False
    return True


def changed_files(tree: Tree) -> list[str]:
    """The files of *tree* whose bytes no longer hash to what its manifest recorded.

    What ``load`` cannot see: a file changed in place with its size and mtime kept (bit rot,
    or an edit that restored the mtime). Reads every byte, so only ``--verify`` asks.
    """
    changed = []
    for member in tree.members:
        try:
            found = _file_hash(tree.root / member.path)
        except OSError:
            found = ""
        if found != member.hash:
            changed.append(member.path)
    return changed


def _file_hash(path: Path) -> str:
    """The sha256 of the file at *path*, as RECORD and the manifest write it."""
    return _record_hash(sha256_of_file(path).digest())


def _record_hash(digest: bytes) -> str:
    """A sha256 digest as RECORD writes it: urlsafe base64 without padding."""
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
