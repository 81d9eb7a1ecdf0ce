"""Dropping requirements from a lock without resolving: what stays, what goes, which markers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envsync.core import lockfile
from envsync.core.lockfile import LockedFile, ResolvedPackage, TargetResolution, dumps, loads
from envsync.core.pruning import prune
from envsync.core.spec import parse_spec

from support.locks import single_lock, target

SHA = "a" * 64

# A lock of: main = [alpha, theta]; dev = [pytest]; docs = [sphinx]
# alpha -> beta; theta -> beta; pytest -> pluggy, beta; sphinx -> (none)
GRAPH = {
    "alpha": ("", ["beta"]),
    "beta": ("", []),
    "theta": ("", ["beta"]),
    "pytest": ("dev", ["pluggy", "beta"]),
    "pluggy": ("dev", []),
    "sphinx": ("docs", []),
}
ROOTS = {"": ["alpha", "theta"], "dev": ["pytest"], "docs": ["sphinx"]}
ROOTS_TUPLES = {root: tuple(names) for root, names in ROOTS.items()}


def spec_text(
    main: list[str], groups: dict[str, list[str]], url: str = "https://i.invalid/simple"
) -> str:
    lines = ["[env]", 'python = "3.12"', f"dependencies = {main!r}".replace("'", '"'), "[groups]"]
    lines += [f"{g} = {reqs!r}".replace("'", '"') for g, reqs in groups.items()]
    lines += ["[index]", f'url = "{url}"']
    return "\n".join(lines) + "\n"


def spec_of(main: list[str], groups: dict[str, list[str]], **kw: str):
    return parse_spec(spec_text(main, groups, **kw), path=Path("/proj/env.toml"))


def package(name: str) -> ResolvedPackage:
    _, deps = GRAPH[name]
    wheel = LockedFile(
        filename=f"{name}-1.0-py3-none-any.whl", url=f"https://f.invalid/{name}.whl", sha256=SHA
    )
    needed_by = {r for r, names in ROOTS.items() if name in _closure(names)}
    groups = frozenset() if "" in needed_by else frozenset(needed_by)
    return ResolvedPackage(
        name=name,
        version=lockfile.Version("1.0"),
        groups=groups,
        dependencies=tuple(deps),
        wheels=(wheel,),
    )


def _closure(names: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(GRAPH[n][1])
    return seen


FULL = spec_of(["alpha", "theta"], {"dev": ["pytest"], "docs": ["sphinx"]})
LOCK = single_lock(spec=FULL, python="3.12.4", packages=[package(n) for n in GRAPH], roots=ROOTS)


def names(lock) -> dict[str, str | None]:
    return {p.name: (str(p.marker) if p.marker else None) for p in lock.packages}


def test_removing_a_main_dependency_drops_it_and_its_orphans_but_keeps_shared_ones() -> None:
    spec = spec_of(["alpha"], {"dev": ["pytest"], "docs": ["sphinx"]})
    pruned = prune(LOCK, spec)
    assert pruned is not None
    assert names(pruned) == {
        "alpha": None,
        "beta": None,
        "pytest": '"dev" in dependency_groups',
        "pluggy": '"dev" in dependency_groups',
        "sphinx": '"docs" in dependency_groups',
    }
    assert lockfile.is_fresh(pruned, spec)
    assert lockfile.info(pruned).roots[""] == ("alpha",)


def test_the_table_a_caller_holds_prunes_as_the_lock_does() -> None:
    spec = spec_of(["alpha"], {"dev": ["pytest"]})
    held, read = prune(LOCK, spec, table=lockfile.info(LOCK)), prune(LOCK, spec)
    assert held is not None
    assert read is not None
    assert dumps(held) == dumps(read)


def test_a_package_only_a_group_still_needs_gets_that_group_marker() -> None:
    spec = spec_of([], {"dev": ["pytest"], "docs": ["sphinx"]})
    pruned = prune(LOCK, spec)
    assert pruned is not None
    assert names(pruned)["beta"] == '"dev" in dependency_groups'
    assert "theta" not in names(pruned)


def test_removing_a_whole_group() -> None:
    spec = spec_of(["alpha", "theta"], {"dev": ["pytest"]})
    pruned = prune(LOCK, spec)
    assert pruned is not None
    assert "sphinx" not in names(pruned)
    assert pruned.dependency_groups == ["dev"]
    assert lockfile.is_fresh(pruned, spec)
    assert loads(dumps(pruned)) == pruned  # still a valid PEP 751 lock


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param(
            spec_of(["alpha", "theta", "zeta"], {"dev": ["pytest"], "docs": ["sphinx"]}), id="added"
        ),
        pytest.param(
            spec_of(["alpha>=2", "theta"], {"dev": ["pytest"], "docs": ["sphinx"]}), id="changed"
        ),
        pytest.param(
            spec_of(["theta"], {"dev": ["pytest"], "docs": ["sphinx"], "new": []}), id="new group"
        ),
        pytest.param(
            spec_of(
                ["theta"],
                {"dev": ["pytest"], "docs": ["sphinx"]},
                url="https://other.invalid/simple",
            ),
            id="other index",
        ),
    ],
)
def test_anything_but_a_removal_needs_a_resolve(spec) -> None:
    assert prune(LOCK, spec) is None


def test_a_lock_without_recorded_requirements_cannot_be_pruned() -> None:
    text = dumps(LOCK)
    text = text[: text.index("[tool.envsync.requirements]")]
    assert prune(loads(text), spec_of(["theta"], {"dev": ["pytest"], "docs": ["sphinx"]})) is None


def test_local_projects_count_too() -> None:
    spec = spec_of(["theta"], {"dev": ["pytest"], "docs": ["sphinx"]})
    assert prune(LOCK, spec, {"libs/x": "changed"}) is None


@given(
    st.sets(st.sampled_from(["alpha", "theta"])),
    st.sets(st.sampled_from(["dev", "docs"])),
)
def test_a_pruned_lock_holds_exactly_what_the_remaining_roots_need(
    main: set[str], groups: set[str]
) -> None:
    kept = {"dev": ["pytest"], "docs": ["sphinx"]}
    spec = spec_of(sorted(main), {g: kept[g] for g in sorted(groups)})
    pruned = prune(LOCK, spec)
    assert pruned is not None
    expected = _closure(sorted(main)).union(*(_closure(kept[g]) for g in groups))
    assert set(names(pruned)) == expected
    assert lockfile.is_fresh(pruned, spec)


def test_a_spec_with_credentials_prunes_its_lock_which_holds_none() -> None:
    theta = "theta @ https://me:s3cret@f.invalid/theta.whl"
    url = "https://u:t0ken@i.invalid/simple"
    full = spec_of(["alpha", theta], {"dev": ["pytest"], "docs": ["sphinx"]}, url=url)
    lock = single_lock(
        spec=full, python="3.12.4", packages=[package(n) for n in GRAPH], roots=ROOTS
    )
    spec = spec_of([theta], {"dev": ["pytest"], "docs": ["sphinx"]}, url=url)

    pruned = prune(lock, spec)

    assert pruned is not None
    assert "alpha" not in names(pruned)
    assert lockfile.is_fresh(pruned, spec)
    text = lockfile.dumps(pruned)
    assert "s3cret" not in text
    assert "t0ken" not in text


def test_pruning_a_lock_for_two_platforms_keeps_each_platforms_own_markers() -> None:
    # Windows alone needs colorama, through theta; dropping alpha keeps theta's part and
    # drops alpha, on both platforms, without a resolver run.
    linux, windows = target("3.12", "linux-x86_64"), target("3.12", "windows-x86_64")
    wheel = LockedFile(
        filename="colorama-1.0-py3-none-any.whl", url="https://f.invalid/c.whl", sha256=SHA
    )
    colorama = replace(package("beta"), name="colorama", wheels=(wheel,))
    theta = replace(package("theta"), dependencies=("beta", "colorama"))
    on_linux = [package(n) for n in GRAPH]
    on_windows = [*(package(n) for n in GRAPH if n != "theta"), theta, colorama]
    lock = lockfile.build_lock(
        spec=FULL,
        resolutions=[
            TargetResolution(target=linux, packages=tuple(on_linux), roots=ROOTS_TUPLES),
            TargetResolution(target=windows, packages=tuple(on_windows), roots=ROOTS_TUPLES),
        ],
    )
    spec = spec_of(["theta"], {"dev": ["pytest"], "docs": ["sphinx"]})

    pruned = prune(lock, spec)

    assert pruned is not None
    assert names(pruned)["colorama"] == 'sys_platform == "win32" and platform_machine == "AMD64"'
    assert "alpha" not in names(pruned)
    main = {
        where: {w.name for w in lockfile.select(
            loads(dumps(pruned)), environment=where.markers(), tags=["py3-none-any"],
            groups=[], root=Path("/proj"),
        )}
        for where in (linux, windows)
    }  # fmt: skip
    assert main == {linux: {"theta", "beta"}, windows: {"theta", "beta", "colorama"}}
    assert lockfile.info(pruned).targets == (linux, windows)


def test_a_lock_of_the_older_format_is_not_pruned_but_resolved_to_record_its_targets() -> None:
    older = replace(lockfile.info(LOCK), format=1, python="3.12.4", targets=(), inputs="")
    spec = spec_of(["alpha"], {"dev": ["pytest"], "docs": ["sphinx"]})
    assert prune(LOCK, spec) is not None  # the same lock of this format prunes
    assert prune(LOCK, spec, table=older) is None
