"""find_python and probe against the interpreters really installed on this machine."""

from __future__ import annotations

import os
import platform
import sys
from typing import TYPE_CHECKING

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envsync.errors import InterpreterNotFoundError, VenvError
from envsync.system.process import clean_env, run
from envsync.venv.interpreters import Interpreter, find_python, probe

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.e2e

CURRENT = Version(platform.python_version())


def find_or_skip(spec: str, **kwargs) -> Interpreter:
    try:
        return find_python(SpecifierSet(spec), **kwargs)
    except InterpreterNotFoundError:
        pytest.skip(f"no Python matching {spec!r} on this machine")


def reported_version(executable: Path) -> Version:
    code = "import platform; print(platform.python_version())"
    proc = run([str(executable), "-c", code], env=clean_env(), error=VenvError)
    return Version(proc.stdout.strip())


def fake_python(folder: Path, name: str, answer: str, *, counter: Path | None = None) -> Path:
    """A real executable that answers the probe like a Python would (POSIX shell)."""
    if os.name == "nt":
        pytest.skip("fake interpreters are shell scripts")
    count = f"echo run >> '{counter}'\n" if counter else ""
    path = folder / name
    path.write_text(f"#!/bin/sh\n{count}echo '{answer}'\n")
    path.chmod(0o755)
    return path


@pytest.mark.parametrize("spec", [">=3.11", "==3.12.*", "==3.10.*"])
def test_finds_an_interpreter_whose_real_version_matches(spec):
    found = find_or_skip(spec)
    assert found.version in SpecifierSet(spec)
    assert found.implementation == sys.implementation.name
    assert reported_version(found.executable) == found.version


def test_the_interpreter_running_envsync_comes_first():
    found = find_python(SpecifierSet(f"=={CURRENT}"))
    base = getattr(sys, "_base_executable", None) or sys.executable
    assert os.path.realpath(found.executable) == os.path.realpath(base)


def test_no_match_lists_every_interpreter_found():
    with pytest.raises(InterpreterNotFoundError) as caught:
        find_python(SpecifierSet("==2.1.*"))
    error = caught.value
    assert error.wanted == "==2.1.*"
    assert any(f"({CURRENT})" in entry for entry in error.found)
    assert "==2.1.*" in str(error)
    assert f"({CURRENT})" in str(error)


def test_an_empty_spec_accepts_the_first_candidate():
    assert find_python(SpecifierSet()).version == CURRENT


def test_prefer_wins_when_it_matches():
    other = find_or_skip(f"!={CURRENT.major}.{CURRENT.minor}.*,>=3.8")
    found = find_python(SpecifierSet(">=3.8"), prefer=[other.executable])
    assert found.executable == other.executable
    assert found.version == other.version


def test_prefer_is_passed_over_when_it_does_not_match(tmp_path):
    other = find_or_skip(f"!={CURRENT.major}.{CURRENT.minor}.*,>=3.8")
    missing = tmp_path / "no-such-python"
    found = find_python(SpecifierSet(f"=={CURRENT}"), prefer=[missing, other.executable])
    assert found.version == CURRENT


def test_broken_candidates_on_path_are_skipped(tmp_path):
    fake_python(tmp_path, "python3.13", "not json")
    (tmp_path / "python3").write_text("#!/bin/sh\nexit 3\n")
    (tmp_path / "python3").chmod(0o755)
    (tmp_path / "python").write_text("not executable")
    found = find_python(SpecifierSet(f"=={CURRENT}"), search_path=str(tmp_path))
    assert found.version == CURRENT


def test_path_candidates_are_found_by_versioned_name(tmp_path):
    fake = fake_python(tmp_path, "python3.9", '["cpython", [3, 99, 4], "final", 0]')
    found = find_python(SpecifierSet("==3.99.*"), search_path=str(tmp_path))
    assert found == Interpreter(
        executable=fake, version=Version("3.99.4"), implementation="cpython"
    )


def test_pre_releases_are_versioned_and_matched(tmp_path):
    fake_python(tmp_path, "python3", '["cpython", [3, 99, 0], "candidate", 2]')
    found = find_python(SpecifierSet("==3.99.*"), search_path=str(tmp_path))
    assert found.version == Version("3.99.0rc2")


def test_each_interpreter_is_probed_once(tmp_path):
    counter = tmp_path / "runs"
    fake = fake_python(tmp_path, "python3", '["pypy", [3, 98, 0], "final", 0]', counter=counter)
    first = probe(fake)
    assert probe(fake) == first
    assert first.implementation == "pypy"
    assert find_python(SpecifierSet("==3.98.*"), search_path=str(tmp_path)) == first
    assert counter.read_text().splitlines() == ["run"]


def test_an_interpreters_answer_is_kept_across_runs(tmp_path):
    counter = tmp_path / "runs"
    fake = fake_python(tmp_path, "python3", '["cpython", [3, 96, 1], "final", 0]', counter=counter)
    first = probe(fake)
    assert probe(fake) == first
    assert counter.read_text().splitlines() == ["run"]


def test_an_interpreter_changed_in_place_is_asked_again(tmp_path):
    fake = fake_python(tmp_path, "python3", '["cpython", [3, 96, 1], "final", 0]')
    assert probe(fake).version == Version("3.96.1")
    fake_python(tmp_path, "python3", '["cpython", [3, 96, 12], "final", 0]')  # upgraded
    assert probe(fake).version == Version("3.96.12")


def test_pyenv_shims_are_not_probed(tmp_path, monkeypatch):
    shims = tmp_path / "shims"
    shims.mkdir()
    counter = tmp_path / "runs"
    fake_python(shims, "python3", '["cpython", [3, 97, 0], "final", 0]', counter=counter)
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    with pytest.raises(InterpreterNotFoundError) as caught:
        find_python(SpecifierSet("==3.97.*"), search_path=str(shims))
    assert not counter.exists()
    assert not any(str(shims) in entry for entry in caught.value.found)


def test_pyenv_versions_are_searched_newest_first(tmp_path, monkeypatch):
    for version in ("3.98.1", "3.98.10", "3.98.2", "not-a-version"):
        folder = tmp_path / "versions" / version / "bin"
        folder.mkdir(parents=True)
        release = version.split(".")[-1] if version[0].isdigit() else "0"
        fake_python(folder, "python", f'["cpython", [3, 98, {release}], "final", 0]')
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    found = find_python(SpecifierSet("==3.98.*"), search_path="")
    assert found.version == Version("3.98.10")


def test_probe_names_an_executable_that_cannot_run(tmp_path):
    with pytest.raises(VenvError, match="no-such-python"):
        probe(tmp_path / "no-such-python")
