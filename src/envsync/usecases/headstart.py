"""Start the relock's resolver before the rest of envsync is loaded (``resolve.ahead``).

After a run that resolved once (pip-compile or uv), ``aheadrecipe.keep`` leaves a recipe
beside the lock state: the command line it ran, the environment's differences from
envsync's own, the pins the next relock keeps (the new lock's), env.toml as data with its
requirement lists taken out, which input file each list went into, and each requirement's
line as written.

When ``apply`` or ``lock`` goes to the full path with the same pylock.toml bytes and an
env.toml that differs only in what its lists ask for, and asks for something new (a removal
alone is pruned without a resolver), ``started`` writes the input files the full path will
write and starts the same command line at once. The full path then takes it over only when
it asks for exactly that run (``ahead.Calls``); the guess is never trusted.

Only the standard library here (tomllib for env.toml): the start-up path.
"""

# ruff: noqa: PTH102, PTH103, PTH113, PTH118, PTH123 - os.path: the start-up path
from __future__ import annotations

import hashlib
import os

from envsync.resolve.ahead import OUTPUT, PREFIX, Ahead
from envsync.system import sealed
from envsync.system.cachedir import cache_root
from envsync.usecases import nochange

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (5 ms): start-up path

if TYPE_CHECKING:
    import re
    from collections.abc import Mapping
    from typing import Any

    from envsync.venv.earlyprobe import EarlyProbe

__all__ = ["FORMAT", "PLAIN", "blanked", "path_of", "probe_started", "started"]

FORMAT = 2
#: What makes the answer "not sure": no early run.
_UNSURE = (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError)
#: A requirement packaging writes back as it is: a name, one extra, one version clause.
#: Anything else needs a line the recipe holds (packaging sorts extras and clauses).
PLAIN = (
    r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?(?:\[[a-z0-9-]+\])?"
    r"(?:(?:==|>=|<=|~=|!=|<|>)[0-9][0-9a-z.*+!]*)?"
)


def path_of(spec: str, lock: str) -> str:
    """Where the recipe of a relock of *spec* from the lock whose sha256 is *lock* is kept."""
    return nochange.per_lock(spec, lock, "ahead")


def blanked(data: Mapping[str, Any], lists: Mapping[str, list[str]]) -> dict[str, Any]:
    """env.toml's *data* with each requirement list of *lists* (file -> key path) as None."""
    copy = {key: dict(value) if isinstance(value, dict) else value for key, value in data.items()}
    for table, key in lists.values():
        copy[table][key] = None
    return copy


def probe_started() -> EarlyProbe | None:
    """The probe of envsync's own Python, started now when no answer for it is kept.

    A run that makes a venv waits for that probe once it has loaded; started here, it runs
    while the full path loads (``venv.earlyprobe``). None with the fast paths off.
    """
    if not nochange.enabled():
        return None
    from envsync.venv import earlyprobe  # noqa: PLC0415 - only once the fast paths did not answer

    return earlyprobe.started_probe()


def started(spec: str) -> Ahead | None:
    """The resolver run a relock of *spec* will ask for, started now; None when unsure."""
    if not nochange.enabled():
        return None
    try:
        planned = _planned(spec)
    except _UNSURE:
        return None
    if planned is None:
        return None
    argv, env, files = planned
    try:
        folder = _folder()
    except OSError:
        return None
    try:
        for name, content in files.items():
            with open(os.path.join(folder, name), "xb") as fh:
                fh.write(content)
        return Ahead(argv, env, folder, files)
    except _UNSURE:
        _forget(folder)
        return None


def _forget(folder: str) -> None:
    """Delete the folder of a run that could not start (envsync's own); never fails."""
    from envsync.errors import EnvsyncError  # noqa: PLC0415 - only when it could not start
    from envsync.system import removal  # noqa: PLC0415

    try:
        removal.delete_tree(removal.Owned(folder, "temporary"))
    except (OSError, EnvsyncError):
        return


def _planned(spec: str) -> tuple[list[str], dict[str, str], dict[str, bytes]] | None:
    """The command line, environment and files of the next relock's run; None when unsure."""
    lock = nochange.lock_sha256(spec)
    recipe = sealed.read(path_of(spec, lock))
    if not isinstance(recipe, dict) or recipe.get("format") != FORMAT or recipe["lock"] != lock:
        return None
    files = _files(spec, recipe)
    if files is None:
        return None
    unset = set(recipe["unset"])
    env = {k: v for k, v in os.environ.items() if k not in unset} | dict(recipe["set"])
    argv = [str(arg) for arg in recipe["argv"]]
    # The full path resolves under the venv's interpreter when there is a venv, else under
    # the Python it would make one with: the one the recipe's run had, if it had no venv.
    ran, python = str(recipe["python"]), str(recipe["venv_python"])
    if os.path.isfile(os.path.join(recipe["venv"], "pyvenv.cfg")):
        argv = [_interpreter(arg, ran, python) for arg in argv]
    elif ran == python:
        return None
    return argv, env, files


def _interpreter(arg: str, ran: str, python: str) -> str:
    """*arg* naming *python* where it named *ran*.

    The interpreter is an argument itself (pip-compile's argv[0]) or an option's value (uv's
    ``--python=``).
    """
    if arg == ran:
        return python
    if arg.endswith(f"={ran}"):
        return arg[: -len(ran)] + python
    return arg


def _files(spec: str, recipe: Mapping[str, Any]) -> dict[str, bytes] | None:
    """The files the next relock writes in its working folder, by name; None when unsure."""
    with open(spec, "rb") as fh:
        raw = fh.read()
    if hashlib.sha256(raw).hexdigest() == recipe["env"]:
        return None  # env.toml as the lock was made for: nothing to resolve anew
    import tomllib  # noqa: PLC0415 - only when env.toml changed since this very lock

    data = tomllib.loads(raw.decode("utf-8"))
    lists: dict[str, list[str]] = recipe["lists"]
    if blanked(data, lists) != recipe["spec"]:
        return None  # more than the requirements changed
    import re  # noqa: PLC0415 - loaded by tomllib already

    plain = re.compile(PLAIN)
    files: dict[str, bytes] = {}
    new = False
    for name, (table, key) in lists.items():
        items = data[table][key]
        if not isinstance(items, list):
            return None
        lines = [_line(item, recipe["lines"], plain) for item in items]
        if None in lines:
            return None
        new = new or not set(items) <= set(recipe["items"][name])
        files[name] = "".join(f"{line}\n" for line in lines).encode("utf-8")
    if not new:
        return None  # nothing asked for anew: a removal is pruned, no resolver runs
    if recipe["preferences"] is not None:
        files[OUTPUT] = str(recipe["preferences"]).encode("utf-8")
    return files


def _line(item: object, known: Mapping[str, str], plain: re.Pattern[str]) -> str | None:
    """The input line packaging writes for requirement *item*, where that is certain."""
    if not isinstance(item, str):
        return None
    line = known.get(item)
    if line is None and plain.fullmatch(item):
        return item
    return line


def _folder() -> str:
    """A new private folder for the early run, in envsync's cache (``Ahead.close`` deletes it)."""
    parent = os.path.join(cache_root(), "ahead")
    os.makedirs(parent, exist_ok=True)
    folder = os.path.join(parent, f"{PREFIX}{os.urandom(8).hex()}")
    os.mkdir(folder, 0o700)
    return folder
