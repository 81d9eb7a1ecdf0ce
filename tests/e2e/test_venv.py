"""create_venv / new_venv with real interpreters, in tmp_path."""

from __future__ import annotations

import os
import platform
from typing import TYPE_CHECKING

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envsync.errors import InterpreterNotFoundError, VenvError
from envsync.system.process import clean_env, run
from envsync.venv.create import create_venv, is_venv, new_venv, venv_python
from envsync.venv.interpreters import Interpreter, find_python

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.e2e

CURRENT = Version(platform.python_version())


def recreate(root: Path, interpreter: Interpreter) -> None:
    """Replace the venv at *root* with one made by *interpreter*, as apply does."""
    with new_venv(root, interpreter, replace=True):
        pass


@pytest.fixture(scope="module")
def current() -> Interpreter:
    return find_python(SpecifierSet(f"=={CURRENT}"))


@pytest.fixture(scope="module")
def other() -> Interpreter:
    """A Python of another minor version than the one running the tests."""
    try:
        return find_python(SpecifierSet(f">=3.9,!={CURRENT.major}.{CURRENT.minor}.*"))
    except InterpreterNotFoundError:
        pytest.skip("needs a second Python version (3.9+) on this machine")


def version_in(root: Path) -> Version:
    code = "import platform; print(platform.python_version())"
    proc = run([str(venv_python(root)), "-c", code], env=clean_env(), error=VenvError)
    return Version(proc.stdout.strip())


def siblings(root: Path) -> list[str]:
    return sorted(p.name for p in root.parent.iterdir() if p != root)


def test_create_makes_a_venv_without_pip(tmp_path, other):
    root = tmp_path / "venv"
    create_venv(root, other)
    assert is_venv(root)
    assert version_in(root) == other.version
    with pytest.raises(VenvError, match="pip"):
        run([str(venv_python(root)), "-c", "import pip"], env=clean_env(), error=VenvError)
    assert not list(root.glob("lib*/python*/site-packages/pip"))


def test_a_venv_made_in_process_equals_one_made_by_python_m_venv(tmp_path, current):
    # `current` runs envsync (these tests), so create_venv makes its venv in this process.
    ours, theirs = tmp_path / "ours" / "venv", tmp_path / "theirs" / "venv"
    create_venv(ours, current)
    argv = [str(current.executable), "-I", "-m", "venv", "--without-pip", str(theirs)]
    run(argv, env=clean_env(), error=VenvError)

    assert layout(ours) == layout(theirs)
    assert config(ours) == config(theirs)
    assert version_in(ours) == CURRENT


def layout(root: Path) -> dict[str, str]:
    """Every path in the venv: a link's target, a file's bytes with the venv's path replaced."""
    out = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        if key == "pyvenv.cfg":
            continue  # compared by config()
        if path.is_symlink():
            out[key] = f"-> {path.readlink()}"
        elif path.is_file():
            out[key] = path.read_bytes().replace(os.fsencode(root), b"<venv>").decode("latin-1")
        else:
            out[key] = "folder"
    return out


def config(root: Path) -> dict[str, str]:
    """pyvenv.cfg's keys, but ``command`` (which names the interpreter that made it)."""
    rows = (line.partition("=") for line in (root / "pyvenv.cfg").read_text().splitlines())
    return {k.strip(): v.strip() for k, _, v in rows if k.strip() != "command"}


def test_create_refuses_an_existing_path(tmp_path, current):
    root = tmp_path / "venv"
    root.mkdir()
    (root / "keep.txt").write_text("mine")
    with pytest.raises(VenvError, match=r"it is a folder that holds keep\.txt"):
        create_venv(root, current)
    assert [p.name for p in root.iterdir()] == ["keep.txt"]


def test_create_failure_leaves_nothing_behind(tmp_path):
    root = tmp_path / "venv"
    broken = Interpreter(
        executable=tmp_path / "no-such-python", version=CURRENT, implementation="cpython"
    )
    with pytest.raises(VenvError, match="could not create a venv") as caught:
        create_venv(root, broken)
    assert "no-such-python" in str(caught.value)
    assert not root.exists()


def test_create_failure_reports_the_tools_output(tmp_path):
    root = tmp_path / "venv"
    script = tmp_path / "python"
    script.write_text("#!/bin/sh\necho 'venv exploded' >&2\nmkdir -p \"$5/bin\"\nexit 1\n")
    script.chmod(0o755)
    broken = Interpreter(executable=script, version=CURRENT, implementation="cpython")
    with pytest.raises(VenvError, match="venv exploded"):
        create_venv(root, broken)
    assert not root.exists()


def test_is_venv_needs_pyvenv_cfg(tmp_path):
    assert not is_venv(tmp_path)
    assert not is_venv(tmp_path / "missing")
    (tmp_path / "pyvenv.cfg").write_text("home = /usr/bin\n")
    assert is_venv(tmp_path)


def test_recreate_with_another_version_replaces_the_venv(tmp_path, current, other):
    root = tmp_path / "venv"
    create_venv(root, current)
    (root / ".envsync-state.json").write_text("old")  # envsync's own: replaced with the venv
    recreate(root, other)
    assert version_in(root) == other.version
    assert not (root / ".envsync-state.json").exists()
    assert siblings(root) == []


def test_recreate_refuses_a_venv_holding_user_files(tmp_path, current, other):
    root = tmp_path / "venv"
    create_venv(root, current)
    (root / "notes").mkdir()
    (root / "notes" / "todo.md").write_bytes(b"mine\n")
    with pytest.raises(VenvError, match=r"holds files that are not the venv's .*notes/todo.md"):
        recreate(root, other)
    assert (root / "notes" / "todo.md").read_bytes() == b"mine\n"
    assert version_in(root) == current.version
    assert siblings(root) == []


def test_recreate_creates_a_missing_venv(tmp_path, current):
    root = tmp_path / "venv"
    recreate(root, current)
    assert version_in(root) == current.version


def test_recreate_failure_leaves_the_old_venv_intact(tmp_path, current):
    root = tmp_path / "venv"
    create_venv(root, current)
    (root / ".envsync-state.json").write_text("old")
    broken = Interpreter(
        executable=tmp_path / "no-such-python", version=CURRENT, implementation="cpython"
    )
    with pytest.raises(VenvError):
        recreate(root, broken)
    assert (root / ".envsync-state.json").read_text() == "old"
    assert version_in(root) == current.version
    assert siblings(root) == []
