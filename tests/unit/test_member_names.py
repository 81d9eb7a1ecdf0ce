"""A wheel's member names are judged on strings as a POSIX path reads them.

``unpack`` reads every name of every wheel a cold sync unpacks, on strings for speed. What it
refuses must be exactly what a reading through ``PurePosixPath`` refuses: a name that leaves
the wheel's folder, and a member that is also another member's folder.
"""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envsync.install import unpack

#: Pieces that make names interesting: separators, dots, drives, backslashes.
_PIECES = st.sampled_from(["a", "b", "c.py", "/", "//", ".", "..", "./", "\\", ":", "C:", " "])
_NAMES = st.lists(_PIECES, max_size=8).map("".join)


def _unsafe_by_pathlib(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return not parts or name.startswith("/") or ".." in parts or "\\" in name or ":" in parts[0]


def _clash_by_pathlib(name: str, names: set[str]) -> str | None:
    paths = {str(PurePosixPath(n)) for n in names}
    return next((str(p) for p in PurePosixPath(name).parents if str(p) in paths), None)


@pytest.mark.parametrize(
    ("name", "unsafe"),
    [
        ("pkg/__init__.py", False),
        ("pkg//mod.py", False),
        ("./pkg/mod.py", False),
        ("pkg/../../outside.py", True),
        ("/etc/passwd", True),
        ("C:/Windows/evil.dll", True),
        ("pkg\\..\\evil.py", True),
        ("", True),
        (".", True),
        ("./", True),
    ],
)
def test_a_name_is_unsafe_when_it_could_leave_the_folder(name: str, unsafe: bool) -> None:
    assert unpack._unsafe(name, unpack._parts(name)) is unsafe


@pytest.mark.parametrize(
    ("names", "clash"),
    [
        (["pkg/a.py", "pkg/b.py"], None),
        (["pkg", "pkg/a.py"], "pkg"),
        (["pkg/sub", "pkg/sub/deep/a.py"], "pkg/sub"),
        (["pkg", "pkg/sub", "pkg/sub/a.py"], "pkg/sub"),  # the nearest folder is named
        (["pkg", "./pkg//a.py"], "pkg"),
        (["pkga", "pkg/a.py"], None),
    ],
)
def test_a_member_that_is_another_ones_folder_is_found(names: list[str], clash: str) -> None:
    table = {"/".join(unpack._parts(name)): unpack._parts(name) for name in names}
    assert [unpack._clash(parts, table) for parts in table.values()][-1] == clash


@given(_NAMES)
def test_unsafe_reads_a_name_as_pathlib_does(name: str) -> None:
    assert unpack._unsafe(name, unpack._parts(name)) is _unsafe_by_pathlib(name)


@given(st.lists(_NAMES, max_size=6))
def test_a_clash_is_the_one_pathlib_finds(names: list[str]) -> None:
    safe = {name for name in names if not _unsafe_by_pathlib(name)}
    table = {"/".join(unpack._parts(name)): unpack._parts(name) for name in safe}
    for name in safe:
        # A name is the path pathlib reads, and its clash the folder pathlib would name.
        assert "/".join(unpack._parts(name)) == str(PurePosixPath(name))
        assert unpack._clash(unpack._parts(name), table) == _clash_by_pathlib(name, safe)
