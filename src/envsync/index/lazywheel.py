"""A wheel's METADATA read out of the wheel itself through HTTP Range requests. NETWORK.

Some mirrors serve no ``<wheel url>.metadata`` file (PEP 658). The METADATA is still inside
the wheel, and a zip keeps its table of contents at the end: a few ranges of the file (its
tail, then the member's own bytes) are enough, as pip's ``fast-deps`` reads them
(``LazyZipOverHTTP``). A server that does not answer a range with 206 and a Content-Range
is left at once, its answer unread: a whole wheel is never downloaded for this.
"""

from __future__ import annotations

import http.client
import io
import logging
import re
import urllib.error
import zipfile
import zlib
from typing import TYPE_CHECKING

from envsync.errors import IndexUnreachableError
from envsync.index import retry, simpleapi
from envsync.index.connections import opener
from envsync.system.process import redact

if TYPE_CHECKING:
    import urllib.request

    from envsync.index.connections import Connections, Open
    from envsync.index.credentials import Login

__all__ = ["wheel_metadata"]

_LOG = logging.getLogger("envsync.index.lazywheel")
_PARTIAL = 206
#: Bytes asked for at a time: the tail holds the zip's table of contents, a later chunk
#: the METADATA member (a few kilobytes, compressed).
_CHUNK = 64 * 1024
#: What one wheel may cost before envsync gives up on its texts.
_MAX_REQUESTS = 8
_MAX_BYTES = 1024 * 1024
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
#: Everything that can go wrong, from the network to a broken zip: each only costs the texts.
_FAILURES = (
    OSError,  # urllib's errors too
    http.client.HTTPException,
    IndexUnreachableError,
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,  # a compression zipfile cannot read
    ValueError,
)


class _RefusedError(ValueError):
    """The server or the file is not one to read this way (the text says why)."""


def wheel_metadata(
    url: str, login: Login | None = None, connections: Connections | None = None
) -> bytes | None:
    """The ``*.dist-info/METADATA`` inside the wheel at *url*, read in a few HTTP ranges.

    Unverified: nothing vouches for these bytes (no sha256 covers a part of a wheel), so,
    as for a metadata file the page did not offer, they serve only what is informational
    (the texts ``envsync why`` shows, never what is installed). None, with a debug log
    line, for anything but an http(s) URL and on any failure: a server without ranges, an
    HTTP or network error, a broken zip, no METADATA, more than a few requests or bytes.
    """
    if not url.startswith(("https:", "http:")):
        return None
    try:
        with zipfile.ZipFile(_RangeFile(url, login, connections)) as wheel:
            return _read_metadata(wheel)
    except _FAILURES as exc:
        _LOG.debug("%s: no METADATA read from the wheel's ranges (%s)", redact(url), exc)
        return None


def _read_metadata(wheel: zipfile.ZipFile) -> bytes:
    """The one top-level ``*.dist-info/METADATA`` member, if it is not too large."""
    names = [n for n in wheel.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
    if len(names) != 1:
        raise _RefusedError(f"{len(names)} .dist-info/METADATA files in the wheel, not one")
    if wheel.getinfo(names[0]).file_size > _MAX_BYTES:  # a small file inflated huge
        raise _RefusedError("its METADATA is too large")
    return wheel.read(names[0])


class _RangeFile:
    """The file at a URL as a seekable file for ``zipfile``, fetched in ranges as it is read.

    Its first request is for the tail (``bytes=-N``): the answer's Content-Range gives the
    length, and the zip's table of contents is in it. Every range read is kept, so
    ``zipfile`` seeking about costs no second request for the same bytes.
    """

    def __init__(self, url: str, login: Login | None, connections: Connections | None) -> None:
        self._url = url
        self._login = login
        self._open = opener(connections)
        self._requests = 0
        self._received = 0
        self._kept: list[tuple[int, bytes]] = []  # (offset, bytes) of each range read
        self._pos = 0
        start, data, self._length = self._fetch(f"-{_CHUNK}", _CHUNK)
        self._kept.append((start, data))

    def seekable(self) -> bool:
        """Always: that is the point."""
        return True

    def tell(self) -> int:
        """The position."""
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move the position, as files do (past the end reads nothing)."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        if base + offset < 0:  # zipfile looks for its end record so in a tiny file
            raise OSError("a seek before the start of the file")
        self._pos = base + offset
        return self._pos

    def read(self, size: int = -1) -> bytes:
        """Up to *size* bytes from the position (all the rest if negative)."""
        start = min(self._pos, self._length)
        end = self._length if size < 0 else min(start + size, self._length)
        self._pos = max(self._pos, end)
        # Nothing left to read is found in the tail, which runs to the end.
        return self._bytes(start, end)

    def _bytes(self, start: int, end: int) -> bytes:
        """The bytes from *start* to *end*: kept from an earlier range, or fetched now."""
        for offset, data in self._kept:
            if offset <= start and end <= offset + len(data):
                return data[start - offset : end - offset]
        # A chunk at least, so that the member's header and its data come in one request.
        last = min(max(end, start + _CHUNK), self._length) - 1
        self._kept.append(self._fetch(f"{start}-{last}", last - start + 1)[:2])
        # Found now, unless the server sent another range: then asked again, up to the limit.
        return self._bytes(start, end)

    def _fetch(self, ranged: str, size: int) -> tuple[int, bytes, int]:
        """One range (``a-b`` or ``-n``, *size* bytes at most): start, bytes, whole length."""
        if self._requests >= _MAX_REQUESTS or self._received + size > _MAX_BYTES:
            raise _RefusedError(f"more than {_MAX_REQUESTS} requests or {_MAX_BYTES} bytes")
        self._requests += 1
        self._received += size
        request = simpleapi.build_request(self._url, login=self._login)
        request.add_header("Range", f"bytes={ranged}")
        return retry.call(
            lambda timeout: _range_once(self._open, request, size, timeout),
            url=self._url,
            doing="cannot read a range of",
        )


def _range_once(
    open_: Open,
    request: urllib.request.Request,
    size: int,
    timeout: float,
) -> tuple[int, bytes, int]:
    """One try at a range of *size* bytes at most: its start, its bytes, the whole length.

    Refused unless the answer is a 206 with a Content-Range inside what was asked for.
    """
    with open_(request, timeout) as response:
        found = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
        if response.status != _PARTIAL or found is None:
            # Leaving the with block closes the connection, the body unread.
            raise _RefusedError(f"the server answered {response.status} without a byte range")
        first, last, length = (int(part) for part in found.groups())
        if not first <= last < length or last - first + 1 > size:
            raise _RefusedError(f"the server sent the range {first}-{last}/{length}")
        data = response.read(last - first + 1)
        retry.check_complete(str(last - first + 1), len(data))  # cut short: try again
    return first, data, length
