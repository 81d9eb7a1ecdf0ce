"""The relock's resolver started ahead: what is started, and when it is taken over.

``headstart`` writes the next relock's files from env.toml and a recipe; ``ahead.Calls``
takes the early run over only when the full path asks for exactly that run. Real processes
here (a tiny Python program standing in for the resolver), no mocks.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import tomllib
from hypothesis import given
from hypothesis import strategies as st
from packaging.requirements import Requirement

from envsync.errors import ResolutionError
from envsync.resolve.ahead import OUTPUT, Ahead, Calls, folder_files
from envsync.system import sealed
from envsync.system.process import clean_env, run
from envsync.usecases import headstart

#: A stand-in resolver: writes its input back, uppercased, as its output; exits with argv[1].
RESOLVER = (
    "import pathlib, sys; t = pathlib.Path('main.in').read_text(); "
    "pathlib.Path('resolved.txt').write_text(t.upper()); print('done'); sys.exit(int(sys.argv[1]))"
)
SPEC = '[env]\ndependencies = ["alpha", "beta>=1"]\n\n[index]\nurl = "http://127.0.0.1:1/simple"\n'
LOCK = b"lock-version = '1.0'\n"


def _argv(code: int = 0) -> list[str]:
    return [sys.executable, "-c", RESOLVER, str(code)]


def _started(tmp_path: Path, files: dict[str, bytes], argv: list[str] | None = None) -> Ahead:
    folder = tmp_path / "ahead"
    folder.mkdir()
    for name, body in files.items():
        (folder / name).write_bytes(body)
    return Ahead(argv or _argv(), clean_env(), str(folder), files)


def _work(tmp_path: Path, files: dict[str, bytes]) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    for name, body in files.items():
        (work / name).write_bytes(body)
    return work


FILES = {"main.in": b"alpha\n", OUTPUT: b"alpha==1.0\n"}


def test_the_run_asked_for_is_taken_over_with_its_output(tmp_path: Path) -> None:
    ahead = _started(tmp_path, FILES)
    work = _work(tmp_path, FILES)
    calls = Calls(run, ahead)

    proc = calls(_argv(), error=ResolutionError, cwd=work, env=clean_env())

    assert proc.stdout == "done\n"
    assert (work / OUTPUT).read_text() == "ALPHA\n"
    assert ahead.taken
    assert [call.files for call in calls.made] == [FILES]  # recorded for the next recipe
    ahead.close()
    assert not Path(ahead.folder).exists()


@pytest.mark.parametrize(
    ("argv", "env", "files"),
    [
        ([*_argv(), "--another"], None, None),  # another command line
        (None, {"ENVSYNC_SOMETHING": "1"}, None),  # another environment
        (None, None, {**FILES, "main.in": b"alpha\nbeta\n"}),  # another input file
        (None, None, {"main.in": b"alpha\n"}),  # no pins to keep
        (None, None, {**FILES, "group-dev.in": b"gamma\n"}),  # a file more
    ],
)
def test_any_other_run_stops_the_early_one_and_runs_its_own(
    tmp_path: Path,
    argv: list[str] | None,
    env: dict[str, str] | None,
    files: dict[str, bytes] | None,
) -> None:
    ahead = _started(tmp_path, FILES, argv=[sys.executable, "-c", "import time; time.sleep(60)"])
    work = _work(tmp_path, files or FILES)
    calls = Calls(run, ahead)

    proc = calls(argv or _argv(), error=ResolutionError, cwd=work, env=clean_env(env))

    assert proc.stdout == "done\n"  # its own run: the early one would have slept a minute
    assert ahead.taken
    assert ahead._proc.returncode is not None  # stopped, not left running
    ahead.close()
    assert not Path(ahead.folder).exists()


def test_only_the_first_run_may_be_taken_over(tmp_path: Path) -> None:
    ahead = _started(tmp_path, FILES)
    work = _work(tmp_path, FILES)
    calls = Calls(run, ahead)
    calls(_argv(), error=ResolutionError, cwd=work, env=clean_env())
    (work / OUTPUT).write_bytes(FILES[OUTPUT])

    assert ahead.take(_argv(), work, clean_env()) is None
    calls(_argv(), error=ResolutionError, cwd=work, env=clean_env())
    assert calls.count == 2
    ahead.close()


def test_a_failed_early_run_fails_as_the_runner_would(tmp_path: Path) -> None:
    ahead = _started(tmp_path, FILES, argv=_argv(3))
    work = _work(tmp_path, FILES)

    with pytest.raises(ResolutionError, match="done"):
        Calls(run, ahead)(_argv(3), error=ResolutionError, cwd=work, env=clean_env())
    with pytest.raises(ResolutionError, match="done"):
        run(_argv(3), error=ResolutionError, cwd=work, env=clean_env())
    ahead.close()


def test_folder_files_reads_regular_files_only(tmp_path: Path) -> None:
    (tmp_path / "a.in").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "a.in")
    assert folder_files(tmp_path) == {"a.in": b"x"}


# -- what the fast path starts ----------------------------------------------------------------


def _recipe(project: Path, spec: str = SPEC) -> dict[str, Any]:
    """A recipe as ``aheadrecipe.keep`` writes it for *spec* (main list only)."""
    data = tomllib.loads(spec)
    lists = {"main.in": ["env", "dependencies"]}
    items = data["env"]["dependencies"]
    return {
        "format": headstart.FORMAT,
        "lock": hashlib.sha256((project / "pylock.toml").read_bytes()).hexdigest(),
        "env": hashlib.sha256(spec.encode()).hexdigest(),
        "spec": headstart.blanked(data, lists),
        "lists": lists,
        "items": {"main.in": items},
        "lines": {item: str(Requirement(item)) for item in items},
        "preferences": "alpha==1.0\nbeta==2.0\n",
        "argv": _argv(),
        "venv": str(project / ".venv"),
        "venv_python": str(project / ".venv" / "bin" / "python"),
        "python": sys.executable,
        "set": {"ENVSYNC_EXAMPLE": "1"},
        "unset": [],
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "env.toml").write_text(SPEC, "utf-8")
    (folder / "pylock.toml").write_bytes(LOCK)
    return folder


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """envsync's cache folder, of this test's own."""
    monkeypatch.setenv("ENVSYNC_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _files(project: Path, spec: str, recipe: dict[str, Any] | None = None) -> object:
    (project / "env.toml").write_text(spec, "utf-8")
    return headstart._files(str(project / "env.toml"), recipe or _recipe(project))


def test_an_added_requirement_gives_the_files_the_full_path_writes(project: Path) -> None:
    spec = SPEC.replace('"beta>=1"]', '"beta>=1", "Gamma_Two[x]==1.0"]')

    assert _files(project, spec) == {
        "main.in": b"alpha\nbeta>=1\nGamma_Two[x]==1.0\n",
        OUTPUT: b"alpha==1.0\nbeta==2.0\n",
    }


@pytest.mark.parametrize(
    "spec",
    [
        SPEC,  # unchanged: nothing to resolve anew
        SPEC.replace('"alpha", ', ""),  # a removal: pruned, no resolver
        SPEC.replace('"beta>=1"]', '"beta>=1", "gamma>=1,<2"]'),  # packaging reorders it
        SPEC.replace('"beta>=1"]', '"beta>=1", "gamma ; python_version > \'3\'"]'),
        SPEC.replace('"beta>=1"]', '"beta>=1", "gamma"]\npython = "3.11"'),  # more changed
        SPEC.replace('["alpha", "beta>=1"]', '"alpha"'),  # not a list
    ],
)
def test_nothing_starts_unless_only_the_lists_grew_as_certain(project: Path, spec: str) -> None:
    assert _files(project, spec) is None


def _kept_with_gamma_added(project: Path, recipe: dict[str, Any]) -> None:
    """*recipe* kept for *project*'s lock, and env.toml asking for gamma too."""
    spec_path = str(project / "env.toml")
    sealed.write(headstart.path_of(spec_path, recipe["lock"]), recipe, fault="writing-recipe")
    (project / "env.toml").write_text(SPEC.replace('"beta>=1"]', '"beta>=1", "gamma"]'))


def test_a_recipe_for_another_lock_or_with_a_changed_byte_starts_nothing(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: Path
) -> None:
    spec_path = str(project / "env.toml")
    recipe = _recipe(project)
    sha = recipe["lock"]
    _kept_with_gamma_added(project, recipe)
    planned = headstart._planned(spec_path)
    assert planned is not None
    argv, env, files = planned
    assert argv == _argv()
    assert env["ENVSYNC_EXAMPLE"] == "1"
    assert files["main.in"] == b"alpha\nbeta>=1\ngamma\n"

    path = Path(headstart.path_of(spec_path, sha))
    body = bytearray(path.read_bytes())
    body[-3] ^= 1
    path.write_bytes(bytes(body))
    assert headstart._planned(spec_path) is None  # the recipe's own hash no longer holds

    sealed.write(str(path), recipe, fault="writing-recipe")
    (project / "pylock.toml").write_bytes(LOCK + b"\n")
    assert headstart._planned(spec_path) is None  # another lock: another recipe, none here


BASE, VENV = "/base/bin/python3.11", "/p/.venv/bin/python"


@pytest.mark.parametrize(
    ("argv", "ran", "venv", "expected"),
    [
        # pip-compile runs in the interpreter; uv is told it. Either way the venv's, once made.
        ([BASE, "-I", "-c", "boot"], BASE, True, [VENV, "-I", "-c", "boot"]),
        (
            ["uv", "pip", "compile", f"--python={BASE}"],
            BASE,
            True,
            ["uv", "pip", "compile", f"--python={VENV}"],
        ),
        (
            ["uv", "pip", "compile", f"--python={VENV}"],
            VENV,
            True,
            ["uv", "pip", "compile", f"--python={VENV}"],
        ),
        # No venv: the recipe's run as it was, unless that one ran in the venv now gone.
        (
            ["uv", "pip", "compile", f"--python={BASE}"],
            BASE,
            False,
            ["uv", "pip", "compile", f"--python={BASE}"],
        ),
        (["uv", "pip", "compile", f"--python={VENV}"], VENV, False, None),
        ([VENV, "-I", "-c", "boot"], VENV, False, None),
        # Only the interpreter's own argument changes, not one that merely contains its path.
        (["uv", f"--x={BASE}/y", BASE + "x"], BASE, True, ["uv", f"--x={BASE}/y", BASE + "x"]),
    ],
)
def test_the_run_is_planned_under_the_interpreter_the_full_path_uses(
    project: Path, cache: Path, argv: list[str], ran: str, venv: bool, expected: list[str] | None
) -> None:
    venv_dir = project / ".venv"
    if venv:
        venv_dir.mkdir()
        (venv_dir / "pyvenv.cfg").write_text("home = /base/bin\n")
    recipe = {**_recipe(project), "argv": argv, "python": ran, "venv_python": VENV}
    _kept_with_gamma_added(project, recipe)

    planned = headstart._planned(str(project / "env.toml"))

    assert (planned and planned[0]) == expected


@pytest.mark.fastpath  # starts nothing with ENVSYNC_FASTPATH=0
def test_started_runs_the_recipe_and_leaves_no_folder(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: Path
) -> None:
    spec_path = str(project / "env.toml")
    recipe = _recipe(project)
    _kept_with_gamma_added(project, recipe)

    ahead = headstart.started(spec_path)

    assert ahead is not None
    work = _work(tmp_path, ahead.files)
    taken = ahead.take(_argv(), work, ahead.env)
    assert taken is not None
    assert (work / OUTPUT).read_text() == "ALPHA\nBETA>=1\nGAMMA\n"
    ahead.close()
    assert list((cache / "ahead").iterdir()) == []
    monkeypatch.setenv("ENVSYNC_FASTPATH", "0")
    assert headstart.started(spec_path) is None


@given(st.from_regex(headstart.PLAIN, fullmatch=True))
def test_a_plain_requirement_is_written_back_as_it_is(text: str) -> None:
    # The fast path writes a requirement it has no line for as it is only when packaging
    # would: else the full path's files differ and the early run is thrown away.
    try:
        requirement = Requirement(text)
    except ValueError:
        return  # not a requirement at all: the full path reports env.toml
    assert str(requirement) == text


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("alpha", "alpha"),
        ("Alpha.Beta_c-1[extra-1]~=2.0.*", "Alpha.Beta_c-1[extra-1]~=2.0.*"),
        ("alpha >= 1", None),  # a space: packaging drops it, so it must be known
        ("alpha[b,a]", None),  # packaging sorts extras
        ("known >= 1", "known>=1"),
        (3, None),
    ],
)
def test_a_line_is_known_or_plain(item: object, expected: str | None) -> None:
    known = {"known >= 1": "known>=1"}
    assert headstart._line(item, known, re.compile(headstart.PLAIN)) == expected


@pytest.mark.fastpath  # starts nothing with ENVSYNC_FASTPATH=0
def test_a_run_that_cannot_start_leaves_no_folder(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: Path
) -> None:
    spec_path = str(project / "env.toml")
    recipe = {**_recipe(project), "argv": [str(tmp_path / "no-such-program")]}
    _kept_with_gamma_added(project, recipe)

    assert headstart.started(spec_path) is None
    assert list((cache / "ahead").iterdir()) == []


def test_an_early_run_nobody_asked_for_is_stopped_and_its_folder_deleted(tmp_path: Path) -> None:
    ahead = _started(tmp_path, FILES, argv=[sys.executable, "-c", "import time; time.sleep(60)"])
    ahead.close()
    assert ahead._proc.returncode not in (None, 0)  # killed, and waited for
    assert not Path(ahead.folder).exists()
