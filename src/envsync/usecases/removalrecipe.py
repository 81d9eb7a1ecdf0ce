"""After a full apply: keep the recipe a later pure removal takes (``quickremove``).

The recipe is made from what the run holds (the spec, the lock it installed, this machine's
target, the names the venv holds from the lock) and env.toml read as data, and checked
there (``core.prunerecipe``). A recipe kept for the same lock bytes and env.toml is reused
with the venv's new key, so an apply that changed nothing costs no rebuild of the lock.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from envsync.core import lockfile, prunerecipe
from envsync.core.tomlcheck import TomlDecodeError, parse_toml
from envsync.usecases import quickremove
from envsync.venv import distinfo

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence
    from pathlib import Path

    from packaging.pylock import Pylock

    from envsync.core.spec import Spec
    from envsync.core.targets import LockTarget

__all__ = ["keep"]


def keep(
    *,
    spec: Spec,
    lock: Pylock,
    here: LockTarget,
    selected: Collection[str],
    libs: Sequence[Path],
    options: Mapping[str, Sequence[str]],
) -> None:
    """Keep the recipe of *lock* (now in pylock.toml) for *spec*'s venv; never fails the run.

    *libs* are the venv's site-packages: where each name of *selected* has its dist-info,
    which the removal moves out as they are (the venv's key vouches for them).
    """
    try:
        text = (spec.root / lockfile.LOCK_NAME).read_text("utf-8")
        data = parse_toml(spec.path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, TomlDecodeError):
        return
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    recipe = _kept(str(spec.path), sha, data, selected)
    recipe = recipe or prunerecipe.make(
        spec=spec,
        data=data,
        lock=lock,
        info=lockfile.info(lock),
        text=text,
        here=here,
        selected=selected,
    )
    if recipe is None:
        quickremove.forget(str(spec.path), sha)
        return
    found = distinfo.dists_by_name(libs)
    folders = {name: [str(path) for path in found.get(name, [])] for name in recipe["selected"]}
    recipe = {**recipe, "lock": sha, "folders": folders}
    quickremove.record(str(spec.path), str(spec.venv), options, recipe)


def _kept(
    spec: str, sha: str, data: Mapping[str, Any], selected: Collection[str]
) -> dict[str, Any] | None:
    """The recipe kept for the same lock bytes, env.toml and names in the venv, if any."""
    found = quickremove.load(spec, sha)
    if found is None or found.get("spec") != data:
        return None
    return found if found.get("selected") == sorted(selected) else None
