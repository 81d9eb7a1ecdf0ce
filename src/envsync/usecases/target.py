"""The environment a run targets, whether the lock fits it, what the keep-policy protects.

The target is the venv's interpreter, or the one a new venv will be made from. EFFECTS:
probes interpreters.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from envsync.core import lockfile
from envsync.core.planner import Policy
from envsync.errors import SpecError, SpecProblem, VenvError
from envsync.index import simpleapi
from envsync.report import Step
from envsync.venv import create, environment, interpreters, safety

if TYPE_CHECKING:
    from collections.abc import Iterable

    from packaging.pylock import Pylock

    from envsync._types import NormalizedName
    from envsync.core.spec import Spec
    from envsync.report import Reporter

__all__ = [
    "Target",
    "VenvChange",
    "check_venv_path",
    "find_target",
    "local_build_files",
    "local_inputs",
    "minor_of",
    "policy",
    "staleness",
]

VenvChange = Literal["keep", "create", "recreate"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    """The interpreter and marker environment the venv has, or will have."""

    python: Path
    """The interpreter: the venv's own, or the one a new venv will be made from."""
    version: str
    """Its full version."""
    markers: dict[str, str]
    """Its PEP 508 marker environment."""
    tags: tuple[str, ...]
    """The wheel tags it accepts, best first."""
    change: VenvChange
    """keep the venv, create it, or recreate it."""
    reason: str | None = None
    """Why it is recreated."""


def find_target(spec: Spec, reporter: Reporter) -> Target:
    """The venv's interpreter when it satisfies the spec, else the Python to make it with.

    A venv path that must never be a venv, or names something that is not one, is refused
    here, before anything is resolved or changed.
    """
    reason = check_venv_path(spec)
    if reason is None and create.is_venv(spec.venv):
        info = environment.probe_venv(spec.venv)
        if spec.python.contains(info.version, prereleases=True):
            return Target(
                python=info.python,
                version=str(info.version),
                markers=info.markers,
                tags=info.tags,
                change="keep",
            )
        reason = f"its Python {info.version} does not satisfy python = {str(spec.python)!r}"
    if reason is not None:
        create.check_replaceable(spec.venv)  # before the search: a refusal needs no Python
    reporter.emit(Step(what=f"looking for a Python matching {str(spec.python) or 'any'}"))
    found = interpreters.find_python(spec.python)
    probe = environment.probe_interpreter(found.executable)
    return Target(
        python=found.executable,
        version=str(found.version),
        markers=probe.markers,
        tags=probe.tags,
        change="recreate" if reason else "create",
        reason=reason,
    )


def check_venv_path(spec: Spec) -> str | None:
    """Refuse a venv path envsync must not use; why the venv must be made again, or None.

    Refused: a path over the project's own files, a home folder or a root, and a path that
    exists and is no venv (envsync never replaces what it did not make). A venv whose
    interpreter is gone must be made again, whatever its Python was.
    """
    own_files = (spec.path, spec.root / lockfile.LOCK_NAME)
    safety.check_location(spec.venv, project=spec.root, own_files=own_files)
    root = spec.venv
    if not (root.exists() or root.is_symlink()):
        return None
    if not create.is_venv(root):
        if root.is_symlink() or not root.is_dir():
            what = "a link" if root.is_symlink() else "a file"
        elif inside := sorted(entry.name for entry in root.iterdir()):
            what = f"a folder (holding {safety.describe(inside)})"
        else:
            return None  # empty: a venv can be made in it without replacing anything
        raise VenvError(
            f"{root} is {what} that is not a virtual environment, so envsync will not make "
            "its venv there (it would have to replace what is there)",
            hint="set venv in env.toml ([env] venv) to another path, such as .venv, or move "
            f"{root} away",
        )
    python = create.venv_python(root)
    if not python.exists():
        return f"its interpreter {python} no longer works (its Python was removed or moved)"
    return None


def staleness(lock: Pylock, spec: Spec, version: str | None) -> str | None:
    """Why *lock* does not fit *spec* (and a venv of Python *version*), or None if it does."""
    if not lockfile.is_fresh(lock, spec, local_inputs(spec)):
        return "env.toml (or a local package it names) changed since pylock.toml was written"
    locked = lockfile.info(lock).python
    if version is not None and minor_of(locked) != minor_of(version):
        return f"pylock.toml was resolved for Python {locked}, the venv has {version}"
    return None


_BUILD_FILES = ("pyproject.toml", "setup.cfg", "setup.py")


def local_inputs(spec: Spec) -> dict[str, str]:
    """A hash of each local project's build files, keyed by its folder as env.toml names it.

    A local package's version and dependencies live in these files, so a change to them
    must make the lock stale even though env.toml did not change.
    """
    folders = [s.path for s in spec.sources if s.path is not None]
    folders += _file_urls(spec)
    return {folder: _hash_build_files(_folder(spec, folder)) for folder in sorted(set(folders))}


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


def local_build_files(spec: Spec) -> list[Path]:
    """The build files of local packages that exist: what ``local_inputs`` hashes."""
    folders = [s.path for s in spec.sources if s.path is not None] + _file_urls(spec)
    candidates = (_folder(spec, f) / name for f in sorted(set(folders)) for name in _BUILD_FILES)
    return [path for path in candidates if path.is_file()]


def _file_urls(spec: Spec) -> list[str]:
    requirements = [*spec.dependencies, *(r for g in spec.groups for r in g.requirements)]
    return [r.url for r in requirements if r.url and r.url.startswith("file:")]


def _folder(spec: Spec, location: str) -> Path:
    if location.startswith("file://"):
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


def minor_of(version: str) -> str:
    """``3.12.1`` -> ``3.12``."""
    return ".".join(version.split(".")[:2])


def policy(spec: Spec, reinstall: Iterable[NormalizedName] = ()) -> Policy:
    """Never remove what the spec keeps, nor envsync itself when the venv is its own."""
    keep = set(spec.keep)
    if _same_path(spec.venv, Path(sys.prefix)):
        keep |= environment.own_requirements()
    return Policy(keep=frozenset(keep), reinstall=frozenset(reinstall))


def _same_path(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
