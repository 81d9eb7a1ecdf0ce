"""The one place that starts processes: logs argv with secrets redacted, maps failure to errors.

Every pip / pip-compile / interpreter probe goes through ``run``. Callers name the error class
a failure becomes, so the message is theirs and the stderr travels with it. ``started`` starts
a run that is waited for later (a relock's resolver started ahead): this module is then
loaded on the start-up path, so logging and the error classes are loaded when first used.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
from typing import IO, TYPE_CHECKING, Protocol

from envsync import interrupt

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from envsync.errors import EnvsyncError

__all__ = [
    "Runner",
    "Worker",
    "call",
    "checked",
    "clean_env",
    "finished",
    "redact",
    "run",
    "started",
    "stopped",
    "tail",
]


def _log() -> logging.Logger:
    import logging  # noqa: PLC0415 - see the module docstring

    return logging.getLogger("envsync.subprocess")


# user:password@ or token@ in any URL-looking string.
_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


def redact(text: str) -> str:
    """Replace credentials in URLs inside *text* with ``***``."""
    return _CREDENTIALS.sub(r"\g<scheme>***@", text)


def tail(output: str, lines: int = 15) -> str:
    """The last non-blank *lines* of a tool's output, indented and redacted, for a message."""
    kept = [line for line in output.strip().splitlines() if line.strip()][-lines:]
    return redact("\n".join(f"  {line}" for line in kept))


_CACHE_VARIABLES = frozenset({"PIP_CACHE_DIR", "UV_CACHE_DIR"})


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """os.environ without pip's configuration: envsync's spec is the only source of indexes.

    pip.conf files and PIP_* variables would otherwise add indexes, find-links or constraints
    behind the user's back, so every pip and pip-compile run sees none of them.
    """
    # Cache locations are kept: where downloads are cached changes no result.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "PIP-", "UV_")) or k in _CACHE_VARIABLES
    }
    env["PIP_CONFIG_FILE"] = os.devnull
    env["UV_NO_CONFIG"] = "1"  # the same for uv, when it is the resolver
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    env.update(extra or {})
    return env


class Runner(Protocol):
    """Signature of ``run``, so effects can take a runner as a constructor argument."""

    def __call__(
        self,
        argv: Sequence[str],
        *,
        error: Callable[[str], EnvsyncError],
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run *argv*; on failure raise ``error(stderr)``."""
        ...


def run(
    argv: Sequence[str],
    *,
    error: Callable[[str], EnvsyncError],
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run *argv* capturing output; a non-zero exit raises ``error(redacted output)``."""
    argv = [os.fspath(a) for a in argv]
    _log().debug("running: %s", redact(" ".join(argv)))
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except OSError as exc:
        raise error(redact(f"could not start {argv[0]}: {exc}")) from exc
    return checked(proc, error=error)


def checked(
    proc: subprocess.CompletedProcess[str], *, error: Callable[[str], EnvsyncError]
) -> subprocess.CompletedProcess[str]:
    """*proc*, which ended; a non-zero exit raises ``error(redacted output)``, as ``run`` does."""
    if proc.returncode != 0:
        output = (proc.stderr or "") + (proc.stdout or "")
        raise error(redact(output.strip()))
    return proc


def started(
    argv: Sequence[str], *, cwd: str | None, env: Mapping[str, str]
) -> subprocess.Popen[str]:
    """Start *argv* in *cwd* (None: this one's), its output captured, to end with ``finished``.

    ``stopped`` ends it unused. Raises OSError when it cannot start: the caller, which only
    guessed, then does without.
    """
    _log().debug("starting ahead: %s", redact(" ".join(argv)))
    return subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(proc: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    """Wait for *proc* (from ``started``); what ``subprocess.run`` would have returned."""
    stdout, stderr = proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def stopped(proc: subprocess.Popen[str]) -> None:
    """Kill *proc* (from ``started``) if it still runs, and wait for it."""
    if proc.poll() is None:
        proc.kill()
    proc.communicate()


class Worker:
    """A helper process fed one line at a time on stdin, as work arrives.

    Each line it prints is passed to *on_line* (progress); ``finish`` closes its stdin, waits,
    and returns its redacted stderr when it failed (None when it did not).
    """

    def __init__(
        self, argv: Sequence[str], *, on_line: Callable[[str], None], env: Mapping[str, str]
    ) -> None:
        argv = [os.fspath(a) for a in argv]
        _log().debug("starting: %s", redact(" ".join(argv)))
        self._proc = subprocess.Popen(
            argv,
            env=dict(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._errors = _drain(self._proc.stderr)
        self._lines = _drain(self._proc.stdout, on_line)
        self._lock = threading.Lock()
        self._gone = False

    @property
    def running(self) -> bool:
        """Whether it may still take work: not ended, and not known to be gone."""
        return not self._gone and self._proc.poll() is None

    def send(self, line: str) -> bool:
        """Give the worker *line*; False if it is gone (its work then falls to the caller)."""
        with self._lock:
            try:
                assert self._proc.stdin is not None  # noqa: S101 - opened with PIPE above
                self._proc.stdin.write(line + "\n")
                self._proc.stdin.flush()
            except (OSError, ValueError):  # a broken pipe, or already closed
                self._gone = True
                return False
            return True

    def finish(self) -> str | None:
        """Tell the worker there is no more work, wait for it; its error output if it failed."""
        with self._lock, contextlib.suppress(OSError):
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        self._proc.wait()
        self._lines.join()
        self._errors.join()
        for pipe in (self._proc.stdout, self._proc.stderr):
            if pipe is not None:
                pipe.close()
        return None if self._proc.returncode == 0 else redact("".join(self._errors.text).strip())


class _Drain(threading.Thread):
    """Reads a pipe to its end in the background, so the process never blocks writing it."""

    def __init__(self, pipe: IO[str] | None, on_line: Callable[[str], None] | None) -> None:
        super().__init__(daemon=True)
        self._pipe = pipe
        self._on_line = on_line
        self.text: list[str] = []

    def run(self) -> None:
        for line in self._pipe or ():
            if self._on_line is None:
                self.text.append(line)
            else:
                self._on_line(line.rstrip("\n"))


def _drain(pipe: IO[str] | None, on_line: Callable[[str], None] | None = None) -> _Drain:
    drain = _Drain(pipe, on_line)
    drain.start()
    return drain


def call(argv: Sequence[str], *, env: Mapping[str, str]) -> int:
    """Run *argv* attached to this terminal (no capture) and return its exit code.

    For ``envsync run``: the command owns stdin/stdout/stderr. Ctrl-C reaches the child
    (same process group); envsync waits for it to finish and passes its code on.
    """
    from envsync.errors import CommandNotFoundError, Interrupted  # noqa: PLC0415

    _log().debug("running: %s", redact(" ".join(argv)))
    try:
        proc = subprocess.Popen(list(argv), env=dict(env))
    except FileNotFoundError as exc:
        raise CommandNotFoundError(argv[0]) from exc
    except OSError as exc:
        msg = f"could not start {argv[0]}: {exc.strerror or exc}"
        raise CommandNotFoundError(argv[0], message=msg) from exc
    while True:
        try:
            return proc.wait()
        except Interrupted:  # noqa: PERF203 - waiting, not a hot loop
            # SIGTERM was sent to envsync alone: pass it on, as a shell's exec would, and
            # pass on the next one too (the handler raises once, then waits to be re-armed).
            proc.send_signal(signal.SIGTERM)
            interrupt.rearm()
        except KeyboardInterrupt:
            continue  # the child got the same SIGINT; its exit code is what counts
