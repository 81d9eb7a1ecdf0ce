"""``install/inflate.py``: deflated members inflated outside zipfile, as zipfile would.

Each test runs with zlib-ng's module and with CPython's zlib (the same interface), so the
reader itself is checked apart from the library. What must hold: a sound member comes out
byte for byte with its sha256; a damaged, cut or lying one raises what ``unpack`` refuses a
wheel for, and never yields other bytes.
"""

from __future__ import annotations

import hashlib
import io
import random
import sys
import zipfile
import zlib
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st
from zlib_ng import zlib_ng

from envsync.install import inflate
from envsync.system.hashing import OverLimitError

if TYPE_CHECKING:
    from types import ModuleType

MODULES = pytest.mark.parametrize("module", [zlib_ng, zlib], ids=["zlib-ng", "zlib"])
#: What unpack turns into "it is damaged" or "it lies about the size".
REFUSED = (zipfile.BadZipFile, EOFError, OverLimitError)
NAME = "pkg/data.bin"


def archive_of(data: bytes, *, level: int = 6) -> bytes:
    """A zip holding *data* deflated as NAME, after a small stored member."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("pkg/__init__.py", b"")
        archive.writestr(NAME, data, zipfile.ZIP_DEFLATED, compresslevel=level)
    return buffer.getvalue()


def inflated(module: ModuleType, blob: bytes) -> tuple[bytes, bytes]:
    """NAME of the zip *blob* through the Inflater: its bytes and the digest returned."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        digest = inflate.Inflater(module).copy(
            archive, io.BytesIO(blob), archive.getinfo(NAME), out
        )
    return out.getvalue(), digest


def sample(size: int) -> bytes:
    """Half random, half repeated: a stream of both literal and matched blocks."""
    rng = random.Random(size)  # noqa: S311 - test data
    half = rng.randbytes(size // 2)
    return half + b"abc" * ((size - len(half)) // 3) + b"z" * ((size - len(half)) % 3)


@MODULES
@pytest.mark.parametrize(
    "size", [0, 1, 4096, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 << 20], ids=lambda s: f"{s}B"
)
def test_a_member_comes_out_byte_for_byte_with_its_sha256(module: ModuleType, size: int) -> None:
    data = sample(size)

    found, digest = inflated(module, archive_of(data))

    assert found == data
    assert digest == hashlib.sha256(data).digest()


def _damage_stream(blob: bytes, data: bytes) -> bytes:
    """*blob* with a byte in the middle of NAME's deflate stream changed."""
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        info = archive.getinfo(NAME)
    start = info.header_offset + 30 + len(NAME)  # writestr adds no extra field
    middle = start + info.compress_size // 2
    assert data  # a stream with a middle
    return blob[:middle] + bytes([blob[middle] ^ 0xFF]) + blob[middle + 1 :]


def _central(blob: bytes, offset: int, value: int) -> bytes:
    """*blob* with a 4-byte field of NAME's central directory entry set to *value*."""
    entry = blob.rindex(b"PK\x01\x02")
    assert blob[entry + 46 : entry + 46 + len(NAME)] == NAME.encode()
    at = entry + offset
    return blob[:at] + value.to_bytes(4, "little") + blob[at + 4 :]


DATA = sample(50_000)
SOUND = archive_of(DATA)
_INFO = zipfile.ZipFile(io.BytesIO(SOUND)).getinfo(NAME)


@MODULES
@pytest.mark.parametrize(
    ("blob", "error", "says"),
    [
        (_damage_stream(SOUND, DATA), REFUSED, ""),
        (_central(SOUND, 16, _INFO.CRC ^ 1), zipfile.BadZipFile, "Bad CRC-32 for file"),
        (_central(SOUND, 24, len(DATA) - 1), OverLimitError, ""),
        (_central(SOUND, 24, len(DATA) + 1), zipfile.BadZipFile, "inflates to 50000 bytes"),
        (_central(SOUND, 20, len(SOUND)), EOFError, "is cut short"),
    ],
    ids=["stream-damaged", "crc-wrong", "declares-less", "declares-more", "runs-past-the-end"],
)
def test_a_member_that_is_not_sound_raises_what_unpack_refuses(
    module: ModuleType, blob: bytes, error: type[Exception] | tuple[type[Exception], ...], says: str
) -> None:
    with pytest.raises(error) as caught:
        inflated(module, blob)

    assert says in str(caught.value)


@MODULES
def test_a_local_header_that_names_another_file_is_refused_by_zipfile(module: ModuleType) -> None:
    blob = SOUND.replace(NAME.encode(), b"pkg/evil.bin", 1)  # the local header comes first

    with pytest.raises(zipfile.BadZipFile, match="differ"):
        inflated(module, blob)


@given(
    data=st.binary(max_size=4096),
    level=st.integers(0, 9),
    where=st.integers(0),
    bit=st.integers(0, 7),
)
def test_a_flipped_bit_is_refused_or_changes_nothing(
    data: bytes, level: int, where: int, bit: int
) -> None:
    blob = archive_of(data, level=level)
    assert inflated(zlib_ng, blob) == (data, hashlib.sha256(data).digest())
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        info = archive.getinfo(NAME)
    start = info.header_offset + 30 + len(NAME)
    if not info.compress_size:
        return
    at = start + where % info.compress_size
    damaged = blob[:at] + bytes([blob[at] ^ (1 << bit)]) + blob[at + 1 :]

    for module in (zlib_ng, zlib):
        try:
            found = inflated(module, damaged)
        except REFUSED:
            continue
        assert found == (data, hashlib.sha256(data).digest())  # never other bytes


def test_without_zlib_ng_there_is_no_inflater(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "zlib_ng", None)  # an import of it now fails

    assert inflate.load() is None


def test_with_zlib_ng_there_is_an_inflater() -> None:
    found = inflate.load()

    assert isinstance(found, inflate.Inflater)
