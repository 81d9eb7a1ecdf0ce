"""Resolving for a lock target that is not this machine: pip's route and uv's, against uv itself.

The oracle is ``uv pip compile --python-platform P --python-version V`` run on the same
index: for every named platform and two Pythons, pip's resolver with the target's markers
(``ResolveRequest.foreign``) and the uv backend must choose exactly what it chooses.
"""

from __future__ import annotations

import importlib
import platform
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from envsync.core.spec import Group
from envsync.core.specsources import IndexConfig, Source
from envsync.core.targets import MACOS_FLOOR, PLATFORMS, LockTarget, Platform
from envsync.errors import ResolutionError
from envsync.resolve import foreign
from envsync.resolve.foreign import NoWheelError, PipHookError
from envsync.resolve.piptools import PipToolsResolver
from envsync.resolve.protocol import ResolveRequest
from envsync.resolve.uv import UvResolver, find_uv

from support import isolated_env
from support.platformindex import DEPENDENCIES, GROUP_DEV
from support.wheels import build_project_dir, build_wheel

if TYPE_CHECKING:
    from collections.abc import Iterator

    from envsync.resolve.protocol import Resolution

    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e

TARGETS = [LockTarget(python=py, platform=p) for p in PLATFORMS.values() for py in ("3.11", "3.12")]
#: The target this interpreter is (None where it is no named platform).
THIS_MACHINE = next(
    (
        LockTarget(python=f"{sys.version_info[0]}.{sys.version_info[1]}", platform=p)
        for p in PLATFORMS.values()
        if (p.sys_platform, p.platform_machine) == (sys.platform, platform.machine())
    ),
    None,
)
Summary = dict[str, tuple[str | None, tuple[str, ...], frozenset[str]]]


@pytest.fixture(scope="module")
def uv() -> Path:
    found = find_uv()
    assert found is not None, "uv is a test dependency: install envsync[test]"
    return found


@pytest.fixture(scope="module", autouse=True)
def _uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UV_CACHE_DIR", str(tmp_path_factory.mktemp("uv-cache")))
        yield


def request_for(
    index: PackageIndex,
    target: LockTarget,
    root: Path,
    /,
    *,
    dependencies: tuple[str, ...] = DEPENDENCIES,
    **changes: object,
) -> ResolveRequest:
    request = ResolveRequest(
        dependencies=tuple(Requirement(d) for d in dependencies),
        groups=(Group(name="dev", requirements=tuple(Requirement(r) for r in GROUP_DEV)),),
        python=Path(sys.executable),
        python_version=platform.python_version(),
        index=IndexConfig(url=index.url),
        root=root,
        target=target,
        foreign=True,
    )
    return replace(request, **changes)


def versions(resolution: Resolution) -> dict[str, str | None]:
    return {p.name: str(p.version) if p.version else None for p in resolution.packages}


def summary(resolution: Resolution) -> Summary:
    """What the lock takes from a resolution: versions, dependencies and groups."""
    return {
        p.name: (str(p.version) if p.version else None, p.dependencies, p.groups)
        for p in resolution.packages
    }


def uv_compile(uv: Path, index: PackageIndex, target: LockTarget, work: Path) -> dict[str, str]:
    """The oracle: what ``uv pip compile`` chooses for *target*, run by hand, nothing shared."""
    work.mkdir()
    (work / "main.in").write_text("".join(f"{r}\n" for r in DEPENDENCIES))
    (work / "group-dev.in").write_text("".join(f"{r}\n" for r in GROUP_DEV))
    env = {k: v for k, v in isolated_env().items() if not k.startswith("UV_")}
    env.update(UV_NO_CONFIG="1", MACOSX_DEPLOYMENT_TARGET="13.0", UV_PYTHON_DOWNLOADS="never")
    env["UV_CACHE_DIR"] = str(work / "cache")
    assert target.platform.uv is not None
    argv = [str(uv), "pip", "compile", "--quiet", "--no-header", "--index-url", index.url]
    # --python: uv resolves for --python-version and --python-platform whatever interpreter
    # runs it; without one it would look for (or fetch) a Python of that version.
    argv += [
        "--python",
        sys.executable,
        "--python-platform",
        target.platform.uv,
        "--python-version",
        target.python,
    ]
    proc = subprocess.run(
        [*argv, "main.in", "group-dev.in"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return dict(re.findall(r"^([a-z0-9-]+)==(\S+)", proc.stdout, flags=re.MULTILINE))


def expected(target: LockTarget) -> dict[str, str]:
    """What the platform index's packages say each target needs, written out by hand."""
    p, old = target.platform, target.python == "3.11"
    found = {"app": "1.0", "clihelper": "1.0", "toolkit": "1.0"}
    found["native"] = "1.0" if p.sys_platform == "win32" else "2.0"
    found["modern"] = "1.0" if old else "2.0"
    wanted = {
        "winonly": p.sys_platform == "win32",
        "maconly": p.sys_platform == "darwin",
        "armonly": p.platform_machine == "aarch64",
        "speedup": p.sys_platform == "linux",
        "oldpy": old,
    }
    found.update({name: "1.0" for name, yes in wanted.items() if yes})
    return found


@pytest.mark.parametrize("target", TARGETS, ids=str)
def test_pip_and_uv_choose_for_the_target_what_uv_pip_compile_chooses(
    target: LockTarget, platform_index: PackageIndex, uv: Path, tmp_path: Path
) -> None:
    request = request_for(platform_index, target, tmp_path)

    with_pip = PipToolsResolver().resolve(request)
    with_uv = UvResolver(uv=uv).resolve(request)

    oracle = uv_compile(uv, platform_index, target, tmp_path / "uv")
    assert versions(with_pip) == oracle
    assert versions(with_uv) == oracle
    assert oracle == expected(target)
    # The graph rebuilt from pip's report is the one uv's annotations give.
    assert summary(with_pip) == summary(with_uv)
    arm = target.platform.platform_machine == "aarch64"
    dev = ("armonly", "clihelper") if arm else ("clihelper",)
    assert with_pip.roots == with_uv.roots == {"": ("app",), "dev": dev}


@pytest.mark.skipif(THIS_MACHINE is None, reason="this machine is no named platform")
def test_the_pip_route_for_this_machine_agrees_with_pip_compile(
    platform_index: PackageIndex, tmp_path: Path
) -> None:
    assert THIS_MACHINE is not None
    request = request_for(platform_index, THIS_MACHINE, tmp_path)

    routed = PipToolsResolver().resolve(request)
    compiled = PipToolsResolver().resolve(replace(request, foreign=False))

    assert summary(routed) == summary(compiled)
    assert routed.roots == compiled.roots
    assert versions(routed) == expected(THIS_MACHINE)


def test_a_package_without_a_wheel_for_the_target_names_it_the_target_and_the_fix(
    platform_index: PackageIndex, tmp_path: Path
) -> None:
    target = LockTarget(python="3.12", platform=PLATFORMS["windows-x86_64"])
    request = request_for(platform_index, target, tmp_path, dependencies=("app", "linuxonly"))

    with pytest.raises(NoWheelError) as caught:
        PipToolsResolver().resolve(request)

    assert caught.value.message == (
        "no version of linuxonly from the configured indexes has a wheel for "
        "Python 3.12 on windows-x86_64"
    )
    assert caught.value.hint is not None
    assert "without a wheel for windows-x86_64 cannot be resolved" in caught.value.hint
    assert 'resolver = "uv"' in caught.value.hint
    assert "drop it from [lock] platforms" in caught.value.hint


def test_pip_still_evaluates_markers_through_the_function_envsync_replaces(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # If this fails, pip moved or renamed it: foreign.py's boot script and envsync's pinned
    # pip range must be fixed together, before any release with the new pip.
    markers = importlib.import_module("pip._vendor.packaging.markers")
    assert callable(getattr(markers, foreign.HOOK, None)), (
        f"pip._vendor.packaging.markers.{foreign.HOOK} is gone from pip "
        f"{importlib.import_module('pip').__version__}"
    )
    target = LockTarget(python="3.12", platform=PLATFORMS["windows-x86_64"])
    monkeypatch.setattr(markers, foreign.HOOK, target.markers)
    assert markers.Marker('sys_platform == "win32" and python_version == "3.12"').evaluate()
    assert markers.Marker('platform_machine == "AMD64" and extra == "x"').evaluate({"extra": "x"})


def test_a_pip_without_the_hook_is_an_error_saying_the_pip_range_must_be_fixed(
    platform_index: PackageIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As a pip that renamed the function would: the boot script finds no such function.
    monkeypatch.setattr(foreign, "HOOK", "renamed_environment")
    target = LockTarget(python="3.12", platform=PLATFORMS["macos-arm64"])

    with pytest.raises(PipHookError) as caught:
        PipToolsResolver().resolve(request_for(platform_index, target, tmp_path))

    pip_version = importlib.import_module("pip").__version__
    assert caught.value.message == (
        "envsync cannot resolve for Python 3.12 on macos-arm64 with pip's resolver: "
        f"pip {pip_version} does not evaluate markers through "
        "pip._vendor.packaging.markers.renamed_environment"
    )
    assert caught.value.hint is not None
    assert "pip range pinned in envsync's dependencies must be fixed" in caught.value.hint


WINDOWS = LockTarget(python="3.12", platform=PLATFORMS["windows-x86_64"])
LINUX = LockTarget(python="3.12", platform=PLATFORMS["linux-x86_64"])


@pytest.mark.parametrize(
    ("target", "dependencies", "changes", "chosen"),
    [
        pytest.param(LINUX, DEPENDENCIES, {}, {"modern": "1.0", "native": "1.0"}, id="kept"),
        pytest.param(
            LINUX, DEPENDENCIES, {"upgrade": True}, {"modern": "2.0", "native": "2.0"}, id="upgrade"
        ),
        pytest.param(
            LINUX,
            DEPENDENCIES,
            {"upgrade_packages": frozenset({"modern"})},
            {"modern": "2.0", "native": "1.0"},
            id="upgrade-package",
        ),
        pytest.param(
            LINUX,
            (*DEPENDENCIES, "modern>=2"),
            {},
            {"modern": "2.0", "native": "1.0"},
            id="a-pin-outside-a-top-level-range-alone-is-dropped",
        ),
        pytest.param(
            WINDOWS,
            DEPENDENCIES,
            {"preferred": {"native": Version("2.0"), "modern": Version("1.0")}},
            {"modern": "2.0", "native": "1.0"},
            id="pins-that-cannot-hold-are-only-preferences",
        ),
    ],
)
def test_the_pins_to_keep_are_kept_as_pip_compile_keeps_them(
    target: LockTarget,
    dependencies: tuple[str, ...],
    changes: dict[str, object],
    chosen: dict[str, str],
    platform_index: PackageIndex,
    tmp_path: Path,
) -> None:
    preferred = {"modern": Version("1.0"), "native": Version("1.0")}
    request = request_for(
        platform_index,
        target,
        tmp_path,
        dependencies=dependencies,
        **{"preferred": preferred, **changes},
    )

    found = versions(PipToolsResolver().resolve(request))

    assert {name: found[name] for name in chosen} == chosen


@pytest.mark.parametrize("editable", [False, True], ids=["folder", "editable"])
@pytest.mark.parametrize("target", [WINDOWS, LINUX], ids=str)
def test_a_local_folder_resolves_for_a_foreign_target(
    target: LockTarget, editable: bool, platform_index: PackageIndex, tmp_path: Path
) -> None:
    # pip reads a source tree's metadata under --only-binary=:all: --platform too (it runs
    # the tree's metadata hook in the interpreter running pip); its markers are the target's.
    folder = build_project_dir(
        tmp_path / "libs", "localpkg", "0.3", requires=['winonly; sys_platform == "win32"']
    )
    request = request_for(
        platform_index,
        target,
        tmp_path,
        dependencies=("localpkg",),
        sources=(Source(package="localpkg", path=str(folder), editable=editable),),
    )

    resolution = PipToolsResolver().resolve(request)

    local = next(p for p in resolution.packages if p.name == "localpkg")
    assert (str(local.version), local.editable, local.directory) == (
        "0.3",
        editable,
        "libs/localpkg-0.3",
    )
    windows = target.platform.sys_platform == "win32"
    assert ("winonly" in versions(resolution)) is windows
    assert local.dependencies == (("winonly",) if windows else ())


def test_uv_cannot_resolve_for_a_platform_it_has_no_name_for(
    platform_index: PackageIndex, uv: Path, tmp_path: Path
) -> None:
    riscv = Platform(
        name="linux-riscv64",
        sys_platform="linux",
        platform_system="Linux",
        os_name="posix",
        platform_machine="riscv64",
        tags=("linux_riscv64",),
    )
    target = LockTarget(python="3.12", platform=riscv)

    with pytest.raises(ResolutionError) as caught:
        UvResolver(uv=uv).resolve(request_for(platform_index, target, tmp_path))

    assert caught.value.message == (
        "uv cannot resolve for Python 3.12 on linux-riscv64: "
        "uv has no name for the platform linux-riscv64"
    )
    assert caught.value.hint is not None
    assert 'resolver = "pip-tools"' in caught.value.hint


def test_macos_wheels_newer_than_the_floor_are_left_out_by_both_routes(
    platform_index: PackageIndex, uv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert MACOS_FLOOR == (13, 0)
    links = tmp_path / "links"
    for version, tag in [("1.0", "11_0"), ("1.5", "13_0"), ("2.0", "14_0")]:
        build_wheel(links, "macfloor", version, tag=f"py3-none-macosx_{tag}_arm64")
    # The user's own setting is not the lock's floor: uv must not read it.
    monkeypatch.setenv("MACOSX_DEPLOYMENT_TARGET", "15.0")
    target = LockTarget(python="3.12", platform=PLATFORMS["macos-arm64"])
    request = request_for(
        platform_index,
        target,
        tmp_path,
        dependencies=("macfloor",),
        groups=(),
        index=IndexConfig(url=platform_index.url, find_links=(str(links),)),
    )

    for resolver in (PipToolsResolver(), UvResolver(uv=uv)):
        assert versions(resolver.resolve(request)) == {"macfloor": "1.5"}, resolver
