"""Run envsync as a user does: in this process, or as a process of its own.

Every test that runs envsync goes through here, so that each run is isolated from the
machine's pip configuration the same way (`support.isolated_env`) and `--spec` is placed
the same way: after the command's own options, before a `--` and the command that follows.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from envsync.cli import main

from support import isolated_env

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path
    from typing import IO

    import pytest

__all__ = ["Result", "envsync", "envsync_process", "envsync_started"]

TIMEOUT = 300
"""Seconds a process run may take before the test fails (a hung envsync must not hang CI)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Result:
    """What a user sees from one envsync run in this process."""

    argv: tuple[str, ...]
    """The arguments envsync was given (without the program name)."""
    code: int
    """Its exit code."""
    out: str
    """What it printed on stdout."""
    err: str
    """What it printed on stderr."""

    def __str__(self) -> str:
        return f"envsync {' '.join(self.argv)} -> {self.code}\n{self.err}{self.out}"


def _with_spec(project: Path | None, args: Sequence[str]) -> list[str]:
    """*args* with ``--spec project/env.toml`` before any ``--`` (what follows is a command's)."""
    if project is None:
        return list(args)
    cut = args.index("--") if "--" in args else len(args)
    return [*args[:cut], "--spec", str(project / "env.toml"), *args[cut:]]


def envsync(
    capsys: pytest.CaptureFixture[str] | None, *args: str, project: Path | None = None
) -> Result:
    """Run the envsync CLI in this process, as a user would from a shell.

    *capsys* captures the output; without it (a module fixture, a hypothesis test: neither
    can have one) sys.stdout and sys.stderr are redirected for the run. With *project*,
    ``--spec project/env.toml`` is added.
    """
    argv = _with_spec(project, args)
    if capsys is not None:
        capsys.readouterr()
        code = main(argv)
        captured = capsys.readouterr()
        return Result(argv=tuple(argv), code=code, out=captured.out, err=captured.err)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return Result(argv=tuple(argv), code=code, out=out.getvalue(), err=err.getvalue())


def _argv(project: Path | None, *args: str, importtime: bool = False) -> list[str]:
    """``python -m envsync ARGS`` (with ``--spec`` for *project*), as a shell runs it.

    *importtime* adds ``-X importtime``: stderr then names every module the run imported.
    """
    python = [sys.executable, "-X", "importtime"] if importtime else [sys.executable]
    return [*python, "-m", "envsync", *_with_spec(project, args)]


def _process_env(
    env: Mapping[str, str | None] | None, fault: str | None, fault_signal: str
) -> dict[str, str]:
    """The isolated environment with the *fault* to inject, and *env* on top (None unsets)."""
    faults = {"ENVSYNC_FAULT": fault, "ENVSYNC_FAULT_SIGNAL": fault_signal} if fault else {}
    found = isolated_env(faults)
    for key, value in (env or {}).items():
        if value is None:
            found.pop(key, None)
        else:
            found[key] = value
    return found


def envsync_started(
    project: Path | None,
    *args: str,
    env: Mapping[str, str | None] | None = None,
    fault: str | None = None,
    fault_signal: str = "KILL",
    importtime: bool = False,
    cwd: Path | None = None,
    stdout: int | IO[Any] | None = subprocess.PIPE,
    stderr: int | IO[Any] | None = subprocess.PIPE,
) -> subprocess.Popen[str]:
    """Start ``python -m envsync ARGS --spec project/env.toml``; the caller waits for it.

    For what needs the running process: signals, locks held by another run, its children.
    *env* is added to the isolated environment (a None value unsets a variable); *fault*
    (``POINT[:N]``) makes the run send itself *fault_signal* there (see
    `envsync.system.faults`); *stdout* and *stderr* go to pipes unless given (None: to this
    process's own).
    """
    return subprocess.Popen(
        _argv(project, *args, importtime=importtime),
        env=_process_env(env, fault, fault_signal),
        cwd=cwd,
        stdout=stdout,
        stderr=stderr,
        text=True,
    )


def envsync_process(
    project: Path | None, *args: str, timeout: float = TIMEOUT, **options: Any
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m envsync ARGS --spec project/env.toml`` to its end, its output captured.

    For what an in-process run cannot show: signals, kills, fault points read at start-up,
    what is imported. *options* are those of `envsync_started`; *timeout* fails a hung run.
    """
    with envsync_started(project, *args, **options) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
