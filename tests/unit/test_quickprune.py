"""quickprune writes, where it answers at all, the very bytes pruning and the lock writer do.

The lock of test_pruning (main = alpha, theta; dev = pytest; docs = sphinx), for one target
and for two platforms; env.toml loses any entries of its lists. The recipe is made as the
full path makes it (``prunerecipe``).
"""

from __future__ import annotations

import sys
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envsync.core import lockfile, prunerecipe, quickprune
from envsync.core.lockdiff import changes
from envsync.core.lockfile import LockedFile, TargetResolution, dumps, loads
from envsync.core.pruning import prune
from unit.test_pruning import (
    FULL,
    GRAPH,
    LOCK,
    ROOTS,
    ROOTS_TUPLES,
    SHA,
    package,
    spec_of,
    spec_text,
)

from support.locks import target

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

GROUPS = {"dev": ["pytest"], "docs": ["sphinx"]}
PYTEST = [("pluggy", "1.0"), ("pytest", "1.0")]


def _two_platforms():
    linux, windows = target("3.12", "linux-x86_64"), target("3.12", "windows-x86_64")
    wheel = LockedFile(
        filename="colorama-1.0-py3-none-any.whl", url="https://f.invalid/c.whl", sha256=SHA
    )
    colorama = replace(package("beta"), name="colorama", wheels=(wheel,))
    theta = replace(package("theta"), dependencies=("beta", "colorama"))
    on_windows = [*(package(n) for n in GRAPH if n != "theta"), theta, colorama]
    return lockfile.build_lock(
        spec=FULL,
        resolutions=[
            TargetResolution(
                target=linux, packages=tuple(package(n) for n in GRAPH), roots=ROOTS_TUPLES
            ),
            TargetResolution(target=windows, packages=tuple(on_windows), roots=ROOTS_TUPLES),
        ],
    )


LOCKS = {"one target": LOCK, "two platforms": _two_platforms()}


def _recipe(lock, main: list[str], groups: dict[str, list[str]]):
    """The recipe the full path keeps for *lock*, of env.toml with *main* and *groups*."""
    text = dumps(lock)
    recipe = prunerecipe.make(
        spec=spec_of(main, groups),
        data=tomllib.loads(spec_text(main, groups)),
        lock=lock,
        info=lockfile.info(lock),
        text=text,
        here=lockfile.info(lock).targets[0],
        selected=[p.name for p in lock.packages],
    )
    assert recipe is not None
    return recipe, text


def _both(lock, main: list[str], groups: dict[str, list[str]]):
    recipe, text = _recipe(lock, ROOTS[""], GROUPS)
    quick = quickprune.prune(recipe, tomllib.loads(spec_text(main, groups)), text)
    full = prune(loads(text), spec_of(main, groups))
    assert full is not None
    return quick, full


@pytest.mark.parametrize("which", sorted(LOCKS))
@given(
    main=st.lists(st.sampled_from(ROOTS[""]), unique=True).map(sorted),
    dev=st.lists(st.just("pytest"), unique=True),
    docs=st.lists(st.just("sphinx"), unique=True),
)
def test_where_quickprune_answers_it_writes_what_the_full_path_writes(
    which: str, main: list[str], dev: list[str], docs: list[str]
) -> None:
    lock = LOCKS[which]
    quick, full = _both(lock, main, {"dev": dev, "docs": docs})
    if quick is None:
        return  # the full path's to do
    assert quick.text == dumps(full)
    info = lockfile.info(lock)
    (only,) = {c.removed for c in changes((lock, info), (full, lockfile.info(full)), info.targets)}
    assert tuple(quick.removed) == only
    assert quick.packages == len(full.packages)
    # The recipe it hands on is the one the full path would keep for the new lock.
    again, _ = _recipe(full, main, {"dev": dev, "docs": docs})
    assert {k: v for k, v in quick.recipe.items() if k not in {"lock", "key"}} == again


@pytest.mark.parametrize(
    ("which", "main", "groups", "gone"),
    [
        ("one target", ["theta"], GROUPS, [("alpha", "1.0")]),
        (
            "one target",
            ["alpha"],
            {"dev": [], "docs": ["sphinx"]},
            [("pluggy", "1.0"), ("pytest", "1.0"), ("theta", "1.0")],
        ),
        ("one target", [], GROUPS, None),  # beta, main's no more, is dev's only: its marker
        ("one target", ["alpha", "theta"], {"dev": ["pytest"], "docs": []}, [("sphinx", "1.0")]),
        ("two platforms", ["theta"], GROUPS, [("alpha", "1.0")]),
        ("two platforms", ["alpha"], GROUPS, None),  # colorama goes on Windows only
    ],
)
def test_what_quickprune_answers(
    which: str, main: list[str], groups: dict[str, list[str]], gone: list[tuple[str, str]] | None
) -> None:
    quick, _ = _both(LOCKS[which], main, groups)
    assert (None if quick is None else quick.removed) == gone


def test_anything_but_a_removal_is_not_answered() -> None:
    recipe, text = _recipe(LOCK, ROOTS[""], GROUPS)
    for other in (
        spec_text(["alpha", "theta"], GROUPS),  # nothing removed
        spec_text(["alpha", "theta", "gamma"], GROUPS),  # one added
        spec_text(["theta"], GROUPS, url="https://other.invalid/simple"),  # another index
        spec_text(["theta"], {"dev": ["pytest"]}),  # a whole group gone
    ):
        assert quickprune.prune(recipe, tomllib.loads(other), text) is None
