"""``distinfo.in_moves``: which of a dist's folders leave a venv in one rename.

Tables of trees, and a property over random trees: the moves take exactly the dist's files
out, never a file of anyone else, never an empty folder, and keep the dist-info last.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envsync.venv.distinfo import in_moves

if TYPE_CHECKING:
    from collections.abc import Sequence

INFO = "d-1.0.dist-info"


def tree(lib: Path, files: list[str], folders: Sequence[str] = ()) -> None:
    for relative in files:
        (lib / relative).parent.mkdir(parents=True, exist_ok=True)
        (lib / relative).write_text(relative)
    for relative in folders:
        (lib / relative).mkdir(parents=True, exist_ok=True)


def moves_of(lib: Path, mine: list[str]) -> list[str]:
    """in_moves for the dist whose files are *mine*, as paths relative to *lib*."""
    found = in_moves([os.path.join(lib, p) for p in mine], os.fspath(lib))  # noqa: PTH118
    return [os.path.relpath(p, lib) for p in found]


@pytest.mark.parametrize(
    ("files", "folders", "mine", "expected"),
    [
        pytest.param(
            ["d/__init__.py", "d/sub/x.py", f"{INFO}/RECORD", f"{INFO}/METADATA"],
            [],
            ["d/__init__.py", "d/sub/x.py", f"{INFO}/RECORD", f"{INFO}/METADATA"],
            ["d", INFO],
            id="package-and-dist-info-whole",
        ),
        pytest.param(
            ["d/__init__.py", "d/notes.txt", f"{INFO}/RECORD"],
            [],
            ["d/__init__.py", f"{INFO}/RECORD"],
            ["d/__init__.py", INFO],
            id="a-file-of-someone-else-keeps-the-folder",
        ),
        pytest.param(
            ["d/__init__.py", f"{INFO}/RECORD"],
            ["d/empty"],
            ["d/__init__.py", f"{INFO}/RECORD"],
            ["d/__init__.py", INFO],
            id="an-empty-folder-keeps-the-folder",
        ),
        pytest.param(
            ["d.py", "e/x.py", f"{INFO}/RECORD"],
            [],
            ["d.py", "e/x.py", f"{INFO}/RECORD"],
            ["d.py", "e", INFO],
            id="a-module-file-goes-alone",
        ),
        pytest.param(
            ["shared/a.py", "shared/b.py", f"{INFO}/RECORD"],
            [],
            ["shared/a.py", f"{INFO}/RECORD"],
            ["shared/a.py", INFO],
            id="a-namespace-folder-shared-with-another-dist",
        ),
        pytest.param(
            ["d/__init__.py", f"{INFO}/RECORD"],
            [],
            ["d/__init__.py", "d/gone.py", f"{INFO}/RECORD"],
            ["d", INFO],
            id="a-listed-file-already-missing",
        ),
        pytest.param(
            [f"{INFO}/RECORD", "d/__init__.py"],
            [],
            [f"{INFO}/RECORD", "d/__init__.py"],
            [INFO, "d"],
            id="order-of-first-files-kept",
        ),
    ],
)
def test_moves_of_a_dist(
    tmp_path: Path, files: list[str], folders: list[str], mine: list[str], expected: list[str]
) -> None:
    tree(tmp_path, files, folders)
    assert moves_of(tmp_path, mine) == expected


def test_a_folder_that_is_a_link_is_not_moved_whole(tmp_path: Path) -> None:
    tree(tmp_path, ["real/x.py", f"{INFO}/RECORD"])
    (tmp_path / "d").symlink_to(tmp_path / "real", target_is_directory=True)

    assert moves_of(tmp_path, ["d/x.py", f"{INFO}/RECORD"]) == ["d/x.py", INFO]


def test_a_link_inside_counts_as_a_file(tmp_path: Path) -> None:
    tree(tmp_path, ["d/x.py", "elsewhere/y.py"])
    (tmp_path / "d" / "out").symlink_to(tmp_path / "elsewhere", target_is_directory=True)

    assert moves_of(tmp_path, ["d/x.py"]) == ["d/x.py"]  # the link is not the dist's
    assert moves_of(tmp_path, ["d/x.py", "d/out"]) == ["d"]  # RECORD lists the link itself


NAMES = st.sampled_from(["a", "b", "c", "__init__.py", "x.py"])
RELATIVE = st.lists(NAMES, min_size=1, max_size=3).map("/".join)


def _files_under(root: Path) -> set[str]:
    return {os.fspath(p) for p in root.rglob("*") if not p.is_dir() or p.is_symlink()}


@given(
    files=st.lists(RELATIVE, min_size=1, max_size=12),
    picks=st.lists(st.booleans(), min_size=12, max_size=12),
    empty=st.lists(RELATIVE, max_size=2),
)
def test_the_moves_take_exactly_the_dists_files(
    files: list[str], picks: list[bool], empty: list[str]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        lib = Path(folder)
        made = []
        for relative in files:  # a path again, or one through a file, is left out
            path = lib / relative
            if any(p.is_file() for p in path.parents) or path.exists():
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(relative)
            made.append(relative)
        for relative in empty:
            path = lib / relative
            if not any(p.is_file() for p in (path, *path.parents)):
                path.mkdir(parents=True, exist_ok=True)
        mine = [os.fspath(lib / r) for r, pick in zip(made, picks, strict=False) if pick]

        moves = in_moves(mine, os.fspath(lib))

        taken: set[str] = set()
        for move in moves:
            target = Path(move)
            if target.is_dir():
                assert target.parent == lib  # only folders directly in lib go whole
                assert all(any(p.iterdir()) for p in (target, *target.rglob("*")) if p.is_dir())
                taken |= _files_under(target)
            else:
                taken.add(move)
        assert taken == set(mine)
        firsts = [m for m in moves if m in mine]
        assert firsts == [m for m in mine if m in firsts]  # the dist's order is kept
