"""core/targets: the named platforms, each target's marker and tags, and the subset markers.

The subset marker is what a lock for several targets writes on a package some targets need:
it must be true on exactly those targets, checked here for every subset of a 2 x 5 grid.
"""

from __future__ import annotations

from itertools import chain, combinations, product

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.markers import Marker, default_environment
from packaging.tags import sys_tags

from envsync.core.targets import (
    GLIBC_FLOOR,
    MACOS_FLOOR,
    PLATFORMS,
    LockTarget,
    LockTargets,
    Platform,
    describe,
    machine_platform,
    matching,
    subset_marker,
)

PYTHONS = ("3.11", "3.12")
GRID = tuple(LockTarget(python=v, platform=p) for v, p in product(PYTHONS, PLATFORMS.values()))


def _target(python: str, name: str) -> LockTarget:
    return LockTarget(python=python, platform=PLATFORMS[name])


def _true_on(marker: str | None, target: LockTarget) -> bool:
    return marker is None or Marker(marker).evaluate(target.markers())


# --- the platforms -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "sys_platform", "platform_machine", "platform_system", "os_name"),
    [
        ("linux-x86_64", "linux", "x86_64", "Linux", "posix"),
        ("linux-aarch64", "linux", "aarch64", "Linux", "posix"),
        ("macos-arm64", "darwin", "arm64", "Darwin", "posix"),
        ("macos-x86_64", "darwin", "x86_64", "Darwin", "posix"),
        ("windows-x86_64", "win32", "AMD64", "Windows", "nt"),
    ],
)
def test_each_platform_is_the_marker_environment_python_reports(
    name, sys_platform, platform_machine, platform_system, os_name
):
    markers = _target("3.12", name).markers()
    assert (
        markers["sys_platform"],
        markers["platform_machine"],
        markers["platform_system"],
        markers["os_name"],
    ) == (sys_platform, platform_machine, platform_system, os_name)
    assert (markers["python_version"], markers["python_full_version"]) == ("3.12", "3.12.0")
    assert set(markers) == set(default_environment())  # every variable a marker may name


def test_the_platforms_and_their_order():
    assert list(PLATFORMS) == [
        "linux-x86_64",
        "linux-aarch64",
        "macos-arm64",
        "macos-x86_64",
        "windows-x86_64",
    ]
    assert all(name == platform.name for name, platform in PLATFORMS.items())
    assert (GLIBC_FLOOR, MACOS_FLOOR) == ((2, 28), (13, 0))


@pytest.mark.parametrize(
    ("name", "uv"),
    [
        ("linux-x86_64", "x86_64-manylinux_2_28"),
        ("linux-aarch64", "aarch64-manylinux_2_28"),
        ("macos-arm64", "aarch64-apple-darwin"),
        ("macos-x86_64", "x86_64-apple-darwin"),
        ("windows-x86_64", "x86_64-pc-windows-msvc"),
    ],
)
def test_uvs_name_for_each_platform(name, uv):
    assert PLATFORMS[name].uv == uv


# --- wheel tags --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "accepted", "refused"),
    [
        (
            "linux-x86_64",
            ["manylinux_2_28_x86_64", "manylinux2014_x86_64", "manylinux2010_x86_64",
             "manylinux1_x86_64", "manylinux_2_5_x86_64", "linux_x86_64"],
            ["manylinux_2_29_x86_64", "manylinux_2_34_x86_64", "musllinux_1_2_x86_64",
             "manylinux_2_28_aarch64"],
        ),
        (
            "linux-aarch64",
            ["manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64",
             "linux_aarch64"],
            ["manylinux_2_29_aarch64", "manylinux_2_16_aarch64", "manylinux2010_aarch64",
             "manylinux1_aarch64", "manylinux_2_28_x86_64"],
        ),
        (
            "macos-arm64",
            ["macosx_13_0_arm64", "macosx_11_0_arm64", "macosx_13_0_universal2",
             "macosx_10_9_universal2"],
            ["macosx_14_0_arm64", "macosx_14_0_universal2", "macosx_13_0_x86_64",
             "macosx_10_9_x86_64"],
        ),
        (
            "macos-x86_64",
            ["macosx_13_0_x86_64", "macosx_10_9_x86_64", "macosx_10_9_universal2",
             "macosx_10_6_intel", "macosx_13_0_universal2"],
            ["macosx_14_0_x86_64", "macosx_13_0_arm64", "macosx_11_0_arm64"],
        ),
        ("windows-x86_64", ["win_amd64"], ["win32", "win_arm64"]),
    ],
)  # fmt: skip
def test_platform_tags_stop_at_the_floor(name, accepted, refused):
    tags = PLATFORMS[name].tags
    assert set(accepted) <= set(tags)
    assert not set(refused) & set(tags)
    assert len(tags) == len(set(tags))


@pytest.mark.parametrize("target", GRID, ids=str)
def test_target_tags_best_first_with_pure_python_last(target):
    tags = [str(tag) for tag in target.tags()]
    interpreter = "cp" + target.python.replace(".", "")
    assert tags[0] == f"{interpreter}-{interpreter}-{target.platform.tags[0]}"
    assert f"{interpreter}-abi3-{target.platform.tags[-1]}" in tags
    assert tags[-1] == "py30-none-any"
    assert "py3-none-any" in tags
    assert len(tags) == len(set(tags))
    assert not any(tag.startswith(("cp313-", "cp310-cp310")) for tag in tags)


# --- markers -----------------------------------------------------------------------------------


def test_each_targets_marker_is_true_on_itself_only():
    for target, other in product(GRID, GRID):
        assert target.marker().evaluate(other.markers()) is (target == other), (target, other)
        assert target.matches(other.markers()) is (target == other)


def test_matching_finds_the_target_of_an_environment():
    linux = _target("3.12", "linux-x86_64")
    assert matching(GRID, linux.markers()) == linux
    assert matching(GRID, _target("3.13", "linux-x86_64").markers()) is None
    assert matching((), linux.markers()) is None


def _subsets(items):
    return chain.from_iterable(combinations(items, size) for size in range(1, len(items) + 1))


def test_subset_marker_is_true_on_exactly_the_subset_for_every_subset_of_the_grid():
    every = set(GRID)
    for subset in map(set, _subsets(GRID)):  # all 1023 of them
        marker = subset_marker(subset, every)
        assert (marker is None) is (subset == every)
        for target in GRID:
            assert _true_on(marker, target) is (target in subset), (subset, marker, target)


@pytest.mark.parametrize(
    ("subset", "expected"),
    [
        (
            [("3.11", name) for name in PLATFORMS],
            'python_version == "3.11"',
        ),
        (
            [(v, "macos-arm64") for v in PYTHONS] + [(v, "linux-x86_64") for v in PYTHONS],
            (
                '(sys_platform == "linux" and platform_machine == "x86_64") or '
                '(sys_platform == "darwin" and platform_machine == "arm64")'
            ),
        ),
        (
            [("3.12", "windows-x86_64")],
            (
                '(python_version == "3.12" and sys_platform == "win32" '
                'and platform_machine == "AMD64")'
            ),
        ),
    ],
)
def test_subset_marker_is_as_short_as_the_subset_allows(subset, expected):
    chosen = [_target(v, name) for v, name in subset]
    assert subset_marker(chosen, GRID) == expected


def test_subset_marker_of_nothing_is_refused():
    # An empty subset used to give "", which is no marker at all (a lock would not load).
    with pytest.raises(ValueError, match="empty subset"):
        subset_marker([], GRID)


_WIDE = tuple(
    LockTarget(python=v, platform=p)
    for v, p in product(("3.9", "3.10", "3.13"), PLATFORMS.values())
)


@given(st.sets(st.sampled_from(_WIDE), min_size=1).flatmap(lambda every: st.tuples(
    st.just(every), st.sets(st.sampled_from(sorted(every, key=lambda t: t.key)), min_size=1)
)))  # fmt: skip
def test_subset_marker_is_exact_on_any_set_of_targets(every_and_subset):
    # Not only full grids: the rows and columns are those of the targets the lock is for.
    every, subset = every_and_subset
    marker = subset_marker(subset, every)
    assert all(_true_on(marker, target) is (target in subset) for target in every)


# --- the machine's platform --------------------------------------------------------------------


@pytest.mark.parametrize("platform", PLATFORMS.values(), ids=list(PLATFORMS))
def test_machine_platform_of_a_named_platform_is_that_platform(platform):
    markers = LockTarget(python="3.12", platform=platform).markers()
    assert machine_platform(markers, ["cp312-cp312-whatever_tag"]) is platform


PPC64LE = {
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "ppc64le",
    "os_name": "posix",
    "python_version": "3.12",
}
PPC64LE_TAGS = [
    "cp312-cp312-manylinux_2_17_ppc64le",
    "cp312-cp312-manylinux2014_ppc64le",
    "cp312-cp312-linux_ppc64le",
    "cp312-abi3-manylinux_2_17_ppc64le",
    "py312-none-manylinux_2_17_ppc64le",
    "py3-none-any",
    "py312-none-any",
]


def test_machine_platform_of_an_unnamed_machine_is_named_after_it():
    platform = machine_platform(PPC64LE, PPC64LE_TAGS)
    assert platform == Platform(
        name="linux-ppc64le",
        sys_platform="linux",
        platform_system="Linux",
        os_name="posix",
        platform_machine="ppc64le",
        tags=("manylinux_2_17_ppc64le", "manylinux2014_ppc64le", "linux_ppc64le"),
    )
    assert platform.name not in PLATFORMS
    # Its lock serves that machine: the target's marker is true there, and nowhere named.
    target = LockTarget(python="3.12", platform=platform)
    assert target.marker().evaluate({**_target("3.12", "linux-x86_64").markers(), **PPC64LE})
    assert not any(target.marker().evaluate(t.markers()) for t in GRID)
    tags = [str(tag) for tag in target.tags()]
    assert tags[0] == "cp312-cp312-manylinux_2_17_ppc64le"
    assert len(tags) == len(set(tags))  # "any" is no platform of its own: no tag twice


@pytest.mark.parametrize(
    ("markers", "name"),
    [
        ({"sys_platform": "win32", "platform_system": "Windows", "platform_machine": "ARM64"},
         "windows-arm64"),
        ({"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "i386"},
         "macos-i386"),
        ({"sys_platform": "freebsd14", "platform_system": "FreeBSD", "platform_machine": "amd64"},
         "freebsd-amd64"),
        ({"sys_platform": "linux", "platform_machine": "armv7l"}, "linux-armv7l"),
    ],
)  # fmt: skip
def test_machine_platform_names_other_machines(markers, name):
    assert machine_platform(markers, []).name == name


def test_machine_platform_of_this_machine_matches_its_markers():
    markers = default_environment()
    platform = machine_platform(markers, [str(tag) for tag in sys_tags()])
    target = LockTarget(python=markers["python_version"], platform=platform)
    assert matching([target], markers) == target
    assert target.marker().evaluate(markers)


# --- describe, and the grid [lock] asks for ----------------------------------------------------


@pytest.mark.parametrize(
    ("targets", "text"),
    [
        ([("3.12", "linux-x86_64")], "Python 3.12 on linux-x86_64"),
        (
            [(v, n) for v in ("3.12", "3.11") for n in ("macos-arm64", "linux-x86_64")],
            "Python 3.11 and 3.12 on linux-x86_64, macos-arm64",
        ),
        (
            [(v, "windows-x86_64") for v in ("3.10", "3.9", "3.11")],
            "Python 3.9, 3.10 and 3.11 on windows-x86_64",
        ),
        (
            [("3.12", "macos-arm64"), ("3.11", "linux-x86_64")],
            "Python 3.11 on linux-x86_64; Python 3.12 on macos-arm64",
        ),
        (
            # A target twice is still half a grid, not a full one.
            [("3.11", "linux-x86_64"), ("3.11", "linux-x86_64"), ("3.12", "macos-arm64"),
             ("3.12", "macos-arm64")],
            "Python 3.11 on linux-x86_64; Python 3.12 on macos-arm64",
        ),
        ([], "no targets"),
    ],
)  # fmt: skip
def test_describe(targets, text):
    assert describe(_target(v, n) for v, n in targets) == text


def test_target_sort_key_is_numeric():
    assert _target("3.9", "macos-arm64").key < _target("3.10", "linux-x86_64").key
    assert str(_target("3.10", "linux-x86_64")) == "Python 3.10 on linux-x86_64"


PPC = machine_platform(PPC64LE, PPC64LE_TAGS)


@pytest.mark.parametrize(
    ("lock", "machine", "expected"),
    [
        (LockTargets(), PPC, [("3.12", PPC)]),
        (
            LockTargets(python_versions=("3.11", "3.13")),
            PLATFORMS["macos-arm64"],
            [("3.11", PLATFORMS["macos-arm64"]), ("3.13", PLATFORMS["macos-arm64"])],
        ),
        (
            LockTargets(platforms=("windows-x86_64", "linux-x86_64")),
            PPC,
            [("3.12", PLATFORMS["linux-x86_64"]), ("3.12", PLATFORMS["windows-x86_64"])],
        ),
        (
            LockTargets(python_versions=("3.9", "3.10"), platforms=("macos-arm64",)),
            PPC,
            [("3.9", PLATFORMS["macos-arm64"]), ("3.10", PLATFORMS["macos-arm64"])],
        ),
    ],
)
def test_lock_targets_grid_fills_what_is_unset_with_this_machines(lock, machine, expected):
    grid = lock.grid(python="3.12", machine=machine)
    assert grid == tuple(LockTarget(python=v, platform=p) for v, p in expected)
