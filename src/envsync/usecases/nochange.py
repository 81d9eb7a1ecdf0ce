"""Whether anything can have changed since the last apply or lock: the no-change use case.

After every successful apply, a state file in the venv records a fingerprint of everything
the result depended on: env.toml and pylock.toml (size and mtime), the venv's pyvenv.cfg, the
build files of local packages, the names in site-packages, the options that choose what is
installed and the envsync version. When a later ``apply`` with the same options finds the
same fingerprint, the venv cannot differ from the lock, so it says so without importing
packaging, probing the interpreter or starting pip. The same file remembers the group options
the venv was last applied with: a command line without group options means those
(``remembered``), here as on the full path. ``lock`` keeps the same kind of state in
envsync's cache folder, since a lock needs no venv.

Only the standard library is imported here, and only what the check needs: this runs before
the rest of envsync is loaded. Anything unusual (an unreadable file) means "not sure", and
the full path decides.
"""

# ruff: noqa: PTH100, PTH103, PTH110, PTH116, PTH118, PTH119, PTH120, PTH123 - os.path, not pathlib:
# this module runs before anything else is imported, and pathlib costs milliseconds here.
from __future__ import annotations

import hashlib
import json
import os
import sys

from envsync.core.names import DEFAULT_VENV, LOCK_NAME, STATE_NAME
from envsync.system.cachedir import cache_root

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (5 ms): start-up path

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from pathlib import Path
    from typing import Any

__all__ = [
    "GROUP_OPTIONS",
    "SWITCH",
    "applied",
    "enabled",
    "keep_newest",
    "lock_path",
    "lock_sha256",
    "lock_state_path",
    "locked",
    "noted",
    "per_lock",
    "record",
    "record_lock",
    "remember",
    "remembered",
    "venv_key",
]

_FORMAT = 1
_UNSURE = (OSError, ValueError, TypeError, KeyError, AttributeError)
#: The options that choose groups: without any of them, a venv's remembered ones stand.
GROUP_OPTIONS = ("--group", "--only-group", "--all-groups", "--no-default-groups")


#: Set to 0, the no-change and replay paths answer nothing: every run takes the full path
#: (the test suite runs both ways).
SWITCH = "ENVSYNC_FASTPATH"


def enabled() -> bool:
    """Whether the no-change and replay paths may answer (``ENVSYNC_FASTPATH`` is not 0)."""
    return os.environ.get(SWITCH, "1") != "0"


def applied(spec: str, options: Mapping[str, Sequence[str]], *, venv: str | None = None) -> bool:
    """Whether an apply of *spec* with *options* is known to change nothing.

    *venv*: the venv ``noted`` for *spec*, when the caller has read the note already.
    """
    if not enabled():
        return False
    try:
        state = _trusted(spec, options, lambda found: os.path.join(found, STATE_NAME), venv)
    except _UNSURE:
        return False
    return state is not None


def record(
    *,
    spec: str | Path,
    venv: str | Path,
    site_packages: Iterable[str | Path],
    local_files: Iterable[str | Path],
    options: Mapping[str, Sequence[str]] | None,
    groups: Mapping[str, Sequence[str]],
    default: bool = False,
) -> None:
    """Write the state file after a successful apply; never fails the run.

    *groups* are the group options the venv now holds (as ``--group`` and the like), which
    a later command line without group options means. *options* are the command line's,
    when the no-change path can read such a command line again; without them the state
    remembers the groups but vouches for nothing (the next apply takes the full path).
    *default*: the venv is ``[env]``'s, which the note beside the lock state names (``noted``).
    """
    state: dict[str, object] = {
        "format": _FORMAT,
        "site_packages": sorted(str(p) for p in set(site_packages)),
        "local_files": sorted(str(p) for p in local_files),
        "groups": {k: list(v) for k, v in sorted(groups.items())},
    }
    try:
        if options is not None:
            state["key"] = _key(str(spec), str(venv), state, _effective(options, state))
        _write(os.path.join(venv, STATE_NAME), state)
        if default:
            _note(str(spec), str(venv))
    except OSError:
        return  # without a state file the next run simply takes the full path


def noted(spec: str) -> str | None:
    """The venv ``[env]`` of *spec* names, as noted when env.toml was last seen as it is now.

    None when there is no note, or env.toml's size or mtime changed since: then only
    reading env.toml (``_venv_of``) says. The note spares the no-change and replay paths
    the TOML parser (10 ms with the typing module it imports).
    """
    try:
        with open(_note_path(spec), encoding="utf-8") as fh:
            note = json.load(fh)
        if note["spec"] == _stamp(spec):
            return str(note["venv"])
    except _UNSURE:
        return None
    return None


def _note(spec: str, venv: str) -> None:
    """Note *venv* for *spec* as it is now, unless that note is there already."""
    venv = os.path.abspath(venv)
    if noted(spec) == venv:
        return
    path = _note_path(spec)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    _write(path, {"spec": _stamp(spec), "venv": venv})


def _note_path(spec: str) -> str:
    return lock_state_path(spec).removesuffix(".json") + ".venv.json"


def _stamp(spec: str) -> list[int]:
    found = os.stat(spec)
    return [found.st_size, found.st_mtime_ns]


def remembered(venv: Path) -> dict[str, list[str]] | None:
    """The group options *venv* was last applied with; None when it has no readable record."""
    try:
        with open(os.path.join(venv, STATE_NAME), encoding="utf-8") as fh:
            return _groups(json.load(fh))
    except _UNSURE:
        return None


def remember(venv: Path, groups: Mapping[str, Sequence[str]]) -> None:
    """Record *groups* as the venv's, where nothing was installed (its packages were right).

    The rest of the state is kept but no longer vouches for anything: its fingerprint was
    made with the old groups, and a stale vouch would let the no-change path answer for them.
    """
    path = os.path.join(venv, STATE_NAME)
    try:
        with open(path, encoding="utf-8") as fh:
            state = json.load(fh)
    except _UNSURE:
        state = None
    if not isinstance(state, dict):
        state = {"format": _FORMAT, "site_packages": [], "local_files": []}
    state.pop("key", None)
    state["groups"] = {k: list(v) for k, v in sorted(groups.items())}
    try:
        _write(path, state)
    except OSError:
        return


def locked(spec: str) -> str | None:
    """The summary of the last lock of *spec*, when nothing it depends on changed since."""
    if not enabled():
        return None
    try:
        state = _trusted(spec, {}, lambda _venv: lock_state_path(spec))
        return None if state is None else str(state["summary"])
    except _UNSURE:
        return None


def record_lock(
    *, spec: str | Path, venv: str | Path, local_files: Iterable[str | Path], summary: str
) -> None:
    """Write the lock state after a lock or apply left pylock.toml fresh for env.toml.

    A lock needs no venv, so this state lives in envsync's cache folder, one file per spec.
    """
    state: dict[str, object] = {
        "format": _FORMAT,
        "site_packages": [],
        "local_files": sorted(str(p) for p in local_files),
        "summary": summary,
    }
    try:
        state["key"] = _key(str(spec), str(venv), state, {})
        path = lock_state_path(str(spec))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        _write(path, state)
    except OSError:
        return


def lock_path(spec: str) -> str:
    """pylock.toml beside *spec* (env.toml), as a plain path: the fast paths read it."""
    return os.path.join(os.path.dirname(os.path.abspath(spec)), LOCK_NAME)


def lock_sha256(spec: str) -> str:
    """The sha256 of the bytes of pylock.toml beside *spec*: what the fast paths' recipes key."""
    with open(lock_path(spec), "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def lock_state_path(spec: str) -> str:
    """Where the lock state of *spec* is kept: envsync's cache folder, keyed by the spec path."""
    name = hashlib.sha256(os.path.abspath(spec).encode()).hexdigest()[:32]
    return os.path.join(cache_root(), "lock-state", f"{name}.json")


def per_lock(spec: str, lock: str, kind: str) -> str:
    """Where a fast path's recipe of *kind* for *spec* and the lock of sha256 *lock* is kept.

    One per lock: a lock checked out again (another branch, a lock put back) finds its own.
    """
    state = lock_state_path(spec)
    name = os.path.basename(state).removesuffix(".json")
    return os.path.join(os.path.dirname(state), kind, f"{name}-{lock[:32]}.json")


def keep_newest(path: str, count: int) -> None:
    """Keep the newest *count* recipes beside *path* of its spec (``per_lock``), delete others.

    OSError when the folder cannot be listed or a recipe deleted.
    """
    from envsync.system import removal  # noqa: PLC0415 - only a run that keeps a recipe

    folder, name = os.path.split(path)
    prefix = name[: name.rindex("-") + 1]
    mine = [entry for entry in os.scandir(folder) if entry.name.startswith(prefix)]
    mine.sort(key=lambda entry: entry.stat().st_mtime_ns, reverse=True)
    owned = removal.Owned.cache(cache_root())
    for entry in mine[count:]:
        removal.delete(entry.path, within=owned)


def _trusted(
    spec: str,
    options: Mapping[str, Sequence[str]],
    where: Callable[[str], str],
    venv: str | None = None,
) -> dict[str, Any] | None:
    """The state file at ``where(venv)`` when its key matches the world now, else None.

    *venv* is the noted one if the caller read it. Raises what reading the state raised:
    every caller treats that as "not sure".
    """
    venv = venv or noted(spec) or _venv_of(spec)
    with open(where(venv), encoding="utf-8") as fh:
        state = json.load(fh)
    key = _key(spec, venv, state, _effective(options, state))
    fits = state.get("format") == _FORMAT and state.get("key") == key
    return state if fits else None


def _effective(
    options: Mapping[str, Sequence[str]], state: Mapping[str, object]
) -> Mapping[str, Sequence[str]]:
    """*options*, with the state's remembered groups when they name no group themselves."""
    if any(name in options for name in GROUP_OPTIONS):
        return options
    return {**options, **_groups(state)}


def _groups(state: object) -> dict[str, list[str]]:
    """The remembered group options of a state (none in a lock state, or an older one)."""
    if not isinstance(state, dict):
        raise TypeError(state)
    groups = state.get("groups", {})
    if not isinstance(groups, dict) or not set(groups) <= set(GROUP_OPTIONS):
        raise TypeError(groups)
    return {name: _strings(value) for name, value in groups.items()}


def _write(path: str, state: dict[str, object]) -> None:
    """Replace the state file whole: a torn one must never be read as "No changes"."""
    from envsync.system import atomic  # noqa: PLC0415 - only a full run writes; keep start-up lean

    atomic.write_text(path, json.dumps(state), fault="writing-state")


def _venv_of(spec: str) -> str:
    """The venv folder env.toml names (its [env] venv, default .venv), made absolute.

    The one read of env.toml on this path: the venv decides which state applies, and the
    spec's size and mtime are in the key, so a changed env.toml is never trusted.
    """
    if sys.version_info >= (3, 11):
        import tomllib  # noqa: PLC0415 - only this run needs it, and only when a state exists
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # noqa: PLC0415

    with open(spec, "rb") as fh:
        data = tomllib.load(fh)
    venv = data.get("env", {}).get("venv", DEFAULT_VENV)
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(spec)), venv))


def venv_key(spec: str, venv: str, options: Mapping[str, Sequence[str]]) -> str | None:
    """The key of *venv*'s state less env.toml: the same while the lock and venv are.

    None when the state vouches for nothing (see ``record``) or cannot be read.
    """
    try:
        with open(os.path.join(venv, STATE_NAME), encoding="utf-8") as fh:
            state = json.load(fh)
        if state.get("format") != _FORMAT or "key" not in state:
            return None
        return _key(spec, venv, state, _effective(options, state), with_spec=False)
    except _UNSURE:
        return None


def _key(
    spec: str,
    venv: str,
    state: Mapping[str, object],
    options: Mapping[str, Sequence[str]],
    *,
    with_spec: bool = True,
) -> str:
    """The fingerprint of everything an apply's result depends on (*with_spec*: env.toml)."""
    from envsync import __version__  # noqa: PLC0415 - a tiny module, but only needed here

    root = os.path.dirname(os.path.abspath(spec))
    files = [
        *([os.path.abspath(spec)] if with_spec else []),
        os.path.join(root, LOCK_NAME),
        *_strings(state.get("local_files")),
    ]
    # The venv's Python decides what a lock is for; without a venv, "none" is the state.
    venv_cfg = os.path.join(venv, "pyvenv.cfg")
    files += [venv_cfg] if os.path.exists(venv_cfg) else []
    digest = hashlib.sha256(__version__.encode())
    digest.update(json.dumps(sorted((k, sorted(v)) for k, v in options.items())).encode())
    for name in files:
        stat = os.stat(name)
        digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    for folder in _strings(state.get("site_packages")):
        digest.update(_listing(folder).encode())
    return digest.hexdigest()


def _listing(folder: str) -> str:
    """The names in site-packages, with the mtimes of the dist-info folders.

    A dist-info folder is written anew whenever pip (or anything else) installs a
    distribution, so this changes whenever a package is added, removed or replaced.
    """
    parts = []
    with os.scandir(folder) as entries:
        for entry in entries:
            stamp = entry.stat().st_mtime_ns if entry.name.endswith(".dist-info") else 0
            parts.append(f"{entry.name}:{stamp}")
    return "\0".join(sorted(parts)) + "\0\0"


def _strings(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError(value)
    return value
