"""Deflated wheel members inflated by zlib-ng, where it is installed. INSTALL.

Inflating is the largest share of a cold sync's CPU: 0.45 s of the 1.6 s the benchmark's
medium set takes, with the zlib CPython links. zlib-ng (the ``zlib-ng`` package, pycompression's
binding of the zlib-ng library) inflates the same streams 2.7x faster, and its crc32 5x.
zipfile cannot be handed another inflater, so for a deflated member this module lets
zipfile check the member's local header (``ZipFile.open``, whose stream it does not read),
then reads the raw stream after that header and inflates it: never more than the size the
central directory declares (the limits were checked against it), and the CRC-32 checked,
as zipfile does. Where zlib-ng has no wheel (see pyproject.toml), ``load`` gives None and
the caller reads through zipfile as before.
"""

from __future__ import annotations

import hashlib
import struct
import zipfile
from typing import IO, TYPE_CHECKING, Protocol

from envsync.system.hashing import OverLimitError

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["Inflater", "load"]

#: A local file header is 30 bytes; its name and extra-field lengths are its last four.
_HEADER = 30
_LENGTHS = struct.Struct("<HH")
#: Compressed bytes read at a time: a member is never held whole, however large.
_CHUNK = 1 << 20


class _Decompress(Protocol):
    unconsumed_tail: bytes

    def decompress(self, data: bytes, max_length: int = ..., /) -> bytes: ...


class Inflater:
    """Inflates deflated zip members with one zlib-compatible module (zlib-ng's)."""

    __slots__ = ("_zlib",)

    def __init__(self, module: ModuleType) -> None:
        self._zlib = module

    def copy(
        self, archive: zipfile.ZipFile, raw: IO[bytes], info: zipfile.ZipInfo, out: IO[bytes]
    ) -> bytes:
        """Inflate the deflated member *info* of *archive* (open as *raw* too) into *out*.

        The sha256 digest of its bytes. Raises what zipfile raises for a damaged member
        (BadZipFile, EOFError), and OverLimitError when it holds more than it declares.
        """
        with archive.open(info):
            pass  # zipfile checks the local header, its name and flags
        raw.seek(info.header_offset + _HEADER - _LENGTHS.size)
        name, extra = _LENGTHS.unpack(raw.read(_LENGTHS.size))
        raw.seek(info.header_offset + _HEADER + name + extra)
        try:
            return self._inflate(raw, info, out)
        except self._zlib.error as exc:
            raise zipfile.BadZipFile(f"its deflate stream is damaged ({exc})") from exc

    def _inflate(self, raw: IO[bytes], info: zipfile.ZipInfo, out: IO[bytes]) -> bytes:
        stream: _Decompress = self._zlib.decompressobj(-15)  # a raw deflate stream, as in zips
        digest, crc, size, left = hashlib.sha256(), 0, 0, info.compress_size
        while left > 0:
            chunk = raw.read(min(left, _CHUNK))
            if not chunk:
                raise EOFError(f"{info.filename!r} is cut short")
            left -= len(chunk)
            while chunk:
                data = stream.decompress(chunk, info.file_size - size + 1)
                size += len(data)
                if size > info.file_size:
                    raise OverLimitError
                crc = self._zlib.crc32(data, crc)
                digest.update(data)
                out.write(data)
                chunk = stream.unconsumed_tail
        if size != info.file_size:
            declared = f"{size} bytes, not the {info.file_size} it declares"
            raise zipfile.BadZipFile(f"{info.filename!r} inflates to {declared}")
        if crc != info.CRC:
            raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")
        return digest.digest()


def load() -> Inflater | None:
    """zlib-ng's inflater, or None where zlib-ng is not installed (zipfile's zlib then)."""
    try:
        from zlib_ng import zlib_ng  # noqa: PLC0415 - only where wheels are unpacked
    except ImportError:
        return None
    return Inflater(zlib_ng)
