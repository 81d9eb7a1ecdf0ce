"""apply as a transaction: interrupted at every step, the venv is the before or the after state.

A real `envsync apply --frozen` (another process) replaces venv state A by lock B: upgrades,
an addition, removals and a console script kept. It is interrupted at each fault point of
``envsync.system.faults`` with SIGKILL, SIGINT and SIGTERM. Every file of the venv is compared,
by hash, with the states A and B that plain applies produce.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
from typing import TYPE_CHECKING

import pytest

from envsync.install import transaction

from helpers import envsync_process, write_spec

if TYPE_CHECKING:
    import subprocess
    from pathlib import Path

    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e

BEFORE = ["alpha==1.0", "beta==1.0", "gamma==1.0", "theta==1.0", "cli-tool==1.0"]
AFTER = ["alpha==2.0", "beta==2.0", "delta==1.0", "cli-tool==1.0"]
#: Where an apply is stopped: (fault point, whether the venv is changed there).
POINTS = [
    "downloaded",
    "moving-aside:3",
    "moved-aside:2",
    "installed:2",
    "before-commit",
    "committed",
]
SIGNALS = {"KILL": -signal.SIGKILL, "INT": 130, "TERM": 143}
NOT_IN_STATE = {".envsync-state.json"}


def run(
    project: Path, *args: str, fault: str | None = None, sig: str = "KILL"
) -> subprocess.CompletedProcess[str]:
    return envsync_process(project, *args, fault=fault, fault_signal=sig)


def state(venv: Path) -> dict[str, str]:
    """Every file and link of the venv by its hash (bytecode caches and envsync's state aside)."""
    out = {}
    for path in sorted(venv.rglob("*")):
        relative = path.relative_to(venv)
        if "__pycache__" in relative.parts or relative.parts[0] in NOT_IN_STATE:
            continue
        if path.is_symlink():
            out[relative.as_posix()] = f"-> {path.readlink()}"
        elif path.is_file():
            out[relative.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def states(
    package_index: PackageIndex, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, dict[str, str]]]:
    """A project whose venv is in state A, with the locks of A and B, and both states."""
    project = tmp_path_factory.mktemp("txn")
    locks = {}
    for name, deps in (("A", BEFORE), ("B", AFTER)):
        write_spec(project, deps, index_url=package_index.url)
        assert run(project, "lock").returncode == 0
        locks[name] = (project / "pylock.toml").read_bytes()
    found = {}
    for name in ("B", "A"):
        use(project, locks[name])
        done = run(project, "apply", "--frozen")
        assert done.returncode == 0, done.stderr
        found[name] = state(project / ".venv")
    assert found["A"] != found["B"]
    for name, lock in locks.items():
        (project / f"lock-{name}.toml").write_bytes(lock)
    return project, found


def use(project: Path, lock: bytes) -> None:
    (project / "pylock.toml").write_bytes(lock)


def back_to_a(project: Path, expected: dict[str, str]) -> None:
    use(project, (project / "lock-A.toml").read_bytes())
    assert run(project, "apply", "--frozen").returncode == 0
    assert state(project / ".venv") == expected


@pytest.mark.parametrize("sig", list(SIGNALS))
@pytest.mark.parametrize("point", POINTS)
def test_an_interrupted_apply_leaves_the_before_or_the_after_state(
    states: tuple[Path, dict[str, dict[str, str]]], point: str, sig: str
) -> None:
    project, found = states
    venv = project / ".venv"
    back_to_a(project, found["A"])
    use(project, (project / "lock-B.toml").read_bytes())

    stopped = run(project, "apply", "--frozen", fault=point, sig=sig)

    assert stopped.returncode == SIGNALS[sig], stopped.stderr
    assert "Traceback" not in stopped.stderr
    if sig == "KILL":
        # Nothing ran after the kill: the next run finds the journal and finishes the job.
        committed = point == "committed"
        assert transaction.pending(venv) == (point != "downloaded")
        if transaction.pending(venv):
            checked = run(project, "check")
            assert checked.returncode == 2
            assert "an apply was stopped part way" in checked.stdout
        transaction.recover(venv)
        assert state(venv) == found["B" if committed else "A"]
    elif point == "committed":
        # Ctrl-C and SIGTERM once the journal says committed: the new state stands.
        assert not transaction.pending(venv)
        assert state(venv) == found["B"]
        assert "nothing was changed" not in stopped.stderr
    else:
        # Ctrl-C and SIGTERM before: the run puts the venv back itself, and says so.
        assert not transaction.pending(venv)
        assert state(venv) == found["A"]
        if point != "downloaded":
            assert "nothing was changed" in stopped.stderr
    # And the next apply completes.
    done = run(project, "apply", "--frozen")
    assert done.returncode == 0, done.stderr
    assert state(venv) == found["B"]
    assert run(project, "check").returncode == 0


def test_the_next_apply_repairs_a_killed_one_and_says_so(
    states: tuple[Path, dict[str, dict[str, str]]],
) -> None:
    project, found = states
    back_to_a(project, found["A"])
    use(project, (project / "lock-B.toml").read_bytes())
    assert run(project, "apply", "--frozen", fault="installed:1").returncode == -signal.SIGKILL

    done = run(project, "apply", "--frozen")

    assert done.returncode == 0, done.stderr
    assert "undid the changes of an apply that was interrupted" in done.stderr
    assert state(project / ".venv") == found["B"]


@pytest.mark.parametrize("point", ["moving-aside:2", "installed:1", "before-commit"])
def test_a_killed_apply_is_repaired_even_when_the_lock_file_is_back_as_it_was(
    states: tuple[Path, dict[str, dict[str, str]]], point: str
) -> None:
    project, found = states
    back_to_a(project, found["A"])
    use(project, (project / "lock-A.toml").read_bytes())
    assert run(project, "apply", "--frozen").stdout.startswith("No changes")  # its record exists
    lock = project / "pylock.toml"
    stamp = lock.stat()
    use(project, (project / "lock-B.toml").read_bytes())
    assert run(project, "apply", "--frozen", fault=point).returncode == -signal.SIGKILL
    # Back to the very lock file the record was made for: same bytes, same mtime.
    use(project, (project / "lock-A.toml").read_bytes())
    os.utime(lock, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))

    again = run(project, "apply", "--frozen")

    assert again.returncode == 0, again.stderr
    # The full path ran (the no-change path would have printed one line and stopped):
    assert "undid the changes of an apply that was interrupted" in again.stderr
    assert state(project / ".venv") == found["A"]


def test_a_failed_install_puts_the_venv_back(
    states: tuple[Path, dict[str, dict[str, str]]],
) -> None:
    project, found = states
    venv = project / ".venv"
    back_to_a(project, found["A"])
    use(project, (project / "lock-B.toml").read_bytes())
    # delta's unpacked copy in the cache is made unusable half way: linking it fails.
    blocker = venv / "lib"
    site = next(blocker.glob("python*/site-packages"))
    (site / "delta").write_text("a file where the package's folder must go\n")
    before = state(venv)

    failed = run(project, "apply", "--frozen")

    assert failed.returncode == 1
    assert "(nothing was changed:" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert state(venv) == before
    assert not transaction.pending(venv)
    (site / "delta").unlink()
    shutil.rmtree(site / "__pycache__", ignore_errors=True)
    assert run(project, "apply", "--frozen").returncode == 0
    assert state(venv) == found["B"]


def test_the_journal_lists_the_venv_before_anything_moves(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "lib").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "lib" / "kept.py").write_text("x = 1\n")
    (venv / "lib64").symlink_to("lib")
    txn = transaction.begin(venv)
    (venv / "lib" / "new.py").write_text("y = 2\n")
    (venv / "lib" / "newdir").mkdir()
    (venv / "lib" / "newdir" / "mod.py").write_text("")

    txn.rollback()

    assert sorted(p.relative_to(venv).as_posix() for p in venv.rglob("*")) == [
        "lib",
        "lib/kept.py",
        "lib64",
        "pyvenv.cfg",
    ]
