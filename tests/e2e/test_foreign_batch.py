"""Foreign targets of one lock run share pip processes, and a failure reads as it does alone.

The six targets of ``support.multitarget``'s grid, locked with pip-tools: the two Linux
targets this machine runs go to pip-compile, the four others to pip's resolver for them,
dealt into as many pip processes as there are CPUs (``resolve/schedule.py``). The answers
are proven per target against uv in test_multitarget.py; here, that fewer processes ran,
and that a target failing inside a batch fails with its own message.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from helpers import envsync_process
from support.multitarget import ON_LINUX_X86_64, write_lock_spec

if TYPE_CHECKING:
    from pathlib import Path

    from support.pkgindex import PackageIndex

pytestmark = [pytest.mark.e2e, ON_LINUX_X86_64]

GRID = {
    "python_versions": ["3.11", "3.12"],
    "platforms": ["linux-x86_64", "macos-arm64", "windows-x86_64"],
}


#: How each resolver process's boot script starts, as ``-v`` logs it (first line).
BATCH, SINGLE, COMPILE = (
    "-c import contextlib, json, os, sys, traceback",
    "-c import json, runpy, sys",
    "sys.argv[0] = 'pip-compile'",
)


def resolver_runs(err: str) -> dict[str, int]:
    """How many processes of each kind ``-v`` says were started."""
    started = [line for line in err.splitlines() if "envsync.subprocess: running:" in line]
    return {kind: sum(kind in line for line in started) for kind in (BATCH, SINGLE, COMPILE)}


def test_four_foreign_targets_take_fewer_pip_processes_than_targets(
    platform_index: PackageIndex, tmp_path: Path
) -> None:
    write_lock_spec(tmp_path, platform_index.url, **GRID)

    result = envsync_process(tmp_path, "lock", "-v")

    assert result.returncode == 0, result.stderr
    runs = resolver_runs(result.stderr)
    assert runs[COMPILE] == 2  # Python 3.11 and 3.12 on this machine's own platform
    # The four foreign targets, dealt into one batch per CPU (a batch of one runs alone).
    cpus = os.cpu_count() or 1
    assert (runs[BATCH], runs[SINGLE]) == ((min(cpus, 4), 0) if cpus < 4 else (0, 4))


def test_a_target_that_fails_in_a_batch_fails_with_its_own_message(
    platform_index: PackageIndex, tmp_path: Path
) -> None:
    # linuxonly has one wheel, for Linux x86_64: none of the three foreign targets has it.
    write_lock_spec(
        tmp_path,
        platform_index.url,
        platforms=["linux-aarch64", "macos-arm64", "windows-x86_64"],
        python_versions=["3.12"],
        dependencies=["linuxonly"],
    )

    result = envsync_process(tmp_path, "lock", "-v")

    assert result.returncode == 1
    err = result.stderr
    assert "error: no version of linuxonly from the configured indexes has a wheel for " in err
    assert "Python 3.12 on " in err
    assert 'resolver = "uv"' in err  # the hint of the target's own failure
    assert not (tmp_path / "pylock.toml").exists()
    runs = resolver_runs(err)
    if (os.cpu_count() or 1) < 3:  # more foreign targets than CPUs: some shared a process,
        assert runs[BATCH] >= 1
    assert runs[SINGLE] >= 1  # and each that failed ran alone, for its own message
