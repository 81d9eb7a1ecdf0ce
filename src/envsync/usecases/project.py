"""A project on disk: env.toml, pylock.toml and the local packages env.toml names.

Each is read once per run: the use cases hold the ``Project`` this module reads and pass it
down, so no step reads pylock.toml again or hashes a local package's build files twice.
Both files are written through ``system.atomic``: a temporary file beside the target, flushed
to disk and renamed over it, so a crash leaves the old file or the new one, never a mix.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from envsync.core import lockfile
from envsync.core.names import LOCK_NAME, SPEC_CHANGED
from envsync.core.spec import Spec, parse_spec
from envsync.core.targets import describe
from envsync.errors import EnvsyncError, LockError, SpecError, SpecProblem
from envsync.system import atomic

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from packaging.pylock import Pylock

    from envsync.core.lockfile import LockInfo
    from envsync.core.targets import LockTarget

__all__ = [
    "LocalInputs",
    "LockFile",
    "Project",
    "check_local_sources",
    "load_spec",
    "lock_path",
    "open_project",
    "read_lock",
    "stale_because",
    "write_lock",
    "write_spec",
]

#: The files that hold a local project's name, version and dependencies.
_BUILD_FILES = ("pyproject.toml", "setup.cfg", "setup.py")


@dataclass(frozen=True, kw_only=True, slots=True)
class LockFile:
    """pylock.toml as this run found it."""

    path: Path
    """Where it is (beside env.toml)."""
    lock: Pylock | None
    """The parsed, validated lock; None when there is no file yet."""
    text: str | None
    """Its text, to tell whether a new lock changes the file."""
    info: LockInfo | None
    """Its ``[tool.envsync]`` table, validated once."""


@dataclass(frozen=True, kw_only=True, slots=True)
class LocalInputs:
    """The local packages env.toml names: what a change to them means for the lock."""

    hashes: Mapping[str, str]
    """A hash of each local project's build files, keyed by its folder as env.toml names it."""
    files: tuple[Path, ...]
    """The build files that exist (the no-change path watches them)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Project:
    """env.toml, pylock.toml and the local packages: the inputs of one run."""

    spec: Spec
    """env.toml, validated."""
    lock: LockFile
    """pylock.toml as it is on disk."""
    local: LocalInputs
    """The local packages' build files, hashed once."""


def load_spec(path: Path) -> Spec:
    """Read and validate env.toml at *path*."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        msg = f"{path} was not found"
        raise EnvsyncError(msg, hint="write an env.toml (see README) or pass --spec") from None
    except (OSError, UnicodeDecodeError) as exc:
        problem = SpecProblem(key="", expected="a readable UTF-8 file", found=str(exc))
        raise SpecError(path, [problem]) from exc
    return parse_spec(text, path=path.absolute())


def open_project(spec: Spec) -> Project:
    """Read pylock.toml and hash the local packages' build files, once for the whole run."""
    return Project(spec=spec, lock=read_lock(lock_path(spec)), local=local_inputs(spec))


def lock_path(spec: Spec) -> Path:
    """pylock.toml beside env.toml."""
    return spec.root / LOCK_NAME


def read_lock(path: Path) -> LockFile:
    """pylock.toml at *path*, parsed and validated (``lock`` is None when there is none yet)."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return LockFile(path=path, lock=None, text=None, info=None)
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        msg = f"cannot read {path}: line {line} is not UTF-8 ({exc.reason}: byte {exc.start})"
        raise LockError(
            msg, hint="pylock.toml is UTF-8: run `envsync lock` to write it again"
        ) from exc
    except OSError as exc:
        raise LockError(f"cannot read {path}: {exc.strerror or exc}") from exc
    parsed = lockfile.parse(text, path=path)  # the lock and its tool table, validated once
    return LockFile(path=path, lock=parsed.lock, text=text, info=parsed.info)


def stale_because(project: Project, targets: Sequence[LockTarget] | None) -> str | None:
    """Why the lock on disk does not fit env.toml (and its *targets* on this machine), or None.

    *targets* is None where the machine is not known (no venv): the targets are not compared.
    """
    info = project.lock.info
    if info is None:
        return None
    local = project.local.hashes
    if info.fingerprint == lockfile.fingerprint(project.spec, local):
        return None if targets is None else _targets_differ(project, info, targets)
    if targets is None or info.inputs != lockfile.inputs_fingerprint(project.spec, local):
        return SPEC_CHANGED
    # Only [lock] changed: say how the targets differ, since only they are resolved again.
    return _targets_differ(project, info, targets) or "env.toml's [lock] changed"


def _targets_differ(project: Project, info: LockInfo, targets: Sequence[LockTarget]) -> str | None:
    """How the lock's targets differ from env.toml's on this machine, or None."""
    if not info.targets:
        return "pylock.toml was written by an older envsync and does not name its targets"
    if set(info.targets) == set(targets):
        return None
    default = "" if project.spec.lock.platforms else " (this machine's platform by default)"
    return (
        f"pylock.toml is for {describe(info.targets)}, and env.toml's targets are "
        f"{describe(targets)}{default}"
    )


def write_lock(path: Path, text: str) -> None:
    """Replace pylock.toml at *path* with *text*, whole or not at all."""
    atomic.write_text(path, text, fault="writing-lock")


def write_spec(path: Path, text: str) -> None:
    """Replace env.toml at *path* with *text*, whole or not at all."""
    atomic.write_text(path, text, fault="writing-spec")


def local_inputs(spec: Spec) -> LocalInputs:
    """The local projects' build files, each hashed once.

    A local package's version and dependencies live in these files, so a change to them
    must make the lock stale even though env.toml did not change.
    """
    folders = sorted({s.path for s in spec.sources if s.path is not None} | set(_file_urls(spec)))
    hashes = {folder: _hash_build_files(_folder(spec, folder)) for folder in folders}
    candidates = (_folder(spec, f) / name for f in folders for name in _BUILD_FILES)
    return LocalInputs(hashes=hashes, files=tuple(p for p in candidates if p.is_file()))


def check_local_sources(spec: Spec) -> None:
    """Every ``[sources]`` folder exists and holds a Python project: else a SpecError.

    pip would otherwise fail on it with a traceback (or take a file for an archive).
    """
    problems = [
        SpecProblem(
            key=f"sources.{source.package}.path",
            expected="a folder holding a Python project",
            found=f"{problem} ({folder})",
        )
        for source in spec.sources
        if source.path is not None
        and (problem := _project_problem(folder := _folder(spec, source.path)))
    ]
    if problems:
        raise SpecError(spec.path, problems)


def _project_problem(folder: Path) -> str | None:
    if not folder.exists():
        return "no such folder"
    if not folder.is_dir():
        return "a file"
    if not any((folder / name).is_file() for name in _BUILD_FILES):
        return "a folder without pyproject.toml, setup.cfg or setup.py"
    return None


def _file_urls(spec: Spec) -> list[str]:
    requirements = [*spec.dependencies, *(r for g in spec.groups for r in g.requirements)]
    return [r.url for r in requirements if r.url and r.url.startswith("file:")]


def _folder(spec: Spec, location: str) -> Path:
    if location.startswith("file://"):
        # Imported here: a file:// URL is rare, and the simple API costs check 20 ms to import.
        from envsync.index import simpleapi  # noqa: PLC0415

        return simpleapi.local_path(location)
    path = Path(location.removeprefix("file:"))
    return path if path.is_absolute() else spec.root / path


def _hash_build_files(folder: Path) -> str:
    digest = hashlib.sha256()
    for name in _BUILD_FILES:
        candidate = folder / name
        if candidate.is_file():
            digest.update(name.encode() + b"\0" + candidate.read_bytes() + b"\0")
    return digest.hexdigest()
