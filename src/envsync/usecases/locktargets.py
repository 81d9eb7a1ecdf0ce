"""The targets a lock serves, this machine's among them, and how each one is resolved.

env.toml's ``[lock]`` names Pythons and platforms; what it leaves out is this machine's (the
venv's Python, this platform), as before targets existed, and the lock states it. A target
this machine can run (its platform, a Python of that version found here) is resolved by
that interpreter itself; any other is resolved *for* it by the machine's interpreter
(``ResolveRequest.foreign``). EFFECTS: looks for interpreters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet

from envsync.core.specenvs import DEFAULT_ENV
from envsync.core.targets import LockTarget, describe, machine_platform, matching
from envsync.errors import EnvsyncError, InterpreterNotFoundError, LockError, VenvError
from envsync.venv import create, environment, interpreters

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from envsync.core.locktable import LockInfo
    from envsync.core.spec import NamedEnv, Spec
    from envsync.usecases.target import Target
    from envsync.venv.prober import Prober

__all__ = [
    "EnvPythonNotFoundError",
    "Runner",
    "env_python",
    "machine_target",
    "not_served",
    "runner_for",
    "spec_targets",
    "target_of",
    "uncovered",
]


def machine_target(version: str, markers: Mapping[str, str], tags: Sequence[str]) -> LockTarget:
    """The lock target of an interpreter (the venv's, or the one that will make it)."""
    return LockTarget(python=_minor(version), platform=machine_platform(markers, tags))


def target_of(machine: Target) -> LockTarget:
    """The lock target this machine's venv (or the Python that will make it) is."""
    return machine_target(machine.version, machine.markers, machine.tags)


def spec_targets(spec: Spec, here: LockTarget, prober: Prober) -> tuple[LockTarget, ...]:
    """env.toml's targets, sorted: ``[lock]``'s Pythons x platforms, this machine's by default.

    This machine's Pythons are those of every environment (``[envs]``): *here* is the one
    this run is for, and each other's is the one its venv has or will be made with.
    """
    if spec.lock.python_versions:  # named: the environments' Pythons are not asked
        return spec.lock.grid(python=here.python, machine=here.platform)
    others = (env for env in spec.envs if env.name != spec.env_name)
    pythons = {here.python, *(_minor(env_python(env, prober)) for env in others)}
    grids = {t for p in pythons for t in spec.lock.grid(python=p, machine=here.platform)}
    return tuple(sorted(grids, key=lambda t: t.key))


class EnvPythonNotFoundError(EnvsyncError):
    """No Python on this machine satisfies a named environment's ``python``."""

    code = InterpreterNotFoundError.code


def env_python(env: NamedEnv, prober: Prober) -> str:
    """The Python version *env*'s venv has, or the one its venv would be made with.

    As ``target.find_target`` decides, but reading only: a venv whose Python no longer fits
    (or is gone) counts as the one a new venv would be made with.
    """
    if create.is_venv(env.venv) and create.venv_python(env.venv).exists():
        try:
            version = environment.probe_venv(env.venv, prober=prober).version
        except VenvError:  # pragma: no cover - an interpreter that exists but cannot run
            pass
        else:
            if env.python.contains(version, prereleases=True):
                return str(version)
    try:
        return str(interpreters.find_python(env.python, prober=prober).version)
    except InterpreterNotFoundError as exc:
        if env.name == DEFAULT_ENV:
            raise
        raise not_found(env.name, exc) from exc


def not_found(name: str, exc: InterpreterNotFoundError) -> EnvPythonNotFoundError:
    """*exc* said for the named environment *name*: its message and hint name it."""
    return EnvPythonNotFoundError(
        f"environment {name!r}: {exc.message}",
        hint=f"install a matching Python (e.g. with pyenv) or change [envs.{name}] python "
        "in env.toml",
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class Runner:
    """The interpreter a target is resolved with, and whether it is the target's own."""

    target: LockTarget
    """The target."""
    python: Path
    """The interpreter that runs the resolver."""
    foreign: bool
    """True: *python* is not the target's, so the resolver is told the target's markers."""


def runner_for(target: LockTarget, machine: Target, prober: Prober) -> Runner:
    """Resolve with the target's own Python where this machine has it, else for it."""
    here = target_of(machine)
    if target.platform != here.platform:
        return Runner(target=target, python=machine.python, foreign=True)
    if target.python == here.python:
        return Runner(target=target, python=machine.python, foreign=False)
    try:
        found = interpreters.find_python(SpecifierSet(f"=={target.python}.*"), prober=prober)
    except InterpreterNotFoundError:
        return Runner(target=target, python=machine.python, foreign=True)
    return Runner(target=target, python=found.executable, foreign=False)


def uncovered(spec: Spec, targets: Sequence[LockTarget], here: LockTarget) -> LockError | None:
    """The error for a machine (*here*) that is not among env.toml's *targets*, or None.

    Only when ``[lock]`` names the targets: what it leaves out defaults to this machine.
    """
    if here in targets:
        return None
    # A key [lock] leaves out is this machine's already: only a key it sets needs adding to.
    pythons = spec.lock.python_versions or (here.python,)
    platforms = spec.lock.platforms or (here.platform.name,)
    return LockError(
        f"this machine ({here}) is not a target of env.toml's [lock] ({describe(targets)}), "
        "so the lock cannot serve it",
        hint=_add_hint(pythons, platforms, here),
    )


def not_served(info: LockInfo | None, here: LockTarget) -> LockError | None:
    """The error for a lock none of whose targets is this machine (*here*), or None."""
    if info is None or not info.targets or matching(info.targets, here.markers()) is not None:
        return None
    machine = here
    pythons = {t.python for t in info.targets}
    platforms = {t.platform.name for t in info.targets}
    return LockError(
        f"pylock.toml is for {describe(info.targets)}, not for this machine ({machine})",
        hint=_add_hint(tuple(pythons), tuple(platforms), machine) + " and run `envsync lock`",
    )


def _add_hint(pythons: Sequence[str], platforms: Sequence[str], here: LockTarget) -> str:
    wants = []
    if here.python not in pythons:
        wants.append(f'"{here.python}" to python-versions')
    if here.platform.name not in platforms:
        wants.append(f'"{here.platform.name}" to platforms')
    return "add " + " and ".join(wants) + " in env.toml's [lock]"


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])
