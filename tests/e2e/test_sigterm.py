"""SIGTERM at any moment of a real ``envsync apply`` ends it with exit 143, never as killed.

Each run is a fresh project whose apply makes a venv and installs into it; the signal comes
0 ms, 1 ms, ... after envsync installed its handler, up to past the end of the run. The
handler's arrival is read from /proc (``SigCgt``): before it, the interpreter is still
starting and the default action of SIGTERM applies, which no Python program can change.
A signal that comes once the result is decided (envsync then blocks SIGTERM, ``SigBlk``)
may leave the run's own result standing, and only then.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from helpers import envsync_process, envsync_started, write_spec

if TYPE_CHECKING:
    import subprocess

    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads signal masks from /proc (Linux)"
)

TERM_BIT = 1 << (signal.SIGTERM - 1)
#: Delays after the handler is in place, in ms; more are added up to the run's length.
FIRST_DELAYS = [0, 0, 1, 2, 3, 5, 8, 13, 20, 30, 50]


def _mask(pid: int, field: str) -> int:
    """A signal mask of /proc/PID/status (SigCgt: caught, SigBlk: blocked); 0 once gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0
    found = [line.split()[1] for line in lines if line.startswith(f"{field}:")]
    return int(found[0], 16) if found else 0


def _handler_installed(proc: subprocess.Popen[str]) -> float:
    """Wait until envsync caught SIGTERM; return when (time.monotonic)."""
    deadline = time.monotonic() + 30
    while not _mask(proc.pid, "SigCgt") & TERM_BIT:
        assert proc.poll() is None, "envsync ended before it installed its SIGTERM handler"
        assert time.monotonic() < deadline
    return time.monotonic()


@pytest.fixture(scope="module")
def template(package_index: PackageIndex, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """env.toml and its pylock.toml, for copies to apply."""
    root = tmp_path_factory.mktemp("sigterm")
    write_spec(root, ["alpha", "beta", "cli-tool"], index_url=package_index.url)
    locked = envsync_process(root, "lock")
    assert locked.returncode == 0, locked.stderr
    return root


def _project(template: Path, folder: Path) -> Path:
    folder.mkdir()
    for name in ("env.toml", "pylock.toml"):
        (folder / name).write_bytes((template / name).read_bytes())
    return folder


def _length(template: Path, tmp_path: Path) -> float:
    """How long an apply runs after its handler is in place, unsignalled."""
    tmp_path.mkdir()
    with envsync_started(_project(template, tmp_path / "whole"), "apply", "--frozen") as proc:
        began = _handler_installed(proc)
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    return time.monotonic() - began


def test_sigterm_at_any_moment_of_an_apply_ends_it_with_exit_143(template: Path, tmp_path: Path):
    # The shortest of two: the first run also fills envsync's wheel cache.
    length = min(_length(template, tmp_path / "first"), _length(template, tmp_path / "second"))
    delays = [d / 1000 for d in FIRST_DELAYS] + [length * i / 12 for i in range(1, 14)]
    lock = (template / "pylock.toml").read_bytes()
    outcomes = []
    for number, delay in enumerate(delays):
        project = _project(template, tmp_path / f"run{number}")
        with envsync_started(project, "apply", "--frozen") as proc:
            installed = _handler_installed(proc)
            time.sleep(max(0.0, installed + delay - time.monotonic()))
            # os.kill, not send_signal: that reaps a process that just ended, and then its
            # /proc entry is gone; unreaped, an ended one is a zombie that keeps its masks.
            os.kill(proc.pid, signal.SIGTERM)
            decided = bool(_mask(proc.pid, "SigBlk") & TERM_BIT)
            out, err = proc.communicate(timeout=300)
        outcomes.append((delay, proc.returncode))
        assert "Traceback" not in err, err
        assert (project / "pylock.toml").read_bytes() == lock
        if proc.returncode == 0:  # the signal came after the result was decided
            assert decided, (delay, out, err)
            continue
        assert proc.returncode == 143, (delay, proc.returncode, out, err)
        assert "error: terminated (SIGTERM)" in err, err
        _assert_before_or_after(project)
    # The signal really came during the runs, not only after them. The later delays are
    # fractions of one unsignalled run's length, which a busy machine stretches or shrinks:
    # only the first ones are sure to land inside a run.
    assert sum(code == 143 for _, code in outcomes) >= len(FIRST_DELAYS) + 2, outcomes


def _assert_before_or_after(project: Path) -> None:
    """No venv (the one made for the run is gone), or one that equals the lock."""
    venv = project / ".venv"
    if not venv.exists():
        return
    checked = envsync_process(project, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_sigterm_held_while_the_venv_folder_is_made_undoes_that_folder(
    template: Path, tmp_path: Path
) -> None:
    # The signal comes while signals are held (the folder made, its undo being noted), so
    # it is raised the moment the hold ends: that moment must be inside the undo's reach.
    project = _project(template, tmp_path / "p")
    lock = (project / "pylock.toml").read_bytes()

    stopped = envsync_process(
        project, "apply", "--frozen", fault="venv-folder", fault_signal="TERM"
    )

    assert stopped.returncode == 143, stopped.stderr
    assert "error: terminated (SIGTERM)" in stopped.stderr
    assert not (project / ".venv").exists()
    assert (project / "pylock.toml").read_bytes() == lock
    again = envsync_process(project, "apply", "--frozen")
    assert again.returncode == 0, again.stderr
    assert envsync_process(project, "check").returncode == 0
