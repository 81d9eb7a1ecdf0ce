"""The environment a run targets: its interpreter and venv, and whether that venv path may be used.

The target is the venv's interpreter, or the one a new venv will be made from. EFFECTS:
probes interpreters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from envsync.core.names import LOCK_NAME
from envsync.errors import VenvError
from envsync.report import Step
from envsync.venv import create, environment, interpreters, safety

if TYPE_CHECKING:
    from pathlib import Path

    from envsync.core.spec import Spec
    from envsync.report import Reporter
    from envsync.venv.environment import VenvInfo
    from envsync.venv.interpreters import Interpreter
    from envsync.venv.prober import Prober

__all__ = ["Target", "VenvChange", "check_venv_path", "find_target"]

VenvChange = Literal["keep", "create", "recreate"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    """The interpreter and marker environment the venv has, or will have."""

    python: Path
    """The interpreter: the venv's own, or the one a new venv will be made from."""
    interpreter: Interpreter | None
    """The interpreter a new venv is made from, as found; None when the venv is kept."""
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


def find_target(spec: Spec, reporter: Reporter, prober: Prober) -> Target:
    """The venv's interpreter when it satisfies the spec, else the Python to make it with.

    A venv path that must never be a venv, or names something that is not one, is refused
    here, before anything is resolved or changed.
    """
    reason = check_venv_path(spec)
    if reason is None and create.is_venv(spec.venv):
        info = environment.probe_venv(spec.venv, prober=prober)
        if spec.python.contains(info.version, prereleases=True):
            return _target(info, None, "keep")
        reason = f"its Python {info.version} does not satisfy python = {str(spec.python)!r}"
    if reason is not None:
        create.check_replaceable(spec.venv)  # before the search: a refusal needs no Python
    reporter.emit(Step(what=f"looking for a Python matching {str(spec.python) or 'any'}"))
    # A new venv is made from a Python the lock serves: one [lock] python-versions lists.
    found = interpreters.find_python(spec.python, minors=spec.lock.python_versions, prober=prober)
    probe = environment.probe_interpreter(found.executable, prober=prober)
    return _target(probe, found, "recreate" if reason else "create", reason)


def _target(
    info: VenvInfo, found: Interpreter | None, change: VenvChange, reason: str | None = None
) -> Target:
    """The Target of an interpreter that *info* describes (*found* when it was searched for)."""
    return Target(
        python=found.executable if found else info.python,
        interpreter=found,
        version=str(found.version if found else info.version),
        markers=info.markers,
        tags=info.tags,
        change=change,
        reason=reason,
    )


def check_venv_path(spec: Spec) -> str | None:
    """Refuse a venv path envsync must not use; why the venv must be made again, or None.

    Refused: a path over the project's own files, a home folder or a root, and a path that
    exists and is no venv (envsync never replaces what it did not make). A venv whose
    interpreter is gone must be made again, whatever its Python was.
    """
    own_files = (spec.path, spec.root / LOCK_NAME)
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
