"""env.toml's environments: ``[env]`` (the default) and ``[envs.NAME]``, from one lock. PURE.

Read with the loader's toolkit (``tomlcheck``), every problem recorded on the ``Checker`` that
``spec.parse_spec`` hands in. The readers of ``python``, ``venv`` and ``keep`` live here
because ``[env]`` and each ``[envs.NAME]`` share them: one reading, one set of messages.
A named environment takes what it leaves out from ``[env]``, except its venv, which is
``.venvs/NAME``: two environments never share a venv.
"""

from __future__ import annotations

import os.path
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from envsync.core.names import DEFAULT_VENV
from envsync.core.speclock import allows_minor
from envsync.core.specsources import valid_name
from envsync.core.tomlcheck import (
    Checker,
    Key,
    check_digits,
    convert_value,
    get_each,
    get_string,
    get_table,
    path_problem,
    show,
    undefined,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from envsync._types import NormalizedName
    from envsync.core.targets import LockTargets

__all__ = [
    "DEFAULT_ENV",
    "DEFAULT_KEEP",
    "ENVS_DIR",
    "ENVS_KEYS",
    "ENV_NAME_CHARS",
    "NamedEnv",
    "read_envs",
    "read_keep",
    "read_python",
    "read_venv",
    "valid_env_name",
]

#: The name of the environment ``[env]`` describes (``-e default`` selects it).
DEFAULT_ENV = "default"
#: Where a named environment's venv is unless it says otherwise: ``.venvs/NAME``.
ENVS_DIR = ".venvs"
#: The keys of each ``[envs.NAME]``.
ENVS_KEYS = frozenset({"venv", "python", "groups", "only-groups", "keep"})
ENV_NAME_CHARS = "(lowercase letters, digits and -)"
_ENV_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
#: Installed packages that apply never removes unless the spec says otherwise.
DEFAULT_KEEP: tuple[str, ...] = ("pip",)
_PYTHON_EXPECTED = 'a Python version like "3.12" or a specifier like ">=3.11"'


@dataclass(frozen=True, kw_only=True, slots=True)
class NamedEnv:
    """One environment of the project: its venv, its Python and its groups."""

    name: str
    """``default`` for ``[env]``, else the NAME of ``[envs.NAME]``."""
    venv: Path
    """Absolute path of its virtual environment."""
    python: SpecifierSet
    """The Pythons it accepts (``[env]``'s when it names none)."""
    groups: tuple[str, ...] = ()
    """Groups installed besides the main dependencies, as ``--group`` (names as written)."""
    only_groups: tuple[str, ...] = ()
    """Groups installed without the main dependencies, as ``--only-group``."""
    keep: tuple[NormalizedName, ...] = ()
    """Packages apply never removes (``[env]``'s when it names none)."""


def valid_env_name(text: str) -> str:
    """*text* if it names an environment: lowercase letters, digits and inner dashes."""
    if not _ENV_NAME.fullmatch(text):
        raise ValueError("")
    return text


def read_envs(
    check: Checker,
    data: Mapping[str, object],
    *,
    default: NamedEnv,
    folder: Path,
    groups: Sequence[str],
    lock: LockTargets,
) -> tuple[NamedEnv, ...]:
    """Read ``[envs]``: empty when absent, else *default* first and the others by name.

    *folder* is env.toml's; *groups* are the names ``[groups]`` defines; *lock* is
    ``[lock]``, whose Pythons must each serve some environment, and each environment's
    Python be one of them.
    """
    if "envs" not in data:
        return ()
    table = get_table(check, data, ("envs",))
    named = [_read_env(check, table, name, default, (folder, groups)) for name in table]
    envs = (default, *sorted((e for e in named if e is not None), key=lambda e: e.name))
    _check_venvs(check, envs)
    _check_lock_pythons(check, envs, lock)
    return envs


def _read_env(
    check: Checker,
    table: Mapping[str, object],
    name: str,
    default: NamedEnv,
    where: tuple[Path, Sequence[str]],
) -> NamedEnv | None:
    """Read ``[envs.<name>]``; None when its name or its type is wrong (reported).

    *where* is env.toml's folder and the names ``[groups]`` defines.
    """
    folder, groups = where
    key: Key = ("envs", name)
    value = get_table(check, table, key, ENVS_KEYS)
    valid = _check_name(check, key, name)
    python = read_python(check, value, (*key, "python"), default=default.python)
    # A name that is no name makes no default path: the venv read stands in until it is fixed.
    own = f"{ENVS_DIR}/{name}" if valid else DEFAULT_VENV
    venv = read_venv(check, value, (*key, "venv"), folder, own)
    keep = read_keep(check, value, (*key, "keep"), default=default.keep)
    chosen = _group_names(check, value, (*key, "groups"), groups)
    only = _group_names(check, value, (*key, "only-groups"), groups)
    if not valid or not isinstance(table[name], dict):
        return None
    return NamedEnv(name=name, venv=venv, python=python, groups=chosen, only_groups=only, keep=keep)


def _check_name(check: Checker, key: Key, name: str) -> bool:
    """Whether *name* may name an environment; if not, the problem is recorded."""
    if name == DEFAULT_ENV:
        expected = f"an environment name other than {DEFAULT_ENV!r}, which names [env]"
        check.add(key, expected, show(name), None)
        return False
    if _ENV_NAME.fullmatch(name):
        return True
    # "Py_311" is most likely "py-311": the same name in the allowed letters.
    meant = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    hint = meant if _ENV_NAME.fullmatch(meant) and meant != DEFAULT_ENV else None
    check.add(key, f"an environment name {ENV_NAME_CHARS}", show(name), None, hint)
    return False


def _group_names(
    check: Checker, table: Mapping[str, object], key: Key, groups: Sequence[str]
) -> tuple[str, ...]:
    """Read a list of group names, each one ``[groups]`` defines (as the CLI checks them)."""
    known = {str(canonicalize_name(name)) for name in groups}
    names = get_each(check, table, key, str, "a group name") or []
    for item_key, text in names:
        if str(canonicalize_name(text)) not in known:
            undefined(check, item_key, "a group defined in [groups]", text, list(groups))
    return tuple(dict.fromkeys(text for _, text in names))


def _check_venvs(check: Checker, envs: Sequence[NamedEnv]) -> None:
    """Each environment has a venv of its own: two sharing one would undo each other."""
    owner: dict[Path, str] = {}
    for env in envs:
        other = owner.setdefault(env.venv, env.name)
        if other != env.name:
            found = f"{env.venv}, the venv of environment {other!r} too"
            check.add(("envs", env.name, "venv"), "a venv of its own", found, None)


def _check_lock_pythons(check: Checker, envs: Sequence[NamedEnv], lock: LockTargets) -> None:
    """``[lock] python-versions``: each serves some environment, each environment has one."""
    versions = lock.python_versions
    for version in versions:
        # An environment that accepts any Python accepts every version.
        if not any(not env.python or allows_minor(env.python, version) for env in envs):
            expected = "a Python version some environment's python allows"
            check.add(("lock", "python-versions"), expected, show(version), version)
    listed = ", ".join(versions)
    for env in envs:
        # A named environment that takes [env]'s python is answered for at [env] python.
        inherited = env.name != DEFAULT_ENV and env.python == envs[0].python
        if (
            versions
            and env.python
            and not inherited
            and not any(allows_minor(env.python, v) for v in versions)
        ):
            key: Key = (
                ("env", "python") if env.name == DEFAULT_ENV else ("envs", env.name, "python")
            )
            expected = f"a python one of [lock] python-versions ({listed}) satisfies"
            check.add(key, expected, show(str(env.python)), None)


# --- the keys every environment has ---------------------------------------------------------------


def read_python(
    check: Checker, table: Mapping[str, object], key: Key, *, default: SpecifierSet | None = None
) -> SpecifierSet:
    """Read a ``python`` key: a specifier set, or a bare version meaning that release.

    Absent, it is *default* (any Python when there is none); empty, any Python.
    """
    if str(key[-1]) not in table and default is not None:
        return default
    text = (get_string(check, table, key) or "").strip()
    result = convert_value(check, key, text, _python_specifier, _PYTHON_EXPECTED) if text else None
    return SpecifierSet() if result is None else result


def _python_specifier(text: str) -> SpecifierSet:
    """Turn ``"3.12"`` into ``==3.12.*`` and ``"3.12.1"`` into ``==3.12.1``; parse the rest."""
    check_digits(text)  # packaging would accept it here and fail when it compares versions
    if not text[0].isdigit():
        return SpecifierSet(text)
    version = Version(text)
    # Only a plain X.Y or X.Y.Z is shorthand; anything fancier is written as a specifier.
    if str(version) != version.base_version or len(version.release) not in {2, 3}:
        raise ValueError("a bare version must look like X.Y or X.Y.Z")
    wildcard = ".*" if len(version.release) == 2 else ""  # noqa: PLR2004 - X.Y
    return SpecifierSet(f"=={version}{wildcard}")


def read_venv(
    check: Checker, table: Mapping[str, object], key: Key, folder: Path, default: str = DEFAULT_VENV
) -> Path:
    """Read a ``venv`` key, made absolute against *folder* (env.toml's) by string operations."""
    raw = get_string(check, table, key)
    if raw is not None and (not raw.strip() or "\0" in raw):
        check.add(key, "a folder path", show(raw), raw)
        raw = None
    elif raw is not None and (problem := path_problem(raw)):
        check.add(key, "a folder path", f"{show(raw)} ({problem})", raw)
        raw = None
    root = Path(os.path.normpath(folder.absolute()))
    venv = Path(os.path.normpath(root / (raw or default)))
    if root.is_relative_to(venv):  # apply replaces the venv: never the project itself
        expected = "a folder of its own, not the project folder or one above it"
        check.add(key, expected, f"{show(raw)}, which is {venv}", raw)
    return venv


def read_keep(
    check: Checker,
    table: Mapping[str, object],
    key: Key,
    *,
    default: tuple[NormalizedName, ...] | None = None,
) -> tuple[NormalizedName, ...]:
    """Read a ``keep`` key: package names, normalized, sorted and deduplicated.

    Absent, it is *default*, or pip when there is none.
    """
    names = get_each(check, table, key, valid_name, "a package name")
    if names is None:
        if default is not None:
            return default
        return tuple(sorted({canonicalize_name(name) for name in DEFAULT_KEEP}))
    return tuple(sorted({name for _, name in names}))
