"""Deflated wheel members read and inflated outside zipfile, by zlib-ng where installed. INSTALL.

Inflating is the largest share of a cold sync's CPU: 0.45 s of the 1.6 s the benchmark's
medium set takes, with the zlib CPython links. zlib-ng (the ``zlib-ng`` package, pycompression's
binding of the zlib-ng library) inflates the same streams 2.7x faster, and its crc32 5x.
zipfile cannot be handed another inflater, so for a deflated member this module checks the
member's local header as ``ZipFile.open`` does (by hand: zipfile's machinery for it was a
tenth of the unpacking's CPU), then reads the raw stream after that header and inflates it:
never more than the size the central directory declares (the limits were checked against
it), never past where the next member begins (as zipfile does from Python 3.12, against
overlapping members, a zip bomb's trick), and the CRC-32 checked. Reads and writes are
``pread`` and ``write`` on file descriptors: no file objects per member. Where zlib-ng has
no wheel (see pyproject.toml), ``load`` gives None and the caller reads through zipfile.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zipfile
from typing import TYPE_CHECKING, Protocol

from envsync.system.descriptors import write_all
from envsync.system.hashing import OverLimitError

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["Inflater", "data_ends", "load"]

#: A local file header (zipfile's ``structFileHeader``): signature, versions, flags, method,
#: time, date, CRC, sizes, then the lengths of the name and the extra field that follow it.
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_SIGNATURE = b"PK\x03\x04"
#: General purpose flags (APPNOTE 4.4.4), as zipfile names them.
_ENCRYPTED = 1 << 0
_COMPRESSED_PATCH = 1 << 5
_STRONG_ENCRYPTION = 1 << 6
_UTF8_NAME = 1 << 11
#: Compressed bytes read at a time: a member is never held whole, however large.
_CHUNK = 1 << 20


class _Decompress(Protocol):
    unconsumed_tail: bytes

    def decompress(self, data: bytes, max_length: int = ..., /) -> bytes: ...


def data_ends(archive: zipfile.ZipFile) -> dict[zipfile.ZipInfo, int]:
    """Where each member's data must end: at the next local header, or the central directory.

    Computed as zipfile computes it from Python 3.12 (``_end_offset``), once per archive.
    """
    ends, end = {}, archive.start_dir
    for info in sorted(archive.infolist(), key=lambda i: i.header_offset, reverse=True):
        ends[info] = end
        end = info.header_offset
    return ends


class Inflater:
    """Inflates deflated zip members with one zlib-compatible module (zlib-ng's)."""

    __slots__ = ("_zlib",)

    def __init__(self, module: ModuleType) -> None:
        self._zlib = module

    def copy(self, source: int, info: zipfile.ZipInfo, end: int, out: int) -> bytes:
        """Inflate the deflated member *info*, from the archive open as *source*, into *out*.

        *end* is where its data must end (``data_ends``). The sha256 digest of its bytes.
        Raises what zipfile raises for a damaged member (BadZipFile, EOFError, and
        NotImplementedError or RuntimeError for features wheels do not use), and
        OverLimitError when it holds more than it declares.
        """
        start = _data_start(source, info)
        if start + info.compress_size > end:
            raise zipfile.BadZipFile(f"Overlapped entries: {info.orig_filename!r} (a zip bomb?)")
        try:
            return self._inflate(source, start, info, out)
        except self._zlib.error as exc:
            raise zipfile.BadZipFile(f"its deflate stream is damaged ({exc})") from exc

    def _inflate(self, source: int, at: int, info: zipfile.ZipInfo, out: int) -> bytes:
        stream: _Decompress = self._zlib.decompressobj(-15)  # a raw deflate stream, as in zips
        digest, crc, size, left = hashlib.sha256(), 0, 0, info.compress_size
        while left > 0:
            chunk = os.pread(source, min(left, _CHUNK), at)
            if not chunk:
                raise EOFError(f"{info.filename!r} is cut short")
            left -= len(chunk)
            at += len(chunk)
            while chunk:
                data = stream.decompress(chunk, info.file_size - size + 1)
                size += len(data)
                if size > info.file_size:
                    raise OverLimitError
                crc = self._zlib.crc32(data, crc)
                digest.update(data)
                write_all(out, data)
                chunk = stream.unconsumed_tail
        if size != info.file_size:
            declared = f"{size} bytes, not the {info.file_size} it declares"
            raise zipfile.BadZipFile(f"{info.filename!r} inflates to {declared}")
        if crc != info.CRC:
            raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")
        return digest.digest()


def _data_start(source: int, info: zipfile.ZipInfo) -> int:
    """Where *info*'s data begins, its local header checked as ``ZipFile.open`` checks it."""
    header = os.pread(source, _LOCAL.size, info.header_offset)
    if len(header) != _LOCAL.size:
        raise zipfile.BadZipFile("Truncated file header")
    signature, _, _, flags, *_, name_length, extra_length = _LOCAL.unpack(header)
    if signature != _SIGNATURE:
        raise zipfile.BadZipFile("Bad magic number for file header")
    if info.flag_bits & _COMPRESSED_PATCH:
        raise NotImplementedError("compressed patched data (flag bit 5)")
    if info.flag_bits & _STRONG_ENCRYPTION:
        raise NotImplementedError("strong encryption (flag bit 6)")
    name = os.pread(source, name_length, info.header_offset + _LOCAL.size)
    try:
        text = name.decode("utf-8" if flags & _UTF8_NAME else "cp437")
    except UnicodeDecodeError:
        text = None
    if text != info.orig_filename:
        differ = f"File name in directory {info.orig_filename!r} and header {name!r} differ."
        raise zipfile.BadZipFile(differ)
    if info.flag_bits & _ENCRYPTED:
        raise RuntimeError(f"File {info.orig_filename!r} is encrypted")
    return info.header_offset + _LOCAL.size + int(name_length) + int(extra_length)


def load() -> Inflater | None:
    """zlib-ng's inflater, or None where zlib-ng is not installed (zipfile's zlib then)."""
    try:
        from zlib_ng import zlib_ng  # noqa: PLC0415 - only where wheels are unpacked
    except ImportError:
        return None
    return Inflater(zlib_ng)
