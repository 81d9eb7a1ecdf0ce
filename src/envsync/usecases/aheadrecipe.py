"""After a lock run that ran its resolver once: keep the recipe of the next (``headstart``).

The recipe is made from what the run holds: the one resolver run it made (``ahead.Calls``),
the lock it wrote and env.toml read as data. It is kept only where each input file the run
wrote is exactly its env.toml list, line by line as packaging writes each requirement, so
the fast path can write the next run's files from env.toml alone; and only for what that
path can repeat: one target, no [sources], [envs] or direct URLs, no login and no routing
proxy, no upgrade. It never fails the run.
"""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement

from envsync.core import lockfile
from envsync.core.spec import RECIPE_KEYS
from envsync.core.tomlcheck import TomlDecodeError, parse_toml
from envsync.errors import EnvsyncError
from envsync.resolve.ahead import OUTPUT
from envsync.resolve.compile_output import input_name
from envsync.resolve.inputs import preferences_text
from envsync.system import sealed
from envsync.usecases import nochange
from envsync.usecases.headstart import FORMAT, blanked, path_of
from envsync.venv.create import venv_python

if TYPE_CHECKING:
    from collections.abc import Mapping

    from packaging.pylock import Pylock

    from envsync.resolve.ahead import Call
    from envsync.usecases.context import RunContext

__all__ = ["keep"]

#: How many recipes (locks) are kept per env.toml.
_KEPT = 4


def keep(ctx: RunContext, lock: Pylock, text: str) -> None:
    """Keep the recipe of the next relock, after *lock* (as *text*) was written; or none."""
    calls = ctx.memory.calls
    if calls is None or calls.count != 1 or len(calls.made) != 1 or calls.python is None:
        return
    if not _repeatable(ctx):
        return
    try:
        raw = ctx.spec.path.read_bytes()
        data = parse_toml(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, TomlDecodeError):
        return
    info = lockfile.info(lock)
    if set(data) - RECIPE_KEYS or len(info.targets) != 1:  # no [envs], no [sources]
        return
    recipe = _recipe(calls.made[0], data)
    if recipe is None:
        return
    pins = lockfile.preferences(lock, info, info.targets[0])
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    recipe |= {
        # The next run resolves under the venv's Python once the venv is there (find_target).
        "venv": os.fspath(ctx.spec.venv),
        "venv_python": os.fspath(venv_python(ctx.spec.venv)),
        "python": calls.python,
        "format": FORMAT,
        "lock": sha,
        "env": hashlib.sha256(raw).hexdigest(),
        "preferences": preferences_text(pins),
    }
    path = path_of(str(ctx.spec.path), sha)
    try:
        sealed.write(path, recipe, fault="writing-recipe")
        nochange.keep_newest(path, _KEPT)
    except (OSError, TypeError, ValueError, EnvsyncError):  # TypeError: a TOML date, say
        return


def _repeatable(ctx: RunContext) -> bool:
    """Whether the fast path can write this spec's input files and reach its indexes alike."""
    spec = ctx.spec
    if spec.direct_urls():
        return False
    routes = ctx.routes()
    return not routes.pinned and not any(where.login for where in routes.logins())


def _recipe(call: Call, data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The recipe of *call* for env.toml's *data*, when each input file is one of its lists."""
    lists = _lists(data)
    inputs = {name: body for name, body in call.files.items() if name != OUTPUT}
    if lists is None or set(lists) != set(inputs):
        return None
    lines: dict[str, str] = {}
    items: dict[str, list[str]] = {}
    for name, (table, key) in lists.items():
        found = data[table].get(key, [])
        written = _written(found)
        if written is None or "".join(f"{w}\n" for w in written).encode() != inputs[name]:
            return None
        lines.update(zip(found, written, strict=True))
        items[name] = found
    unset = sorted(k for k in os.environ if k not in call.env)
    changed = {k: v for k, v in call.env.items() if os.environ.get(k) != v}
    return {
        "spec": blanked(data, lists),
        "lists": lists,
        "items": items,
        "lines": lines,
        "argv": call.argv,
        "set": changed,
        "unset": unset,
    }


def _lists(data: Mapping[str, Any]) -> dict[str, list[str]] | None:
    """Input file name -> where its requirement list is in env.toml; None when unsure."""
    env, groups = data.get("env"), data.get("groups", {})
    if not isinstance(env, dict) or not isinstance(groups, dict):
        return None  # no [env] table to set the main list aside in, say
    lists = {input_name(None): ["env", "dependencies"]}
    lists |= {input_name(key): ["groups", key] for key in groups}
    return lists if len(lists) == 1 + len(groups) else None


def _written(items: object) -> list[str] | None:
    """Each requirement of *items* as its input line (``str`` of packaging's Requirement)."""
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        return None
    try:
        return [str(Requirement(item)) for item in items]
    except InvalidRequirement:
        return None
