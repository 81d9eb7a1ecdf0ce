"""What interpreters and venvs said about themselves during one run: the run's one memory of it.

Asking an interpreter means starting it (20 to 50 ms), and one run asks about the same venv
several times: to plan, after installing to verify, and for the installer. A Prober is made
once per run and handed to whatever asks; a function given none starts with an empty one, so
nothing is remembered between runs in one process (tests call envsync many times in one).
Answers that outlive a run are kept on disk by ``probecache``, keyed by the interpreter file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from packaging.version import Version

    from envsync.core.planner import InstalledDist
    from envsync.venv.earlyprobe import EarlyProbe
    from envsync.venv.environment import VenvInfo

__all__ = ["ProbeKey", "Prober"]

#: (venv or prefix folder, interpreter path, inode, mtime): a replaced interpreter is new.
ProbeKey = tuple[str, str, int, int]


@dataclass(kw_only=True, slots=True)
class Prober:
    """The answers of one run: each interpreter asked once, each dist-info read once."""

    venvs: dict[ProbeKey, VenvInfo] = field(default_factory=dict)
    """Each venv's (or interpreter's) paths, markers and tags."""
    answers: dict[ProbeKey, dict[str, Any]] = field(default_factory=dict)
    """The raw answers behind ``venvs``: a new venv's layout is derived from its base's."""
    versions: dict[tuple[str, int], tuple[str, Version] | str] = field(default_factory=dict)
    """(real path, mtime) -> (implementation, version), or why the interpreter cannot run."""
    dists: dict[Path, tuple[tuple[list[int] | None, ...], InstalledDist | None, str | None]] = (
        field(default_factory=dict)
    )
    """Each dist-info folder read, with the identity of its files (``installed.Read``)."""
    kept_dists: dict[tuple[object, ...], dict[str, Any]] = field(default_factory=dict)
    """Each venv's dist-infos as the probe cache kept them, read once per run (``installed``)."""
    early: EarlyProbe | None = None
    """The probe of envsync's own interpreter the start-up path began (``earlyprobe``)."""
