"""The probe of envsync's own Python, started before the full path loads: taken only when exact.

A cold apply (no probe kept) starts the probe of the Python a new venv is made from as soon
as the fast paths give up; the full path takes its answer instead of starting the same probe
again. Real runs against the local index (a twin with ENVSYNC_FASTPATH=0 runs the probe
itself and must make the same venv), and a stand-in interpreter (a script that counts its
runs and then runs the real one) for what is taken, when, and what is stopped.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from envsync.errors import VenvError
from envsync.system.process import clean_env, started
from envsync.venv import earlyprobe, environment, probescript
from envsync.venv.earlyprobe import EarlyProbe
from envsync.venv.prober import Prober

from helpers import envsync, envsync_process, venv_packages, write_spec
from support import tree_digest

if TYPE_CHECKING:
    from support.pkgindex import PackageIndex

pytestmark = [pytest.mark.e2e, pytest.mark.fastpath]

BASE = Path(getattr(sys, "_base_executable", None) or sys.executable)


def _probes_run(stderr: str, python: Path) -> int:
    """How many times the full path ran the probe of *python* itself (``--verbose``'s log)."""
    return stderr.count(f"running: {python} -I -c import json, os, sys, sysconfig")


def test_a_cold_apply_takes_the_probe_started_ahead_and_makes_the_same_venv(
    tmp_path: Path, package_index: PackageIndex
) -> None:
    made = {}
    for twin, fast in (("ahead", "1"), ("plain", "0")):
        project = tmp_path / twin
        project.mkdir()
        write_spec(project, ["alpha", "cli-tool"], index_url=package_index.url)
        cache = tmp_path / f"cache-{twin}"
        env = {"ENVSYNC_CACHE_DIR": str(cache), "ENVSYNC_FASTPATH": fast}
        ran = envsync_process(project, "apply", "--verbose", env=env)
        assert ran.returncode == 0, ran.stderr
        # With the fast paths on, the probe started ahead answered; off, the run asked itself.
        assert _probes_run(ran.stderr, BASE) == (0 if fast == "1" else 1), ran.stderr
        site = next((project / ".venv" / "lib").glob("python*/site-packages"))
        made[twin] = (
            venv_packages(project),
            (project / "pylock.toml").read_bytes(),
            # The files installed, but RECORD and the scripts, which name their own venv.
            {k: v for k, v in tree_digest(site).items() if not k.endswith("/RECORD")},
            # The answer kept for the base Python: the same key, so the same file name.
            {p.name: p.read_bytes() for p in (cache / "probes").glob("venv-*.json")},
        )
    assert set(made["ahead"][0]) == {"alpha", "beta", "cli-tool"}
    ahead, plain = made["ahead"], made["plain"]
    assert ahead[:3] == plain[:3]
    shared = ahead[3].keys() & plain[3].keys()  # each also keeps its own venv's answer
    assert shared
    assert all(ahead[3][name] == plain[3][name] for name in shared)


@pytest.fixture
def python(tmp_path: Path) -> Path:
    """A stand-in for an interpreter: it counts its runs in ``runs``, then runs the real one."""
    script = tmp_path / "bin" / "python"
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\necho run >> "{tmp_path / "runs"}"\nexec "{BASE}" "$@"\n')
    script.chmod(0o755)
    return script


def _runs(python: Path) -> int:
    counter = python.parent.parent / "runs"
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def _early(python: Path) -> EarlyProbe:
    argv, env = probescript.argv(str(python)), clean_env()
    return EarlyProbe(argv, env, started(argv, cwd=None, env=env))


@pytest.mark.usefixtures("own_cache")
def test_the_probe_started_ahead_is_the_only_run_and_gives_the_same_answer(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prober = Prober(early=_early(python))
    info = environment.probe_interpreter(python, prober=prober)
    assert _runs(python) == 1  # the probe started ahead, and no other
    # A new run with nothing kept asks the interpreter itself: the same answer.
    monkeypatch.setenv("ENVSYNC_CACHE_DIR", str(tmp_path / "empty-cache"))
    assert info == environment.probe_interpreter(python, prober=Prober())
    assert _runs(python) == 2


@pytest.mark.usefixtures("own_cache")
def test_a_probe_started_for_another_command_line_or_environment_is_not_taken(
    python: Path,
) -> None:
    early = _early(python)
    argv, env = list(early.argv), dict(early.env)
    assert early.take([*argv[:-1], "/elsewhere"], env) is None
    assert early.take(argv, {**env, "ENVSYNC_OTHER": "1"}) is None
    taken = early.take(argv, env)
    assert taken is not None
    assert taken.returncode == 0
    assert '"tags"' in taken.stdout
    assert early.take(argv, env) is None  # taken once


def test_a_probe_nobody_took_is_stopped(tmp_path: Path) -> None:
    sleeper = tmp_path / "python"
    sleeper.write_text("#!/bin/sh\nexec sleep 60\n")
    sleeper.chmod(0o755)
    proc = started([str(sleeper)], cwd=None, env=clean_env())
    early = EarlyProbe([str(sleeper)], clean_env(), proc)
    begun = time.monotonic()
    early.close()
    assert time.monotonic() - begun < 10  # not the sleep's minute
    assert proc.returncode is not None  # ended and reaped: no process left behind
    with pytest.raises(ProcessLookupError):
        os.kill(proc.pid, 0)


@pytest.mark.usefixtures("own_cache")
def test_a_failing_probe_started_ahead_fails_as_the_run_s_own_would(tmp_path: Path) -> None:
    broken = tmp_path / "bin" / "python"
    broken.parent.mkdir()
    broken.write_text("#!/bin/sh\necho 'cannot start: no such library' >&2\nexit 3\n")
    broken.chmod(0o755)
    with pytest.raises(VenvError) as ahead:
        environment.probe_interpreter(broken, prober=Prober(early=_early(broken)))
    with pytest.raises(VenvError) as own:
        environment.probe_interpreter(broken, prober=Prober())
    assert str(ahead.value) == str(own.value)
    assert "cannot start: no such library" in str(ahead.value)


@pytest.mark.usefixtures("own_cache")
def test_a_probe_that_cannot_start_ahead_leaves_the_run_to_probe_itself(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*_: object, **__: object) -> None:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(earlyprobe, "started", refused)
    assert earlyprobe.started_probe() is None  # no answer kept, and no process either
    result = envsync(capsys, "apply", project=project)
    assert result.code == 0, result.err
    assert set(venv_packages(project)) == {"alpha", "beta"}


def test_a_shared_folder_for_the_probe_stops_no_run_early_and_is_reported_once(
    tmp_path: Path, project: Path
) -> None:
    # The folder that lends packaging to a probed Python must be private: another user could
    # plant modules in it. With the fast paths on, the early start gives up quietly and the
    # run's own probe says why, as with them off: no traceback, nothing made.
    temp = tmp_path / "tmp"
    shims = temp / f"envsync-shims-{os.getuid()}"
    shims.mkdir(parents=True)
    shims.chmod(0o777)
    said = {}
    for fast in ("1", "0"):
        env = {"TMPDIR": str(temp), "ENVSYNC_CACHE_DIR": str(tmp_path / f"cache-{fast}")}
        ran = envsync_process(project, "apply", env={**env, "ENVSYNC_FASTPATH": fast})
        assert ran.returncode != 0
        assert "Traceback" not in ran.stderr
        said[fast] = ran.stderr
    assert f"{shims} is not a private folder owned by this user" in said["1"]
    assert said["1"] == said["0"]
    assert not (project / ".venv").exists()
