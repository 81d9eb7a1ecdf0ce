"""When a recipe is made, and when quickprune declines one: table-driven, on small locks.

The locks and env.toml of test_pruning; each case changes one thing the recipe, or the
removal, depends on.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from envsync.core import lockfile, prunerecipe, quickprune
from envsync.core.lockfile import TargetResolution, dumps
from envsync.core.pruning import prune
from envsync.core.spec import parse_spec
from unit.test_pruning import FULL, GRAPH, LOCK, ROOTS, ROOTS_TUPLES, package, spec_text

from support.locks import pkg, target

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

GROUPS = {"dev": ["pytest"], "docs": ["sphinx"]}
DATA = tomllib.loads(spec_text(ROOTS[""], GROUPS))
LINUX, WINDOWS = target("3.12", "linux-x86_64"), target("3.12", "windows-x86_64")


def _make(lock: Any = LOCK, *, spec: Any = FULL, data: Any = DATA, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "spec": spec,
        "data": data,
        "lock": lock,
        "info": lockfile.info(lock),
        "text": dumps(lock),
        "here": lockfile.info(lock).targets[0],
        "selected": [p.name for p in lock.packages],
    }
    return prunerecipe.make(**{**args, **kw})


def _with(**changes: Any) -> dict[str, Any]:
    data = tomllib.loads(spec_text(ROOTS[""], GROUPS))
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "kw",
    [
        pytest.param({"data": _with(sources={"alpha": {"path": "."}})}, id="[sources]"),
        pytest.param({"spec": replace(FULL, seed=True)}, id="seed"),
        pytest.param({"here": WINDOWS}, id="a target the lock does not serve"),
        pytest.param({"text": dumps(LOCK) + "\n"}, id="a lock pruning would not write"),
        pytest.param({"data": _with(lock=tomllib.loads("d = 1979-05-27"))}, id="a date"),
        pytest.param({"data": _with(env=5)}, id="[env] not a table"),
        pytest.param({"data": _with(groups={"dev": ["pytest"]})}, id="a group the spec has not"),
        pytest.param(
            {"data": tomllib.loads(spec_text(["alpha", "beta"], GROUPS))}, id="other requirements"
        ),
        pytest.param(
            {"data": _with(groups={"dev": "pytest", "docs": []})}, id="a list that is not"
        ),
        pytest.param({"data": _with(groups={"dev": ["py test!"], "docs": []})}, id="a bad line"),
    ],
)
def test_no_recipe_is_made_for(kw: dict[str, Any]) -> None:
    assert _make(**kw) is None


def test_no_recipe_for_a_lock_with_a_folder() -> None:
    folder = pkg("proj", None, directory="/src/proj")
    lock = lockfile.build_lock(
        spec=FULL,
        resolutions=[
            TargetResolution(
                target=LINUX,
                packages=(*(package(n) for n in GRAPH), replace(folder, groups=frozenset())),
                roots=ROOTS_TUPLES,
            )
        ],
    )
    assert _make(lock) is None


def _removal(lock: Any, main: list[str], groups: dict[str, list[str]] = GROUPS) -> Any:
    recipe = _make(lock)
    assert recipe is not None
    return quickprune.prune(recipe, tomllib.loads(spec_text(main, groups)), dumps(lock))


def _two(linux: list[Any], windows: list[Any]) -> Any:
    return lockfile.build_lock(
        spec=FULL,
        resolutions=[
            TargetResolution(target=LINUX, packages=tuple(linux), roots=ROOTS_TUPLES),
            TargetResolution(target=WINDOWS, packages=tuple(windows), roots=ROOTS_TUPLES),
        ],
    )


def test_a_package_gone_from_one_target_only_is_declined() -> None:
    # Linux: colorama through alpha; Windows: through its own theta. Without alpha it goes
    # from Linux only, and its marker would change.
    linux = [
        *(package(n) for n in GRAPH if n != "alpha"),
        replace(package("alpha"), dependencies=("beta", "colorama")),
        pkg("colorama"),
    ]
    windows = [
        *(package(n) for n in GRAPH if n != "theta"),
        pkg("theta", "2.0", needs=["beta", "colorama"]),
        pkg("colorama"),
    ]
    assert _removal(_two(linux, windows), ["theta"]) is None


def test_a_version_gone_beside_another_that_stays_is_declined() -> None:
    # Windows has its own theta and pytest, which need no beta: beta 2.0 is there through
    # alpha alone. Without alpha it goes, while Linux keeps beta 1.0.
    windows = [
        package("alpha"),
        pkg("beta", "2.0"),
        pkg("theta", "2.0"),
        replace(pkg("pytest", "2.0", needs=["pluggy"]), groups=frozenset({"dev"})),
        *(package(n) for n in ("pluggy", "sphinx")),
    ]
    assert _removal(_two([package(n) for n in GRAPH], windows), ["theta"]) is None


def test_a_lock_laid_out_otherwise_or_renamed_entries_are_declined() -> None:
    recipe = _make()
    text = dumps(LOCK)
    data = tomllib.loads(spec_text(["theta"], GROUPS))
    assert quickprune.prune(recipe, data, text) is not None
    tail = text.replace("[tool.envsync]\n", "[tool.envsync]\n# a comment\n")
    assert quickprune.prune(recipe, data, tail) is None
    renamed = {**recipe, "entries": [["zzz", "1.0"], *recipe["entries"][1:]]}
    assert quickprune.prune(renamed, data, text) is None
    assert quickprune.prune(recipe, data, text.replace("[[packages]]", "[[pkgs]]")) is None


@pytest.mark.parametrize(
    "text",
    ["", 'lock-version = "1.0"\n', '\n[tool.envsync]\nformat = 2\n\n[[packages]]\nname = "a"\n'],
)
def test_a_text_without_entries_then_envsyncs_table_has_no_blocks(text: str) -> None:
    assert quickprune.blocks(text) is None


def test_a_date_in_env_toml_is_no_removal() -> None:
    data = tomllib.loads(spec_text(["theta"], GROUPS) + "[lock]\nwhen = 1979-05-27\n")
    assert quickprune.prune(_make(), data, dumps(LOCK)) is None


def test_a_list_in_no_table_is_left_as_it_is() -> None:
    assert quickprune._without({"groups": 5}, [["groups", "dev"]]) == {"groups": 5}


def test_a_spec_without_groups_and_with_lock_targets() -> None:
    lock_section = '[lock]\nplatforms = ["linux-x86_64"]\n'
    text = spec_text(ROOTS[""], {}) + lock_section
    spec = parse_spec(text, path=Path("/proj/env.toml"))
    packages = [replace(package(n), groups=frozenset()) for n in ("alpha", "beta", "theta")]
    lock = lockfile.build_lock(
        spec=spec,
        resolutions=[
            TargetResolution(target=LINUX, packages=tuple(packages), roots={"": ("alpha", "theta")})
        ],
    )
    recipe = _make(lock, spec=spec, data=tomllib.loads(text))
    assert recipe is not None
    assert recipe["lock_part"] == {"python-versions": [], "platforms": ["linux-x86_64"]}
    new_text = spec_text(["theta"], {}) + lock_section
    quick = quickprune.prune(recipe, tomllib.loads(new_text), dumps(lock))
    assert quick is not None
    assert quick.removed == [("alpha", "1.0")]
    pruned = prune(lockfile.loads(dumps(lock)), parse_spec(new_text, path=Path("/proj/env.toml")))
    assert pruned is not None
    assert quick.text == dumps(pruned)
