"""One lock for several targets: what each target installs from the merged lock.

The property that matters to a user: whatever each target resolved to, the one pylock.toml
installs exactly that on that target (through packaging's own ``Pylock.select``, as pip and
uv read it), for every choice of groups; and ``split`` reads each target's part back as it
was resolved, so a target whose inputs did not change keeps it.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import tomllib
from hypothesis import given
from hypothesis import strategies as st
from packaging.markers import Marker
from packaging.utils import canonicalize_name
from packaging.version import Version

from envsync.core.lockdiff import changes
from envsync.core.lockfile import (
    LockedFile,
    ResolvedPackage,
    TargetResolution,
    build_lock,
    dumps,
    info,
    loads,
    select,
)
from envsync.core.lockmerge import missing_files, recorded_by_wheel, split
from envsync.core.spec import parse_spec
from envsync.core.targets import PLATFORMS, LockTarget, machine_platform

from support.locks import target

SPEC = parse_spec(
    '[env]\ndependencies = ["a"]\n\n[groups]\ndev = ["b"]\ndocs = ["c"]\n',
    path=Path("/proj/env.toml"),
)
GROUPS = ("dev", "docs")
GRID = tuple(
    LockTarget(python=p, platform=PLATFORMS[n])
    for p in ("3.11", "3.12")
    for n in ("linux-x86_64", "macos-arm64", "windows-x86_64")
)
ANY = "py3-none-any"


def wheel(name: str, version: str, tag: str = ANY) -> LockedFile:
    filename = f"{name}-{version}-{tag}.whl"
    return LockedFile(filename=filename, url=f"https://files.test/{filename}", sha256="a" * 64)


def pkg(
    name: str, version: str = "1.0", groups: tuple[str, ...] = (), **more: object
) -> ResolvedPackage:
    return ResolvedPackage(
        name=canonicalize_name(name),
        version=Version(version),
        groups=frozenset(groups),
        wheels=(wheel(name, version),),
        **more,  # type: ignore[arg-type]
    )


def installed(lock, where: LockTarget, groups: tuple[str, ...]) -> dict[str, str]:
    wanted = select(
        lock, environment=where.markers(), tags=[ANY], groups=groups, root=Path("/proj")
    )
    return {w.name: str(w.version) for w in wanted}


def expected(resolution: TargetResolution, groups: tuple[str, ...]) -> dict[str, str]:
    return {
        p.name: str(p.version)
        for p in resolution.packages
        if not p.groups or p.groups & set(groups)
    }


# -- examples a reader can check by eye -----------------------------------------------------


def test_a_package_every_target_needs_has_no_marker_and_one_only_windows_needs_names_it():
    everywhere = [pkg("a")]
    resolutions = [
        TargetResolution(
            target=t,
            packages=(
                *everywhere,
                *([pkg("colorama")] if t.platform.name.startswith("windows") else []),
            ),
        )
        for t in GRID
    ]
    data = tomllib.loads(dumps(build_lock(spec=SPEC, resolutions=resolutions)))
    markers = {p["name"]: p.get("marker") for p in data["packages"]}
    assert markers == {
        "a": None,
        "colorama": 'sys_platform == "win32" and platform_machine == "AMD64"',
    }
    assert data["environments"] == [str(t.marker()) for t in sorted(GRID, key=lambda t: t.key)]


def test_versions_that_differ_by_python_are_two_entries_each_for_its_pythons():
    resolutions = [
        TargetResolution(target=t, packages=(pkg("a", "2.0" if t.python == "3.12" else "1.0"),))
        for t in GRID
    ]
    lock = build_lock(spec=SPEC, resolutions=resolutions)
    entries = [(p.name, str(p.version), str(p.marker)) for p in lock.packages]
    assert entries == [
        ("a", "1.0", 'python_version == "3.11"'),
        ("a", "2.0", 'python_version == "3.12"'),
    ]


def test_a_group_needs_it_on_one_target_and_the_main_dependencies_on_another():
    linux, windows = GRID[0], GRID[2]
    lock = build_lock(
        spec=SPEC,
        resolutions=[
            TargetResolution(target=linux, packages=(pkg("b"),)),
            TargetResolution(target=windows, packages=(pkg("b", groups=("dev",)),)),
        ],
    )
    assert installed(lock, linux, ()) == {"b": "1.0"}
    assert installed(lock, windows, ()) == {}
    assert installed(lock, windows, ("dev",)) == {"b": "1.0"}


def test_a_dependency_with_two_versions_is_named_with_its_version():
    old, new = GRID[0], GRID[3]  # 3.11 and 3.12 on linux
    lock = build_lock(
        spec=SPEC,
        resolutions=[
            TargetResolution(target=old, packages=(pkg("a", dependencies=("b",)), pkg("b", "1.0"))),
            TargetResolution(target=new, packages=(pkg("a", dependencies=("b",)), pkg("b", "2.0"))),
        ],
    )
    a = next(p for p in lock.packages if p.name == "a")
    assert a.dependencies == [{"name": "b", "version": "1.0"}, {"name": "b", "version": "2.0"}]
    assert loads(dumps(lock)).packages == lock.packages  # PEP 751 valid as written


def test_missing_files_names_what_a_target_cannot_install():
    mac_only = ResolvedPackage(
        name=canonicalize_name("native"),
        version=Version("2.0"),
        groups=frozenset(),
        wheels=(wheel("native", "2.0", "cp312-cp312-macosx_11_0_arm64"),),
    )
    mac, windows = (
        LockTarget(python="3.12", platform=PLATFORMS[n]) for n in ("macos-arm64", "windows-x86_64")
    )
    assert missing_files(TargetResolution(target=mac, packages=(mac_only,)), build=True) == []
    both = TargetResolution(target=windows, packages=(mac_only, pkg("a")))
    assert [p.name for p in missing_files(both, build=True)] == ["native"]
    sdist = LockedFile(filename="native-2.0.tar.gz", url="https://x.test/n.tgz", sha256="b" * 64)
    with_sdist = replace(mac_only, sdist=sdist)
    only_sdist = TargetResolution(target=windows, packages=(with_sdist,))
    assert missing_files(only_sdist, build=True) == []
    assert [p.name for p in missing_files(only_sdist, build=False)] == ["native"]


def test_changes_per_target():
    one = [TargetResolution(target=t, packages=(pkg("a"), pkg("b"))) for t in GRID[:2]]
    two = [
        TargetResolution(target=GRID[0], packages=(pkg("a", "2.0"), pkg("c"))),
        TargetResolution(target=GRID[1], packages=(pkg("a"), pkg("b"))),
        TargetResolution(target=GRID[2], packages=(pkg("a"),)),
    ]
    old, new = (build_lock(spec=SPEC, resolutions=r) for r in (one, two))
    found = changes((old, info(old)), (new, info(new)), info(new).targets)
    by_target = {c.target: c for c in found}
    linux = by_target[GRID[0]]
    assert (linux.added, linux.removed, linux.changed) == (
        (("c", "1.0"),),
        (("b", "1.0"),),
        (("a", "1.0", "2.0"),),
    )
    assert not by_target[GRID[1]]
    assert by_target[GRID[2]].new_target
    assert by_target[GRID[2]].added == (("a", "1.0"),)


# -- the property ---------------------------------------------------------------------------

NAMES = ("a", "b", "c", "d")


@st.composite
def resolutions(draw: st.DrawFn) -> list[TargetResolution]:
    targets = draw(st.lists(st.sampled_from(GRID), min_size=1, max_size=len(GRID), unique=True))
    found = []
    for where in targets:
        names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=len(NAMES)))
        packages = tuple(
            pkg(
                name,
                draw(st.sampled_from(["1.0", "2.0"])),
                tuple(draw(st.lists(st.sampled_from(GROUPS), unique=True))),
            )
            for name in sorted(names)
        )
        found.append(TargetResolution(target=where, packages=packages))
    return found


@given(resolutions())
def test_every_target_installs_exactly_what_it_resolved_for_every_choice_of_groups(
    resolved: list[TargetResolution],
):
    lock = loads(dumps(build_lock(spec=SPEC, resolutions=resolved)))
    for resolution in resolved:
        for k in range(len(GROUPS) + 1):
            for groups in itertools.combinations(GROUPS, k):
                assert installed(lock, resolution.target, groups) == expected(resolution, groups)


@given(resolutions())
def test_split_reads_each_targets_part_back_as_resolved(resolved: list[TargetResolution]):
    lock = loads(dumps(build_lock(spec=SPEC, resolutions=resolved)))
    for resolution in resolved:
        back = split(lock, resolution.target, {})
        assert {(p.name, p.version, p.groups) for p in back.packages} == {
            (p.name, p.version, p.groups) for p in resolution.packages
        }


@given(resolutions())
def test_the_same_resolutions_give_the_same_bytes_in_any_order(resolved: list[TargetResolution]):
    assert dumps(build_lock(spec=SPEC, resolutions=resolved)) == dumps(
        build_lock(spec=SPEC, resolutions=list(reversed(resolved)))
    )


def test_environments_markers_are_each_true_on_their_target_only():
    lock = build_lock(
        spec=SPEC, resolutions=[TargetResolution(target=t, packages=()) for t in GRID]
    )
    for where in GRID:
        env = where.markers()
        assert [Marker(str(m)).evaluate(env) for m in lock.environments or ()].count(True) == 1


def test_target_helper_is_this_machines_default():
    assert target("3.12.4") == LockTarget(python="3.12", platform=PLATFORMS["linux-x86_64"])


# -- the edges: archives, a machine no named platform matches, a wheel name that is no name --


def test_split_reads_a_direct_archive_back_and_it_counts_as_installable():
    archive = LockedFile(
        filename="tool-1.0.tar.gz", url="https://x.test/tool-1.0.tar.gz", sha256="c" * 64
    )
    tool = ResolvedPackage(
        name=canonicalize_name("tool"), version=Version("1.0"), groups=frozenset(), archive=archive
    )
    where = GRID[0]
    lock = loads(
        dumps(build_lock(spec=SPEC, resolutions=[TargetResolution(target=where, packages=(tool,))]))
    )
    (back,) = split(lock, where, {}).packages
    assert back.archive == archive
    assert missing_files(TargetResolution(target=where, packages=(back,)), build=False) == []


def test_a_machine_no_named_platform_matches_is_not_checked_for_files_and_reads_back():
    markers = {
        "sys_platform": "linux",
        "platform_machine": "ppc64le",
        "platform_system": "Linux",
        "os_name": "posix",
    }
    ppc = machine_platform(markers, ["cp312-cp312-manylinux_2_17_ppc64le"])
    where = LockTarget(python="3.12", platform=ppc)
    only_x86 = ResolvedPackage(
        name=canonicalize_name("native"),
        version=Version("2.0"),
        groups=frozenset(),
        wheels=(wheel("native", "2.0", "cp312-cp312-manylinux_2_17_x86_64"),),
    )
    # Its tags are known while it resolves, not once read back from the lock: not checked.
    unknown = LockTarget(python="3.12", platform=replace(ppc, tags=()))
    assert missing_files(TargetResolution(target=unknown, packages=(only_x86,)), build=True) == []
    assert [
        p.name
        for p in missing_files(TargetResolution(target=where, packages=(only_x86,)), build=True)
    ] == ["native"]
    lock = build_lock(spec=SPEC, resolutions=[TargetResolution(target=where, packages=())])
    table = tomllib.loads(dumps(lock))["tool"]["envsync"]["targets"]
    assert table == [
        {
            "python": "3.12",
            "platform": "linux-ppc64le",
            "sys-platform": "linux",
            "platform-machine": "ppc64le",
            "platform-system": "Linux",
            "os-name": "posix",
        }
    ]
    assert info(loads(dumps(lock))).targets == (where,)  # known by name and markers


def test_a_wheel_whose_name_is_no_wheel_name_installs_nowhere():
    odd = ResolvedPackage(
        name=canonicalize_name("odd"),
        version=Version("1.0"),
        groups=frozenset(),
        wheels=(LockedFile(filename="odd.whl", url="https://x.test/odd.whl", sha256="d" * 64),),
    )
    assert [
        p.name for p in missing_files(TargetResolution(target=GRID[0], packages=(odd,)), build=True)
    ] == ["odd"]


def test_recorded_by_wheel_gives_each_wheel_its_versions_lines():
    def with_wheels(name: str, *digits: str, requires: tuple[str, ...] = ()) -> ResolvedPackage:
        files = tuple(replace(wheel(name, "1.0", f"py3-none-{d}"), sha256=d * 64) for d in digits)
        return replace(
            pkg(name, dependencies=("b",) if requires else ()), wheels=files, requires=requires
        )

    packages = (
        with_wheels("a", "1", "2", requires=("b>=1",)),
        with_wheels("b", "3"),  # records nothing: no lines to give
    )
    lock = build_lock(spec=SPEC, resolutions=[TargetResolution(target=GRID[0], packages=packages)])

    assert recorded_by_wheel(lock) == {"1" * 64: ("b>=1",), "2" * 64: ("b>=1",)}
    assert recorded_by_wheel(None) == {}
