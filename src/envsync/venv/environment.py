"""Ask a venv's (or an interpreter's) own Python for its paths, marker environment and tags.

Read-only. The interpreter is run once per run (the run's ``Prober`` remembers it, and
``probecache`` across runs), with envsync's ``packaging`` lent to it on ``sys.path`` (see
``system.shims``), because only the target knows its own markers and tags. ``inspect`` adds
the distributions the venv holds (``installed``); nothing is ever imported into, or written
to, the venv.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import packaging
from packaging.version import InvalidVersion, Version

from envsync.core.planner import InstalledDist
from envsync.errors import VenvError
from envsync.system.process import checked, clean_env, run
from envsync.venv import probecache, probescript
from envsync.venv.create import is_venv, venv_python
from envsync.venv.installed import read_installed
from envsync.venv.prober import Prober

if TYPE_CHECKING:
    from collections.abc import Callable

    from envsync.core.planner import InstalledDist
    from envsync.venv.prober import ProbeKey

__all__ = [
    "VenvInfo",
    "expect_new_venv",
    "inspect",
    "probe_interpreter",
    "probe_venv",
    "read_installed",
]

_LOG = logging.getLogger("envsync.venv.environment")


@dataclass(frozen=True, kw_only=True, slots=True)
class VenvInfo:
    """What a venv's own interpreter says about itself."""

    root: Path
    """The venv folder."""
    python: Path
    """Its interpreter: ``bin/python`` (``Scripts/python.exe`` on Windows)."""
    version: Version
    """The interpreter's full version (the ``python_full_version`` marker)."""
    purelib: Path
    """site-packages for pure-Python files."""
    platlib: Path
    """site-packages for compiled files; often the same folder as ``purelib``."""
    scripts: Path
    """Where console scripts go (``bin``)."""
    data: Path
    """The scheme's data folder (the venv itself)."""
    markers: dict[str, str]
    """The PEP 508 marker environment, as the venv's interpreter computes it."""
    tags: tuple[str, ...]
    """Wheel tags the interpreter accepts, most preferred first (``cp312-cp312-...``)."""
    base_executable: Path
    """The interpreter the venv was made from."""


def inspect(
    root: Path, *, prober: Prober | None = None
) -> tuple[VenvInfo, tuple[InstalledDist, ...]]:
    """Probe the venv at *root* and list what it holds."""
    prober = prober or Prober()
    info = probe_venv(root, prober=prober)
    return info, read_installed(info, prober=prober)


def probe_venv(root: Path, *, prober: Prober | None = None) -> VenvInfo:
    """Run the venv's interpreter once to learn its paths, markers and tags."""
    python = venv_python(root)
    if not is_venv(root) or not python.exists():
        what = "no virtual environment" if not is_venv(root) else f"no interpreter at {python}"
        raise VenvError(f"{root} holds {what}", hint="run `envsync apply` to create it")
    return _probe(root, python, prober or Prober())


def probe_interpreter(python: Path, *, prober: Prober | None = None) -> VenvInfo:
    """What a venv made from *python* would report: markers, tags and version.

    ``root`` is the interpreter's own prefix; ``plan`` uses this before the venv exists.
    """
    return _probe(python.parent.parent, python, prober or Prober())


def expect_new_venv(root: Path, base: Path, *, prober: Prober) -> None:
    """Learn what the venv just made at *root* from *base* will say, without starting it.

    Its markers and tags are *base*'s, and *base*'s probe said where a venv of it puts
    files; when those folders are there, that answer stands in for a probe of the new venv.
    """
    data = prober.answers.get(_key(base.parent.parent, base))
    python = venv_python(root)
    if data is None or "venv_paths" not in data or not python.exists():
        return
    here = os.fspath(root)
    venv_paths = data["venv_paths"].items()
    paths = {key: str(value).replace(probescript.VENV_HERE, here) for key, value in venv_paths}
    if not all(Path(paths[key]).is_dir() for key in ("purelib", "scripts")):
        return  # not the layout expected: the venv will be asked
    answer = {**data, **paths}
    prober.venvs[_key(root, python)] = _venv_info(root, python, answer)
    # Kept as a probe of the venv is kept, so the next run on it asks nothing either: the
    # answer is the one the venv's interpreter gives (each key, on CPython 3.10 to 3.13).
    probecache.store("venv", python, answer, *probescript.venv_identity(here))


def _key(root: Path, python: Path) -> ProbeKey:
    try:
        stat = python.stat()
    except OSError as exc:
        raise VenvError(f"cannot run {python}: {exc.strerror or exc}") from exc
    return (str(root), str(python), stat.st_ino, stat.st_mtime_ns)


def _probe(root: Path, python: Path, prober: Prober) -> VenvInfo:
    # An interpreter's answers change only when the interpreter does: one probe per run,
    # however often apply, verify and the installer ask (keyed by the file's identity), and
    # kept across runs in the cache (see probecache), for a venv keyed by its pyvenv.cfg too.
    key = _key(root, python)
    if key not in prober.venvs:
        prober.venvs[key] = _cached_probe(root, python, key, prober)
    return prober.venvs[key]


def _cached_probe(root: Path, python: Path, key: ProbeKey, prober: Prober) -> VenvInfo:
    extra = probescript.venv_identity(os.fspath(root))
    stored = probescript.kept(python, extra)
    if stored is not None:
        try:
            info = _venv_info(root, python, stored)
        except (ValueError, KeyError, TypeError, InvalidVersion):
            pass  # unreadable: ask again
        else:
            prober.answers[key] = stored
            return info
    data = _run_probe(python, prober)
    try:
        info = _venv_info(root, python, data)
    except (ValueError, KeyError, TypeError) as exc:
        raise VenvError(f"{python} gave an answer envsync did not understand: {exc}") from exc
    prober.answers[key] = data
    probecache.store("venv", python, data, *extra)
    return info


def _run_probe(python: Path, prober: Prober) -> dict[str, Any]:
    """*python*'s answer: from the probe the start-up path began (``earlyprobe``), else run now."""
    argv, env = probescript.argv(str(python)), clean_env()
    early = prober.early.take(argv, env) if prober.early is not None else None
    if early is not None:
        proc = checked(early, error=_probe_failed(python))
    else:
        proc = run(argv, env=env, error=_probe_failed(python))
    try:
        data = json.loads(proc.stdout)
    except ValueError as exc:
        raise VenvError(f"{python} gave an answer envsync did not understand: {exc}") from exc
    if not isinstance(data, dict):
        raise VenvError(f"{python} gave an answer envsync did not understand: {data!r}")
    return data


def _unsupported(python: Path, data: dict[str, Any]) -> VenvError:
    """Explain that the venv's Python cannot import our ``packaging`` (too old, most likely)."""
    version = (str(data.get("python") or "").split() or ["?"])[0]
    return VenvError(
        f"cannot read the venv's interpreter {python} (Python {version}): it cannot import "
        f"packaging {packaging.__version__}, which envsync uses to read it ({data['error']})",
        hint=f"use a Python that packaging {packaging.__version__} supports "
        f"(Requires-Python {_packaging_requires_python()}) and recreate the venv",
    )


def _packaging_requires_python() -> str:
    """``Requires-Python`` of the packaging that envsync runs with."""
    import importlib.metadata  # noqa: PLC0415 - an error path: 5 ms not spent on every run

    try:
        return importlib.metadata.metadata("packaging")["Requires-Python"] or "?"
    except (importlib.metadata.PackageNotFoundError, KeyError):
        return "?"


def _probe_failed(python: Path) -> Callable[[str], VenvError]:
    """Make the error factory for a probe that exits non-zero."""
    return lambda output: VenvError(f"cannot run the venv's interpreter {python}:\n{output}")


def _venv_info(root: Path, python: Path, data: dict[str, Any]) -> VenvInfo:
    """Build a VenvInfo from the probe's JSON."""
    if "error" in data:
        raise _unsupported(python, data)
    markers = {str(k): str(v) for k, v in data["markers"].items()}
    return VenvInfo(
        root=root,
        python=python,
        version=Version(markers["python_full_version"]),
        purelib=Path(data["purelib"]),
        platlib=Path(data["platlib"]),
        scripts=Path(data["scripts"]),
        data=Path(data["data"]),
        markers=markers,
        tags=tuple(str(tag) for tag in data["tags"]),
        base_executable=Path(data["base_executable"]),
    )
