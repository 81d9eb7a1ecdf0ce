"""sha256 of bytes as they are read, in one pass: a stream copied elsewhere, or a file. FILES.

Downloads, the wheel cache's checks and the wheel unpacker all hash what they read here,
chunk by chunk, so a wheel of gigabytes never sits in memory whole and is read only once.
"""

from __future__ import annotations

import hashlib
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["OverLimitError", "copy_hashing", "hash_file", "sha256_of_file"]

_CHUNK = 1 << 16


class OverLimitError(Exception):
    """More bytes came out of a stream than it may give."""


def copy_hashing(
    source: IO[bytes], out: IO[bytes] | None = None, *, limit: int | None = None
) -> tuple[hashlib._Hash, int]:
    """Read *source* to its end, hashing it (and writing it to *out*): its sha256 and size.

    With *limit*, a stream that gives more bytes raises OverLimitError before a byte past
    the limit is hashed or written.
    """
    digest = hashlib.sha256()
    copied = 0
    while chunk := source.read(_CHUNK):
        copied += len(chunk)
        if limit is not None and copied > limit:
            raise OverLimitError
        digest.update(chunk)
        if out is not None:
            out.write(chunk)
    return digest, copied


def sha256_of_file(path: Path) -> hashlib._Hash:
    """The sha256 of the file at *path*."""
    with path.open("rb") as source:
        return copy_hashing(source)[0]


def hash_file(path: Path) -> str:
    """Hex sha256 of a local file."""
    return sha256_of_file(path).hexdigest()
