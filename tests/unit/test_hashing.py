"""sha256 in one pass (``system/hashing``): the hash hashlib gives, every byte copied, the bound."""

from __future__ import annotations

import hashlib
import io
import os
from typing import TYPE_CHECKING

import pytest

from envsync.system.hashing import OverLimitError, copy_hashing, hash_file

if TYPE_CHECKING:
    from pathlib import Path

CHUNK = 1 << 16
#: Sizes around the chunk the reads use: empty, within one, on its edge, across several.
SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5]


@pytest.mark.parametrize("size", SIZES)
def test_a_file_hashes_as_hashlib_hashes_its_bytes(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    (tmp_path / "file").write_bytes(data)

    assert hash_file(tmp_path / "file") == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("size", SIZES)
def test_a_copy_holds_every_byte_and_its_hash(size: int) -> None:
    data = os.urandom(size)
    out = io.BytesIO()

    digest, copied = copy_hashing(io.BytesIO(data), out)

    assert (out.getvalue(), copied) == (data, size)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("size", SIZES[1:])
def test_a_stream_longer_than_its_limit_is_stopped_before_the_excess_is_written(
    size: int,
) -> None:
    data = os.urandom(size)
    exact, over = io.BytesIO(), io.BytesIO()

    copy_hashing(io.BytesIO(data), exact, limit=size)
    with pytest.raises(OverLimitError):
        copy_hashing(io.BytesIO(data), over, limit=size - 1)

    assert exact.getvalue() == data
    assert len(over.getvalue()) <= size - 1
    assert data.startswith(over.getvalue())
