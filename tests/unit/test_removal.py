"""The guarded deleter and the venv-path rules: tables, and properties over random trees of
files and symlinks, each checking that nothing outside the owned folder changes."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envsync.errors import RemovalRefused, VenvError
from envsync.system import removal
from envsync.venv import safety

from support import tree_digest

# -- removal.py ----------------------------------------------------------------------------


def world(base: Path) -> tuple[Path, Path]:
    """``outside/`` (a user's files) and ``owned/`` whose links lead in and out of it."""
    outside, owned = base / "outside", base / "owned"
    (outside / "work").mkdir(parents=True)
    (outside / "work" / "a.py").write_text("a\n")
    (outside / "notes.txt").write_text("n\n")
    (owned / "lib" / "pkg").mkdir(parents=True)
    (owned / "lib" / "pkg" / "m.py").write_text("m\n")
    (owned / "lib" / "out").symlink_to(outside / "work", target_is_directory=True)
    (owned / "lib" / "outfile").symlink_to(outside / "notes.txt")
    (owned / "lib" / "in").symlink_to(owned / "lib" / "pkg", target_is_directory=True)
    (owned / "up").symlink_to(outside, target_is_directory=True)
    return outside, owned


PARTS = ["lib", "pkg", "m.py", "out", "outfile", "in", "up", "work", "a.py", "..", ".", "x"]
RELATIVE = st.lists(st.sampled_from(PARTS), min_size=0, max_size=5).map(
    lambda parts: os.path.join(*parts) if parts else ""  # noqa: PTH118 - the raw string is the input
)


@given(paths=st.lists(RELATIVE, min_size=1, max_size=4))
def test_delete_never_changes_anything_outside_the_owned_folder(paths: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        outside, owned = world(Path(folder))
        before = tree_digest(outside)
        for relative in paths:
            with contextlib.suppress(RemovalRefused):
                removal.delete(owned / relative, within=removal.Owned(owned, "temporary"))
        assert tree_digest(outside) == before


@given(moves=st.lists(st.tuples(RELATIVE, RELATIVE), min_size=1, max_size=3))
def test_move_never_changes_anything_outside_the_owned_folder(
    moves: list[tuple[str, str]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        outside, owned = world(Path(folder))
        before = tree_digest(outside)
        within = removal.Owned(owned, "temporary")
        for source, target in moves:
            with contextlib.suppress(RemovalRefused, OSError):
                removal.move(owned / source, owned / "aside" / target, within=within)
        assert tree_digest(outside) == before


@pytest.mark.parametrize(
    ("relative", "deleted"),
    [
        ("lib/pkg/m.py", True),
        ("lib/in", True),  # the link itself: its target stays
        ("lib/out", True),  # a link leading out: removed as a link
        ("lib/outfile", True),
        ("lib/out/a.py", False),  # through a link out of the folder
        ("up/notes.txt", False),
        ("lib/../../outside/notes.txt", False),  # lexically outside
        ("", False),  # the folder itself
    ],
)
def test_delete_table(tmp_path: Path, relative: str, deleted: bool) -> None:
    outside, owned = world(tmp_path)
    before = tree_digest(outside)
    target = owned / relative if relative else owned
    if deleted:
        removal.delete(target, within=removal.Owned(owned, "temporary"))
        assert not os.path.lexists(target)
    else:
        with pytest.raises(RemovalRefused, match="refusing to delete or replace"):
            removal.delete(target, within=removal.Owned(owned, "temporary"))
        assert os.path.lexists(target)
    assert tree_digest(outside) == before
    assert (owned / "lib" / "pkg" / "m.py").exists() or relative == "lib/pkg/m.py"


def test_a_venv_is_owned_only_with_its_pyvenv_cfg(tmp_path: Path) -> None:
    with pytest.raises(RemovalRefused, match="not a virtual environment"):
        removal.Owned.venv(tmp_path)
    (tmp_path / "pyvenv.cfg").write_text("home = /usr/bin\n")
    assert removal.Owned.venv(tmp_path).kind == "venv"


def test_make_folder_never_takes_over_an_existing_path(tmp_path: Path) -> None:
    (tmp_path / "there").mkdir()
    with pytest.raises(FileExistsError):
        removal.make_folder(tmp_path / "there")
    made = removal.make_folder(tmp_path / "new")
    (tmp_path / "new" / "f").write_text("x")
    removal.delete_tree(made)
    assert not (tmp_path / "new").exists()
    assert (tmp_path / "there").is_dir()


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        (".pylock.toml.123.abcd.tmp", True),
        (".venv.envsync.lock.json", True),
        ("pylock.toml", False),
        ("notes.tmp", False),  # not hidden: not a name envsync gives
        (".venv.envsync.lock", False),
    ],
)
def test_own_files_are_known_by_their_names(tmp_path: Path, name: str, allowed: bool) -> None:
    path = tmp_path / name
    path.write_text("x")
    if allowed:
        removal.delete_own_file(path)
        assert not path.exists()
    else:
        with pytest.raises(RemovalRefused):
            removal.delete_own_file(path)
        assert path.exists()


def test_temporary_folders_are_removed_after_their_block() -> None:
    with removal.temporary_folder("envsync-test-") as folder:
        (Path(folder) / "f").write_text("x")
    assert not Path(folder).exists()


# -- safety.py -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "layout"),
    [
        ("pyvenv.cfg", True),
        ("bin/python", True),
        ("bin/python3.11", True),
        ("bin/activate", True),
        ("bin/activate.fish", True),
        ("bin/Activate.ps1", True),
        ("lib64", True),
        (".envsync-txn/journal.json", True),
        ("bin/activate-global-python-argcomplete", False),  # argcomplete's console script
        ("bin/pip", False),
        ("bin/pythonista", False),
        ("lib/python3.11/site-packages/pyvenv.cfg", False),
        ("notes.md", False),
    ],
)
def test_layout_table(relative: str, layout: bool) -> None:
    assert safety.is_layout(relative) is layout


@pytest.mark.parametrize(
    ("venv", "says"),
    [
        ("project/env.toml", "is the project's env.toml"),
        ("project/pylock.toml", "is the project's pylock.toml"),
        ("project/.git", "is the project's .git folder"),
        ("project/.git/hooks/venv", "is inside the project's .git folder"),
        ("users/me", "is a home folder"),
        ("users", "holds a home folder"),
        ("", "holds the project's env.toml"),
    ],
)
def test_location_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, venv: str, says: str
) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (tmp_path / "users" / "me").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(tmp_path / "users" / "me"))
    own = (project / "env.toml", project / "pylock.toml")
    with pytest.raises(VenvError, match=says):
        safety.check_location(tmp_path / venv, project=project, own_files=own)


def test_location_through_a_link_is_checked_too(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (tmp_path / "alias").symlink_to(project / ".git", target_is_directory=True)
    own = (project / "env.toml",)
    with pytest.raises(VenvError, match=r"is the project's \.git folder"):
        safety.check_location(tmp_path / "alias", project=project, own_files=own)
    safety.check_location(project / ".venv", project=project, own_files=own)


def test_unknown_files_are_what_neither_the_layout_nor_a_record_names(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    site = venv / "lib" / "python3.11" / "site-packages"
    (site / "pkg" / "__pycache__").mkdir(parents=True)
    (venv / "bin").mkdir()
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "bin" / "python").symlink_to("/usr/bin/python3")
    (venv / "bin" / "tool").write_text("#!python\n")
    (site / "pkg" / "__init__.py").write_text("")
    (site / "pkg" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"")
    (site / "pkg-1.0.dist-info").mkdir()
    (site / "pkg-1.0.dist-info" / "RECORD").write_text(
        "pkg/__init__.py,,\npkg-1.0.dist-info/RECORD,,\n../../../bin/tool,,\n"
    )
    assert safety.unknown_files(venv) == []
    (venv / "notes.md").write_text("mine")
    (site / "pkg" / "local.py").write_text("mine")
    (site / "linked").symlink_to(tmp_path, target_is_directory=True)
    assert safety.unknown_files(venv) == [
        "lib/python3.11/site-packages/linked",
        "lib/python3.11/site-packages/pkg/local.py",
        "notes.md",
    ]
