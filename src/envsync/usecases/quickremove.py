"""An apply whose env.toml only lost requirements, before the rest of envsync is loaded.

A requirement taken out of env.toml needs no resolver: ``pruning`` cuts the lock down
through the graph it records. This is the same removal without packaging or the lock
machinery. After a full apply, ``record`` keeps a recipe of the lock it installed
(``core.prunerecipe``) in the cache beside the lock state, one per lock (the newest four),
with the key of the venv's state less env.toml. A later apply whose lock has a recipe's
sha256 and whose venv still has that recipe's key, and whose env.toml is the recipe's less
some requirements, is answered by ``removed``: ``core.quickprune`` writes the new lock's
bytes (the same as the full path's), the dists that went are moved out of the venv inside
the full path's transaction, and the lock and states are written as the full path writes
them, in the same order.

Any doubt (no recipe, another lock or venv state, a change besides removals, a package
whose marker would change, the venv's lock held, an error before the venv is touched)
means None, and the full path runs. Only the standard library and the transaction are
imported here (tomllib and tomli_w for the lock's own table).
"""

# ruff: noqa: PTH118, PTH119, PTH123, PTH208 - os.path: the start-up path
from __future__ import annotations

import hashlib
import json
import os
import sys

from envsync.core import quickprune
from envsync.core.names import STATE_NAME, TXN_FOLDER
from envsync.system import sealed
from envsync.usecases import nochange
from envsync.venv.lockname import held

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (5 ms): start-up path

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

__all__ = ["Removed", "forget", "load", "path_of", "record", "rekey", "removed"]

#: What makes the answer "not sure": the full path decides.
_UNSURE = (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError)


class Removed:
    """What ``removed`` did, for the command line to say."""

    __slots__ = ("gone", "packages", "removed", "targets", "venv")

    def __init__(
        self,
        venv: str,
        gone: list[tuple[str, str]],
        removed: list[tuple[str, str]],
        packages: int,
        targets: str,
    ) -> None:
        self.venv = venv
        """The venv."""
        self.gone = gone
        """(name, version) of each dist taken out of the venv, by name."""
        self.removed = removed
        """(name, version) of each package the lock no longer holds, on every target."""
        self.packages = packages
        """How many packages the new lock holds."""
        self.targets = targets
        """The lock's targets, as ``describe`` words them."""


#: How many recipes (locks) are kept per env.toml.
_KEPT = 4


def path_of(spec: str, lock: str) -> str:
    """Where the recipe for *spec* and its lock of sha256 *lock* is kept: beside its lock state.

    One per lock, the newest few: a lock put back (another branch, a removal undone) finds
    its own again, which the replay path's ``rekey`` vouches for in a venv made again.
    """
    return nochange.per_lock(spec, lock, "prune")


def record(
    spec: str, venv: str, options: Mapping[str, Sequence[str]], recipe: dict[str, Any]
) -> None:
    """Keep *recipe* (its ``lock``: the sha256 it was made for) for *spec* and *venv* as it is.

    Called after the state of *venv* was written for *options*; without a key in it (the
    state vouches for nothing) no recipe is kept. Never fails the run.
    """
    key = nochange.venv_key(spec, venv, options)
    path = path_of(spec, recipe["lock"])
    try:
        if key is None:
            forget(spec, recipe["lock"])
            return
        sealed.write(path, {**recipe, "key": key, "venv": venv}, fault="writing-recipe")
        nochange.keep_newest(path, _KEPT)
    except OSError:
        return
    _delete(legacy_path(spec))


def rekey(spec: str, venv: str, options: Mapping[str, Sequence[str]], libs: Sequence[str]) -> None:
    """After a replay made *venv* again: its recipe stands for it, if it holds the same dists.

    The replica and the recipe were kept for the same lock bytes; when the new venv's
    dist-info folders are exactly the ones the recipe names, only the venv's key changed.
    """
    try:
        recipe = load(spec, nochange.lock_sha256(spec))
        if recipe is None or recipe.get("venv") != venv:
            return
        named = {os.path.basename(path) for found in recipe["folders"].values() for path in found}
        now = {name for lib in dict.fromkeys(libs) for name in os.listdir(lib)}
    except _UNSURE:
        return
    if named == {name for name in now if name.endswith(".dist-info")}:
        record(spec, venv, options, recipe)


def load(spec: str, lock: str) -> dict[str, Any] | None:
    """The recipe kept for *spec* and *lock*, when its own hash vouches for it (``sealed``)."""
    recipe = sealed.read(path_of(spec, lock))
    if not isinstance(recipe, dict) or recipe.get("format") != quickprune.FORMAT:
        return None
    return recipe if recipe.get("lock") == lock else None


def forget(spec: str, lock: str) -> None:
    """Delete the recipe kept for *spec* and *lock*, if any (it is in envsync's cache)."""
    _delete(path_of(spec, lock))


def _delete(path: str) -> None:
    """Delete the file at *path* in envsync's cache, if it is there; never fails the run."""
    from envsync.system import removal  # noqa: PLC0415 - only a run that keeps a recipe
    from envsync.system.cachedir import cache_root  # noqa: PLC0415

    try:
        removal.delete(path, within=removal.Owned.cache(cache_root()))
    except OSError:
        return


def legacy_path(spec: str) -> str:
    """Where caches kept *spec*'s one recipe before recipes were kept per lock (unread now)."""
    return nochange.lock_state_path(spec).removesuffix(".json") + ".prune.json"


def removed(spec: str, options: Mapping[str, Sequence[str]]) -> Removed | None:
    """Apply *spec* at once when its env.toml only lost requirements, else None."""
    if not nochange.enabled():
        return None
    found = _prepared(spec, options)
    if found is None:
        return None
    recipe, pruned, _ = found
    venv: str = recipe["venv"]
    with held(venv) as free:
        gone = _applied(spec, options, found) if free else None
    if gone is None:
        return None
    return Removed(venv, gone, pruned.removed, pruned.packages, recipe["describe"])


def _applied(
    spec: str,
    options: Mapping[str, Sequence[str]],
    found: tuple[dict[str, Any], quickprune.Pruned, dict[str, Any]],
) -> list[tuple[str, str]] | None:
    """Holding the venv: take the dists out, write the lock and states; what went, or None."""
    recipe, pruned, state = found
    venv: str = recipe["venv"]
    try:
        # Again, now: another run may have changed the venv or the lock since.
        if not _unchanged(spec, options, recipe):
            return None
        # What the venv holds of what went, less what env.toml keeps (the planner's policy).
        held_now = set(recipe["selected"]) - set(recipe["keep"])
        gone = [(name, v) for name, v in pruned.removed if name in held_now]
        dists = [recipe["folders"][name] for name, _ in gone]
    except _UNSURE:
        return None
    if not _take_out(venv, dists):
        return None
    try:
        _finish(spec, venv, options, state, pruned)
    except OSError:
        return None  # the venv changed and the lock did not: the full path finishes it
    return gone


def _prepared(
    spec: str, options: Mapping[str, Sequence[str]]
) -> tuple[dict[str, Any], quickprune.Pruned, dict[str, Any]] | None:
    """The recipe, the new lock and the venv's state, when the recipe answers for *spec*."""
    if sys.version_info >= (3, 11):
        import tomllib  # noqa: PLC0415 - only this path reads env.toml
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # noqa: PLC0415

    try:
        recipe = load(spec, nochange.lock_sha256(spec))
        if recipe is None or not _unchanged(spec, options, recipe):
            return None
        with open(os.path.join(recipe["venv"], STATE_NAME), encoding="utf-8") as fh:
            state = json.load(fh)
        with open(spec, "rb") as fh:
            data = tomllib.load(fh)
        with open(nochange.lock_path(spec), encoding="utf-8", newline="") as fh:
            text = fh.read()
        pruned = quickprune.prune(recipe, data, text)
    except (*_UNSURE, tomllib.TOMLDecodeError):
        return None
    return None if pruned is None else (recipe, pruned, state)


def _unchanged(spec: str, options: Mapping[str, Sequence[str]], recipe: Mapping[str, Any]) -> bool:
    """Whether the lock and the venv are still those *recipe* was kept for."""
    venv = str(recipe["venv"])
    if os.path.lexists(os.path.join(venv, TXN_FOLDER)):
        return False  # a run was stopped part way: the full path puts the venv back first
    same_lock = nochange.lock_sha256(spec) == recipe["lock"]
    return same_lock and nochange.venv_key(spec, venv, options) == str(recipe["key"])


def _take_out(venv: str, dists: list[list[str]]) -> bool:
    """Move *dists* (each one's dist-info folders) out of the venv, in a transaction.

    False (and the venv as it was) when the transaction fails before it commits.
    """
    if not dists:
        return True
    from pathlib import Path  # noqa: PLC0415 - the transaction's paths

    from envsync.errors import EnvsyncError  # noqa: PLC0415 - only a removal needs these
    from envsync.install import transaction  # noqa: PLC0415

    try:
        with transaction.removing(Path(venv), [[Path(f) for f in found] for found in dists]):
            pass  # moved aside now; deleted when the transaction commits
    except (EnvsyncError, OSError):
        return False  # rolled back: the full path tries, and says what is wrong
    return True


def _finish(
    spec: str,
    venv: str,
    options: Mapping[str, Sequence[str]],
    state: Mapping[str, Any],
    pruned: quickprune.Pruned,
) -> None:
    """Write the lock, then the states and the new lock's recipe, as the full path does."""
    from envsync.system import atomic  # noqa: PLC0415 - only a removal writes

    atomic.write_text(nochange.lock_path(spec), pruned.text, fault="writing-lock")
    nochange.record(
        spec=spec,
        venv=venv,
        site_packages=state["site_packages"],
        local_files=[],
        options=options,
        groups=state.get("groups", {}),
        default=True,
    )
    recipe = pruned.recipe
    folders = {name: recipe["folders"][name] for name in recipe["selected"]}
    sha = hashlib.sha256(pruned.text.encode("utf-8")).hexdigest()
    record(spec, venv, options, {**recipe, "lock": sha, "folders": folders})
