"""Paths, requirement sets and the process environment shared by the bench scripts."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SETS = BENCH / "sets"
WORK = BENCH / ".work"
SET_NAMES = ("small", "medium", "large", "huge")
#: The lock targets of the multi-target tools: env.toml's [lock], and what the wheelhouse serves.
LOCK_PLATFORMS = ("linux-x86_64", "macos-arm64", "windows-x86_64")
LOCK_PYTHONS = ("3.11", "3.12")

#: What every tool run gets on top of an environment stripped of PIP_* and UV_* variables.
ISOLATION = {
    "PIP_CONFIG_FILE": os.devnull,  # no pip.conf at all (pip's documented switch)
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",  # envsync sets it for its own pip; same for pip-sync
    "PIP_NO_INPUT": "1",
    "UV_NO_CONFIG": "1",  # no uv.toml, no [tool.uv] in a parent pyproject.toml
}
_DROPPED = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "CONDA_PREFIX")
_PROXIES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def isolated_env(
    extra: Mapping[str, str] | None = None, *, local_only: bool = True
) -> dict[str, str]:
    """os.environ without this machine's pip/uv configuration, plus *extra*.

    With *local_only* (every timed run) proxy variables are dropped too: the tools talk to
    127.0.0.1 only. The wheelhouse download keeps them, since it goes to pip's default index.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "UV_")) and k not in _DROPPED
    }
    if local_only:
        env = {k: v for k, v in env.items() if k.lower() not in _PROXIES}
    env.update(ISOLATION)
    env.update(extra or {})
    return env


def normalize(name: str) -> str:
    """PEP 503 normalized project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class RequirementSet:
    """One benchmark set: its top-level requirements and the compiled, fully pinned set."""

    name: str
    top_level: tuple[str, ...]
    """The lines of sets/<name>.in (PEP 508 strings, comments dropped)."""
    pins: dict[str, str]
    """Normalized name -> version, from sets/<name>.txt."""

    @property
    def pinned_file(self) -> Path:
        return SETS / f"{self.name}.txt"


def _lines(path: Path) -> list[str]:
    """Requirement lines of a pip requirements file: no comments, options or blank lines."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text("utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("-")]


def read_pins(path: Path) -> dict[str, str]:
    """name==version lines of a compiled requirements file, by normalized name."""
    pins: dict[str, str] = {}
    for line in _lines(path):
        name, sep, version = line.partition("==")
        if not sep:
            raise ValueError(f"{path}: not a pin: {line!r}")
        pins[normalize(name.split("[", 1)[0])] = version.strip()
    return pins


def read_marked_pins(path: Path) -> dict[str, tuple[str, str | None]]:
    """``name==version ; marker`` lines (uv's universal output), by normalized name."""
    pins: dict[str, tuple[str, str | None]] = {}
    for line in _lines(path):
        pin, _, marker = line.partition(";")
        name, sep, version = pin.partition("==")
        if not sep:
            raise ValueError(f"{path}: not a pin: {line!r}")
        pins[normalize(name.split("[", 1)[0])] = (version.strip(), marker.strip() or None)
    return pins


def targets_file(name: str) -> Path:
    """sets/<name>-targets.txt: the set's pins for every platform and Python (with markers)."""
    return SETS / f"{name}-targets.txt"


def load_set(name: str) -> RequirementSet:
    """Read sets/<name>.in and sets/<name>.txt."""
    return RequirementSet(
        name=name,
        top_level=tuple(_lines(SETS / f"{name}.in")),
        pins=read_pins(SETS / f"{name}.txt"),
    )


def add_package() -> tuple[str, str]:
    """(name, version) of the package the add-one scenario adds (sets/add.txt)."""
    ((name, version),) = read_pins(SETS / "add.txt").items()
    return name, version
