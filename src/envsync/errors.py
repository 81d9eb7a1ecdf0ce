"""The one exception tree: every failure a user can meet, with a message written for them.

Each class carries its process exit code, so the CLI maps errors to codes in one place.
Messages never contain markup; ``hint`` says what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

# Defined with the SIGTERM handling, which the command line loads before anything else.
from envsync.interrupt import Interrupted

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

__all__ = [
    "EXIT_DRIFT",
    "EXIT_ERROR",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_USAGE",
    "ApplyError",
    "BuildError",
    "CommandNotFoundError",
    "EnvsyncError",
    "HashMismatchError",
    "IndexAuthError",
    "IndexUnreachableError",
    "InstallError",
    "InterpreterNotFoundError",
    "Interrupted",
    "LockError",
    "LockProblem",
    "LockTimeoutError",
    "MissingLockError",
    "PackageNotInstalledError",
    "RemovalRefused",
    "ResolutionError",
    "RolledBackError",
    "SpecError",
    "SpecProblem",
    "StaleLockError",
    "VcsError",
    "VenvError",
    "printable",
]

EXIT_OK = 0
#: Something went wrong: bad input, a failed resolve, install or build.
EXIT_ERROR = 1
#: A check found drift, or a plan has changes (only with ``--detailed-exitcode``).
EXIT_DRIFT = 2
#: The command line itself was wrong (sysexits' EX_USAGE, so a typo never reads as drift).
EXIT_USAGE = 64
#: ``envsync run`` could not find the command (the shell's convention).
EXIT_NOT_FOUND = 127


class EnvsyncError(Exception):
    """Root of every error envsync reports to a user."""

    exit_code: int = EXIT_ERROR
    #: A stable name for scripts and the JSON report (``errors[].code``).
    code: str = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, kw_only=True, slots=True)
class SpecProblem:
    """One thing wrong with an env.toml."""

    key: str
    """Dotted key path, such as ``groups.dev[1]``; empty for the whole file."""
    expected: str
    """What the loader accepts there, in words."""
    found: str
    """What it found, shortened for display."""
    line: int | None = None
    """1-based line in the file, where it could be found."""
    suggestion: str | None = None
    """A did-you-mean for misspelt keys."""

    def describe(self, path: Path | str) -> str:
        """Render as ``file:line: key: expected X, found Y``."""
        where = f"{path}:{self.line}" if self.line else f"{path}"
        key = f" {self.key}:" if self.key else ""
        text = f"{where}:{key} expected {self.expected}, found {self.found}"
        if self.suggestion:
            text += f" (did you mean {self.suggestion!r}?)"
        return text


class SpecError(EnvsyncError, ValueError):
    """env.toml is not valid. Every problem is reported at once."""

    code = "spec-invalid"

    def __init__(self, path: Path | str, problems: Sequence[SpecProblem]) -> None:
        self.path = path
        self.problems = tuple(problems)
        lines = [problem.describe(path) for problem in self.problems]
        head = f"{path} is not a valid envsync spec"
        super().__init__(
            "\n".join([f"{head}:", *(f"  {line}" for line in lines)]),
            hint="fix the keys above; the format is described in the README (env.toml)",
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class LockProblem:
    """One thing wrong with a pylock.toml."""

    key: tuple[str | int, ...]
    """Where, such as ``("packages", 3, "wheels", 0, "hashes")``; empty for the whole file."""
    problem: str
    """What is wrong there, in the words that follow the key (``must be ...``)."""
    hint: str | None = None
    """A fix of its own, where writing a fresh lock is not the only one."""

    def describe(self, path: Path | str) -> str:
        """Render as ``file: key problem`` (``file problem`` for the whole file)."""
        if not self.key:
            return f"{path} {self.problem}"
        dotted = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in self.key)
        return f"{path}: {dotted.removeprefix('.')} {self.problem}"


class LockError(EnvsyncError, ValueError):
    """pylock.toml exists but cannot be read or is not a valid PEP 751 lock."""

    code = "lock-invalid"

    def __init__(
        self, message: str, *, hint: str | None = None, problems: Sequence[LockProblem] = ()
    ) -> None:
        super().__init__(message, hint=hint)
        self.problems = tuple(problems)

    @classmethod
    def listing(cls, path: Path | str, problems: Sequence[LockProblem], *, hint: str) -> LockError:
        """Every problem of the lock at *path*, in the order given, each on a line of its own.

        One problem is the whole message; several are listed under one line, as a spec's are.
        The hint is *hint*, unless a problem has a fix of its own.
        """
        lines = [problem.describe(path) for problem in problems]
        head = f"{path} is not a lock envsync can use:"
        message = lines[0] if len(lines) == 1 else "\n".join([head, *(f"  {x}" for x in lines)])
        fix = next((problem.hint for problem in problems if problem.hint), hint)
        return cls(message, hint=fix, problems=problems)


class MissingLockError(EnvsyncError):
    """A lock was required (``--frozen``) but there is none."""

    code = "lock-missing"


class PackageNotInstalledError(EnvsyncError):
    """``envsync why``: the lock has no such package, or the target does not install it."""

    code = "package-not-installed"


class StaleLockError(EnvsyncError):
    """The lock no longer matches env.toml and may not be updated (``--locked``)."""

    code = "lock-stale"


class InterpreterNotFoundError(EnvsyncError):
    """No Python on this machine satisfies the spec's ``python`` key."""

    code = "python-not-found"

    def __init__(self, wanted: str, found: Sequence[str]) -> None:
        self.wanted = wanted
        self.found = tuple(found)
        listing = ", ".join(self.found) if self.found else "none"
        super().__init__(
            f"no Python interpreter matching {wanted!r} was found (found: {listing})",
            hint="install a matching Python (e.g. with pyenv) or change [env] python in env.toml",
        )


class VenvError(EnvsyncError):
    """The virtual environment could not be created or read."""

    code = "venv"


class RemovalRefused(EnvsyncError):  # noqa: N818 - a refusal, named as users read it
    """envsync was about to delete or replace a path it does not own, and stopped."""

    code = "removal-refused"

    def __init__(self, path: str, why: str) -> None:
        super().__init__(
            f"refusing to delete or replace {path}: {why}",
            hint="nothing was deleted; envsync only removes what it created (its venv, its "
            "cache, its temporary files): please report this with the command you ran",
        )
        self.path = path


class LockTimeoutError(EnvsyncError):
    """Another envsync kept the venv's lock longer than ``--lock-timeout`` allowed."""

    code = "locked"


class IndexUnreachableError(EnvsyncError):
    """A package index could not be reached."""

    code = "index-unreachable"


class IndexAuthError(IndexUnreachableError):
    """A package index refused envsync's requests (HTTP 401/403): missing or wrong login."""

    code = "index-auth"


class ResolutionError(EnvsyncError):
    """The requirements cannot be satisfied together, or a package does not exist."""

    code = "resolution"


class BuildError(EnvsyncError):
    """A source distribution or local project failed to build."""

    code = "build"


class HashMismatchError(EnvsyncError):
    """A downloaded artifact does not match the hash recorded in the lock."""

    code = "hash-mismatch"


class InstallError(EnvsyncError):
    """The installer failed."""

    code = "install"


class VcsError(EnvsyncError):
    """git could not be run, could not reach a repository, or found no such revision."""

    code = "vcs"


class ApplyError(EnvsyncError):
    """An apply stopped part way; says what was left."""

    code = "apply-incomplete"

    def __init__(self, message: str, *, left: Sequence[str] = (), hint: str | None = None) -> None:
        self.left = tuple(left)
        super().__init__(message, hint=hint)


class CommandNotFoundError(EnvsyncError):
    """``envsync run`` was given a command that does not exist (in the venv or on PATH)."""

    code = "command-not-found"
    exit_code = EXIT_NOT_FOUND

    def __init__(self, command: str, *, message: str | None = None) -> None:
        self.command = command
        super().__init__(
            message or f"command not found: {command}",
            hint="install the package that provides it (add it to env.toml), or check the spelling",
        )


def printable(text: str, *, one_line: bool = False) -> str:
    r"""Return *text* with every character a terminal would act on, or hide, escaped.

    A message quotes what users and files hand envsync, so it can hold anything: a control
    character (C0, DEL, C1) moves the cursor, rings or recolours, a line or paragraph
    separator (``\x1c``-``\x1e``, ``\x85``, ``\u2028``...) starts a line that
    ``str.splitlines`` and log readers take for another message, and a bidi override or a
    lone surrogate hides or breaks the text. Each becomes its Python escape (``\x1e``), as
    ``repr`` shows it. Only ``\n``, the message's own line breaks, is kept; with *one_line*
    (a name quoted inside a line, such as an archive member's) it is escaped too.
    """
    if text.isprintable():  # the common one-line case, in one C-speed pass
        return text
    if one_line:
        return "".join(map(_escape, text))
    return "\n".join("".join(map(_escape, line)) for line in text.split("\n"))


def _escape(char: str) -> str:
    """One character as it is, or as ``repr`` escapes it when it is not printable."""
    return char if char.isprintable() else repr(char)[1:-1]


class RolledBackError(EnvsyncError):
    """A change to the venv failed and was undone: the cause, and that nothing changed.

    It reads, exits and is coded as its cause (``__cause__``) does, with the venv's state
    added: the cause is wrapped, never edited.
    """

    def __init__(self, cause: EnvsyncError, *, venv: Path) -> None:
        message = f"{cause.message} (nothing was changed: {venv} is as it was before this run)"
        super().__init__(message, hint=cause.hint)
        self.code = cause.code
        self.exit_code = cause.exit_code
