"""A cache entry's manifest records each unpacked file as written, and vouches only for files
inside the entry."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import string
from typing import TYPE_CHECKING

import pytest

from envsync.install import inflate, unpack

from support.wheels import build_wheel

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    ("name", "trusted"),
    [("pkg/__init__.py", True), ("../../outside.txt", False), ("pkg/../../../outside.txt", False)],
)
def test_a_manifest_path_leaving_the_entry_vouches_for_nothing(
    tmp_path: Path, name: str, trusted: bool
) -> None:
    (tmp_path / "outside.txt").write_text("not the cache's\n")
    (tmp_path / "entry" / "files" / "pkg").mkdir(parents=True)
    (tmp_path / "entry" / "files" / "pkg" / "__init__.py").write_text("")
    folder = entry_with(tmp_path, name)
    assert (unpack.load(folder) is not None) is trusted


def entry_with(folder: Path, name: str) -> Path:
    files = folder / "entry" / "files"
    stat = os.lstat(os.path.normpath(files / name))
    row = [name, "hash", stat.st_size, False, stat.st_mode, stat.st_mtime_ns]
    manifest = {
        "format": 1,
        "wheel": "pkg-1.0-py3-none-any.whl",
        "dist_info": "pkg-1.0.dist-info",
        "files": [row],
    }
    (folder / "entry" / "manifest.json").write_text(json.dumps(manifest))
    return folder / "entry"


@pytest.mark.parametrize(
    "size",
    [0, 1, 4096, unpack._WHOLE - 1, unpack._WHOLE, unpack._WHOLE + 1, 3 * unpack._WHOLE],
    ids=lambda size: f"{size}B",
)
@pytest.mark.parametrize("inflater", ["zlib-ng", "zipfile"])
def test_every_unpacked_file_is_the_members_bytes_and_its_manifest_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int, inflater: str
) -> None:
    # Read whole up to _WHOLE, streamed above it: either way the same bytes, hash and stat;
    # and the same through zlib-ng as through zipfile, where zlib-ng is not installed.
    if inflater == "zipfile":
        monkeypatch.setattr(inflate, "load", lambda: None)
    text = "".join(random.Random(size).choices(string.printable, k=size))  # noqa: S311 - data
    files = {"pkg/__init__.py": "", "pkg/deep/er/data.txt": text, "pkg/deep/other.py": "x = 1\n"}
    wheel = build_wheel(tmp_path / "w", "pkg", "1.0", files=files)

    unpack.extract(wheel, tmp_path / "entry", unpack.Limits())

    tree = unpack.load(tmp_path / "entry")
    assert tree is not None
    assert tree.dist_info == "pkg-1.0.dist-info"
    by_path = {m.path: m for m in tree.members}
    for name, content in files.items():
        data = (tree.root / name).read_bytes()
        assert data == content.encode()
        member = by_path[name]
        assert member.size == len(data)
        expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        assert member.hash == expected.decode()
    assert unpack.changed_files(tree) == []
