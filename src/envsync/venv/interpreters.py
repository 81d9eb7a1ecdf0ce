"""Find a Python interpreter on this machine that satisfies a version specifier.

Candidates come from, in order: what the caller prefers (an existing venv's python), the
interpreter running envsync, versioned and plain names on PATH, then pyenv's versions. Each
is asked its version once, with one short probe; the first that fits wins.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

from envsync.errors import InterpreterNotFoundError, VenvError
from envsync.system.process import clean_env, run
from envsync.venv import probecache
from envsync.venv.prober import Prober

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Iterator, Sequence

    from packaging.specifiers import SpecifierSet

__all__ = ["Interpreter", "find_python", "probe"]

_LOG = logging.getLogger("envsync.venv.interpreters")

#: Newest first: ``python3.15`` ... ``python3.8``.
_VERSIONED_NAMES = tuple(f"python3.{minor}" for minor in range(15, 7, -1))
_PLAIN_NAMES = ("python3", "python")

# Runs under any Python that knows -I (3.4+); older ones fail the probe and are skipped.
_PROBE = (
    "import sys, json; v = sys.version_info; "
    "print(json.dumps([sys.implementation.name, list(v[:3]), v[3], v[4]]))"
)
_PRE_RELEASE = {"alpha": "a", "beta": "b", "candidate": "rc"}


@dataclass(frozen=True, kw_only=True, slots=True)
class Interpreter:
    """A Python interpreter that was found and asked for its version."""

    executable: Path
    """The path it was found at (not resolved: a venv's python stays the venv's)."""
    version: Version
    """Its full version, such as ``3.12.1`` or ``3.14.0rc1``."""
    implementation: str
    """``sys.implementation.name``: ``cpython``, ``pypy``..."""


def probe(executable: Path, *, prober: Prober | None = None) -> Interpreter:
    """Ask *executable* for its version; ``VenvError`` if it cannot run or answer."""
    result = _probe_cached(executable, prober or Prober())
    if isinstance(result, str):
        raise VenvError(f"cannot use {executable} as a Python interpreter: {result}")
    implementation, version = result
    return Interpreter(executable=executable, version=version, implementation=implementation)


def find_python(
    spec: SpecifierSet,
    *,
    search_path: str | None = None,
    prefer: Sequence[Path] = (),
    prober: Prober | None = None,
    minors: Collection[str] = (),
) -> Interpreter:
    """Return the first interpreter, in discovery order, whose version is in *spec*.

    *minors*, when given, are the minor versions (``3.12``) it must also be one of: the
    Pythons env.toml's ``[lock]`` lists. *search_path* replaces ``$PATH``; *prefer* is tried
    before anything else. Candidates that cannot be run are skipped; when none fits, the
    error lists everything that was found.
    """
    found: list[str] = []
    prober = prober or Prober()
    for candidate in _unique(_candidates(search_path, prefer)):
        try:
            interpreter = probe(candidate, prober=prober)
        except VenvError as exc:
            _LOG.debug("skipping %s", exc)
            continue
        minor = f"{interpreter.version.major}.{interpreter.version.minor}"
        if spec.contains(interpreter.version, prereleases=True) and (not minors or minor in minors):
            return interpreter
        found.append(f"{candidate} ({interpreter.version})")
    wanted = str(spec) or "any"
    if minors:
        wanted = f"{wanted}, Python {' or '.join(minors)} ([lock] python-versions)"
    raise InterpreterNotFoundError(wanted, found=found)


def _probe_cached(executable: Path, prober: Prober) -> tuple[str, Version] | str:
    """Probe results, remembered per real file and modification time, and across runs."""
    try:
        real = os.path.realpath(executable)
        key = (real, Path(real).stat().st_mtime_ns)
    except OSError as exc:
        return exc.strerror or str(exc)
    if key not in prober.versions:
        prober.versions[key] = _known(executable) or _run_probe(executable)
    return prober.versions[key]


def _known(executable: Path) -> tuple[str, Version] | None:
    """The answer without starting *executable*: it is envsync's own, or it was asked before."""
    if _same_file(executable, sys.executable):
        return _answer(sys.implementation.name, *_release(sys.version_info))
    stored = probecache.load("version", executable, _PROBE)
    try:
        return _answer(*stored) if stored else None
    except (ValueError, TypeError, InvalidVersion):
        return None


def _same_file(one: Path, other: str) -> bool:
    try:
        return one.samefile(other)
    except OSError:
        return False


def _release(info: Iterable[object]) -> tuple[str, str]:
    """``("3.12.1", "")`` or ``("3.14.0", "rc1")`` from a version_info-like sequence."""
    major, minor, micro, level, serial = info
    suffix = "" if level == "final" else f"{_PRE_RELEASE[str(level)]}{serial}"
    return f"{major}.{minor}.{micro}", suffix


def _answer(implementation: str, release: str, suffix: str) -> tuple[str, Version]:
    return str(implementation), Version(release + suffix)


def _run_probe(executable: Path) -> tuple[str, Version] | str:
    """Run the probe once; the failure reason as a string instead of raising."""
    try:
        proc = run([str(executable), "-I", "-c", _PROBE], env=clean_env(), error=VenvError)
        implementation, release, level, serial = json.loads(proc.stdout)
        stored = [str(implementation), *_release([*release, level, serial])]
        answer = _answer(*stored)
    except VenvError as exc:
        return exc.message.splitlines()[0] if exc.message else "it failed"
    except (ValueError, KeyError, TypeError, InvalidVersion):
        return "it gave an answer envsync did not understand"
    probecache.store("version", executable, stored, _PROBE)
    return answer


def _candidates(search_path: str | None, prefer: Sequence[Path]) -> Iterator[Path]:
    """Every place a Python might be, in the order they are preferred."""
    yield from prefer
    yield Path(getattr(sys, "_base_executable", None) or sys.executable)
    dirs = _path_dirs(search_path)
    for name in (*_VERSIONED_NAMES, *_PLAIN_NAMES):
        yield from (d / name for d in dirs if _is_executable(d / name))
    yield from _pyenv_pythons()


def _path_dirs(search_path: str | None) -> list[Path]:
    """List the PATH entries to search, without pyenv's shims.

    Shims fail for versions not selected globally, and the pythons behind them are found
    directly under ``$PYENV_ROOT/versions`` anyway.
    """
    raw = os.environ.get("PATH", "") if search_path is None else search_path
    shims = os.path.realpath(_pyenv_root() / "shims")
    dirs = [Path(entry) for entry in raw.split(os.pathsep) if entry]
    return [d for d in dirs if os.path.realpath(d) != shims]


def _pyenv_pythons() -> Iterator[Path]:
    """``$PYENV_ROOT/versions/*/bin/python``, newest version first, unparseable names last."""
    versions = _pyenv_root() / "versions"
    try:
        names = [entry.name for entry in versions.iterdir()]
    except OSError:
        return
    for name in sorted(names, key=_version_sort_key, reverse=True):
        python = versions / name / "bin" / "python"
        if _is_executable(python):
            yield python


def _version_sort_key(name: str) -> tuple[bool, Version, str]:
    """Sort key putting real versions above other names (``miniconda3-latest``...)."""
    try:
        return True, Version(name), name
    except InvalidVersion:
        return False, Version("0"), name


def _pyenv_root() -> Path:
    """``$PYENV_ROOT``, or pyenv's default ``~/.pyenv``."""
    return Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


def _unique(paths: Iterable[Path]) -> Iterator[Path]:
    """Each real file once, the first name it was met under kept."""
    seen: set[str] = set()
    for path in paths:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            yield path


def _is_executable(path: Path) -> bool:
    """Tell whether *path* is a file this process may run."""
    return path.is_file() and os.access(path, os.X_OK)
