"""A cache entry's manifest vouches only for files inside the entry."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import pytest

from envsync.install import unpack

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
