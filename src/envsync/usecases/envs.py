"""The project's environments: choosing them by name, and ``envsync envs`` (reads only).

An environment is run as a ``Spec`` of its own: env.toml with its venv, python and keep in
place of ``[env]``'s (``derive``), so every use case serves it unchanged. All of them share
pylock.toml, whose targets name every environment's Python (``locktargets.spec_targets``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from envsync.core.selection import GroupSelection
from envsync.core.specenvs import DEFAULT_ENV, NamedEnv, valid_env_name
from envsync.core.tomlcheck import closest
from envsync.errors import EnvsyncError, InterpreterNotFoundError, LockError
from envsync.usecases import check, locktargets
from envsync.usecases.planning import choose_groups

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from envsync.core.selection import Chosen
    from envsync.core.spec import Spec
    from envsync.usecases.check import CheckOutcome

__all__ = [
    "EnvState",
    "EnvStatus",
    "UnknownEnvError",
    "all_envs",
    "derive",
    "env_of",
    "groups_for",
    "list_envs",
    "naming",
    "pick",
    "state_of",
]

EnvState = Literal["missing", "in sync", "drift", "lock stale"]


class UnknownEnvError(EnvsyncError):
    """``-e NAME`` names no environment of env.toml."""

    code = "env-unknown"


@dataclass(frozen=True, kw_only=True, slots=True)
class EnvStatus:
    """One environment as ``envsync envs`` lists it."""

    name: str
    """``default`` for ``[env]``, else its ``[envs]`` name."""
    venv: Path
    """Its venv."""
    python: str
    """The Pythons it accepts, as a specifier (empty: any)."""
    version: str | None
    """The Python version its venv has, when there is one."""
    groups: tuple[str, ...]
    """The groups it installs (normalized)."""
    main: bool
    """Whether it installs the main dependencies (not with ``only-groups``)."""
    state: EnvState
    """missing (no venv), in sync, drift (the venv differs), or lock stale."""
    reason: str | None = None
    """Why the lock is stale, when it is."""


def all_envs(spec: Spec) -> tuple[NamedEnv, ...]:
    """Every environment: ``[env]`` first, then ``[envs]`` by name."""
    default = NamedEnv(name=DEFAULT_ENV, venv=spec.venv, python=spec.python, keep=spec.keep)
    return spec.envs or (default,)


def env_of(spec: Spec) -> NamedEnv:
    """The environment *spec* is for."""
    return next((e for e in all_envs(spec) if e.name == spec.env_name), all_envs(spec)[0])


def derive(spec: Spec, env: NamedEnv) -> Spec:
    """*spec* for the environment *env*: its venv, python and keep in place of [env]'s."""
    if env.name == spec.env_name:
        return spec
    return replace(spec, venv=env.venv, python=env.python, keep=env.keep, env_name=env.name)


def pick(spec: Spec, names: Sequence[str], *, every: bool = False) -> tuple[Spec, ...]:
    """The environments ``-e NAME...`` (each once, in order) or ``--all-envs`` choose.

    None of them: the default one. An unknown name is an error naming the known ones.
    """
    known = {env.name: env for env in all_envs(spec)}
    if every:
        return tuple(derive(spec, env) for env in known.values())
    if not names:
        return (spec,)
    for name in names:
        if name not in known:
            raise _unknown(spec, name, list(known))
    return tuple(derive(spec, known[name]) for name in dict.fromkeys(names))


def _unknown(spec: Spec, name: str, known: list[str]) -> UnknownEnvError:
    if not spec.envs:
        return UnknownEnvError(
            f"there is no environment named {name!r}: env.toml declares none besides the "
            f"default one ([env], `-e {DEFAULT_ENV}`)",
            hint=f"declare it in env.toml as a table [envs.{_table_name(name)}] with, for "
            'instance, python = "3.12" and groups = ["test"]; or leave out -e to use [env]',
        )
    meant = closest(name, known)
    return UnknownEnvError(
        f"there is no environment named {name!r} (environments: {', '.join(known)})",
        hint=f"did you mean {meant!r}?" if meant else "declare it as [envs.NAME] in env.toml",
    )


def _table_name(name: str) -> str:
    """*name* where it may name an environment, else NAME (the hint must not teach a typo)."""
    try:
        return valid_env_name(name)
    except ValueError:
        return "NAME"


def groups_for(spec: Spec, asked: GroupSelection) -> GroupSelection:
    """The command line's group options when it gave any, else the environment's own."""
    if not asked.is_empty():
        return asked
    env = env_of(spec)
    return GroupSelection(groups=env.groups, only=env.only_groups)


@contextlib.contextmanager
def naming(spec: Spec) -> Iterator[None]:
    """A missing Python of a named environment is said as that environment's."""
    try:
        yield
    except InterpreterNotFoundError as exc:
        if spec.env_name == DEFAULT_ENV:
            raise
        raise locktargets.not_found(spec.env_name, exc) from exc


def list_envs(spec: Spec) -> tuple[EnvStatus, ...]:
    """Each environment with its state, as ``check`` finds it: nothing resolved or installed."""
    return tuple(_status(derive(spec, env)) for env in all_envs(spec))


def _status(spec: Spec) -> EnvStatus:
    asked = groups_for(spec, GroupSelection())
    state, version, reason, chosen = _state(spec, asked)
    chosen = chosen or choose_groups(spec, asked)
    return EnvStatus(
        name=spec.env_name,
        venv=spec.venv,
        python=str(spec.python),
        version=version,
        groups=chosen.groups,
        main=chosen.main,
        state=state,
        reason=reason,
    )


def _state(
    spec: Spec, asked: GroupSelection
) -> tuple[EnvState, str | None, str | None, Chosen | None]:
    """The state, the venv's Python version, why the lock is stale, and the groups checked.

    As check finds them: an environment that declares no groups is checked with those its
    venv was last applied with.
    """
    try:
        with naming(spec):
            found = check.check(spec, groups=asked)
    except LockError as exc:  # the lock serves no target of this venv's Python
        return "lock stale", None, exc.message, None
    state = state_of(found)
    return state, found.python, found.lock_reason if state == "lock stale" else None, found.chosen


def state_of(found: CheckOutcome) -> EnvState:
    """An environment's state in a word, from what check found."""
    if found.venv_state in {"missing", "broken"}:
        return "missing"
    if found.lock_state != "fresh":
        return "lock stale"
    return "in sync" if found.in_sync() else "drift"
