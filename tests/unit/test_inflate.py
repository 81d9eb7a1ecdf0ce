"""``install/inflate.py``: deflated members inflated outside zipfile, as zipfile would.

Each test runs with zlib-ng's module and with CPython's zlib (the same interface), so the
reader itself is checked apart from the library. What must hold: a sound member comes out
byte for byte with its sha256; a damaged, cut or lying one raises what ``unpack`` refuses a
wheel for, and never yields other bytes.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path
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


def inflated(module: ModuleType, blob: bytes, name: str = NAME) -> tuple[bytes, bytes]:
    """*name* of the zip *blob* through the Inflater: its bytes and the digest returned.

    Through real files, as unpacking reads and writes them (file descriptors).
    """
    with tempfile.TemporaryDirectory() as folder:
        wheel, target = Path(folder, "a.whl"), Path(folder, "out")
        wheel.write_bytes(blob)
        with zipfile.ZipFile(wheel) as archive:
            info = archive.getinfo(name)
            end = inflate.data_ends(archive)[info]
        source = os.open(wheel, os.O_RDONLY)
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        try:
            digest = inflate.Inflater(module).copy(source, info, end, out)
        finally:
            os.close(source)
            os.close(out)
        return target.read_bytes(), digest


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
        (_central(SOUND, 20, len(SOUND)), zipfile.BadZipFile, "Overlapped entries"),
        (_central(SOUND, 20, _INFO.compress_size + 1), zipfile.BadZipFile, "Overlapped entries"),
    ],
    ids=[
        "stream-damaged",
        "crc-wrong",
        "declares-less",
        "declares-more",
        "runs-past-the-end",
        "runs-one-byte-into-the-central-directory",
    ],
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


def _local(blob: bytes, offset: int, value: bytes) -> bytes:
    """*blob* with bytes of NAME's local header, from *offset* on, set to *value*."""
    at = blob.index(NAME.encode()) - 30 + offset
    return blob[:at] + value + blob[at + len(value) :]


def _flags(blob: bytes, flags: int) -> bytes:
    """*blob* with NAME's general purpose flags set to *flags*, in both of its headers."""
    central = blob.rindex(b"PK\x01\x02")
    blob = blob[: central + 8] + flags.to_bytes(2, "little") + blob[central + 10 :]
    return _local(blob, 6, flags.to_bytes(2, "little"))


@MODULES
@pytest.mark.parametrize(
    ("blob", "error", "says"),
    [
        (_local(SOUND, 0, b"PK\x05\x06"), zipfile.BadZipFile, "Bad magic number"),
        (_flags(SOUND, 1 << 0), RuntimeError, "is encrypted"),
        (_flags(SOUND, 1 << 5), NotImplementedError, "compressed patched data"),
        (_flags(SOUND, 1 << 6), NotImplementedError, "strong encryption"),
        (_local(SOUND, 26, (len(NAME) + 1).to_bytes(2, "little")), zipfile.BadZipFile, "differ"),
    ],
    ids=["not-a-local-header", "encrypted", "patched", "strongly-encrypted", "name-longer"],
)
def test_a_local_header_zipfile_would_refuse_is_refused(
    module: ModuleType, blob: bytes, error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says):
        inflated(module, blob)


def test_a_local_name_that_is_not_utf_8_though_flagged_so_is_refused() -> None:
    name = "pkg/d\u00e4ta.bin"  # zipfile writes a non-ASCII name with the UTF-8 flag
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, DATA, zipfile.ZIP_DEFLATED)
    blob = buffer.getvalue()
    assert inflated(zlib_ng, blob, name)[0] == DATA  # sound, it comes out
    at = blob.index(name.encode())  # the local header's copy comes first
    damaged = blob[:at] + name.encode().replace(b"\xc3", b"\xff") + blob[at + len(name.encode()) :]

    with pytest.raises(zipfile.BadZipFile, match="differ"):
        inflated(zlib_ng, damaged, name)


def test_members_sharing_their_data_are_refused_as_overlapped() -> None:
    """Two central entries naming one local header: a zip bomb's trick, refused.

    The twin comes first in the central directory, so NAME's data is the one that runs
    into the next member's (the same) header.
    """
    central, stop = SOUND.rindex(b"PK\x01\x02"), SOUND.index(b"PK\x05\x06")
    twin = SOUND[central:stop].replace(NAME.encode(), b"pkg/twin.bin")
    end = bytearray(SOUND[stop:])
    for at in (8, 10):  # entries on this disk, entries in all
        end[at : at + 2] = (int.from_bytes(end[at : at + 2], "little") + 1).to_bytes(2, "little")
    end[12:16] = (int.from_bytes(end[12:16], "little") + len(twin)).to_bytes(4, "little")
    blob = SOUND[:central] + twin + SOUND[central:stop] + bytes(end)

    with pytest.raises(zipfile.BadZipFile, match="Overlapped entries"):
        inflated(zlib_ng, blob)


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
