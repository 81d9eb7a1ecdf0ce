"""One lock for the whole team and CI matrix, as a new user sees it (issue 11).

One env.toml asks for ``app[cli]`` and the group ``dev`` on the platform index, whose answer
differs per target, for Python 3.11 and 3.12 on linux-x86_64, macos-arm64 and
windows-x86_64. ``envsync lock`` (pip-tools, then uv) writes one pylock.toml; on each of the
six targets it must install exactly what ``uv pip compile --python-platform P
--python-version V`` chooses, be the same bytes for the same inputs, install with uv and pip
as with envsync, and serve both of this machine's Pythons. The projects are locked once per
module (`locked`) and copied where a test changes anything.

Changing a lock (new targets, pins, upgrades) and the machines a lock does not serve are in
test_multitarget_changes.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from envsync.resolve.uv import find_uv

from helpers import envsync, read_lock
from support import isolated_env
from support.multitarget import (
    GRID,
    GRID_GROUPS,
    GRID_PLATFORMS,
    GRID_PYTHONS,
    ON_LINUX_X86_64,
    Locked,
    copy_project,
    installed,
    lock_grid,
    make_venv,
    progress,
    selected,
    target,
    uv_compile,
    uv_env,
    write_lock_spec,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from envsync.core.targets import LockTarget

    from support.pkgindex import PackageIndex

pytestmark = [pytest.mark.e2e, ON_LINUX_X86_64]

RESOLVERS = ("pip-tools", "uv")
GROUPS: tuple[tuple[str, ...], ...] = ((), ("dev",), ("ci",))
#: What `environments` says: one marker per target, by Python version, then platform.
ENVIRONMENTS = [
    f'python_version == "{python}" and sys_platform == "{sys_platform}" '
    f'and platform_machine == "{machine}"'
    for python in ("3.11", "3.12")
    for sys_platform, machine in (("linux", "x86_64"), ("darwin", "arm64"), ("win32", "AMD64"))
]
#: What each of this machine's Pythons gets (main dependencies), written out by hand.
_ALIKE = {"app": "1.0", "clihelper": "1.0", "native": "2.0", "speedup": "1.0", "toolkit": "1.0"}
ON_LINUX = {
    "3.11": {**_ALIKE, "modern": "1.0", "oldpy": "1.0"},
    "3.12": {**_ALIKE, "modern": "2.0"},
}
#: What the group ci adds there.
CI_ON_LINUX = {"3.11": {}, "3.12": {"oldpy": "1.0", "winonly": "1.0"}}


@pytest.fixture(scope="module", autouse=True)
def _uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UV_CACHE_DIR", str(tmp_path_factory.mktemp("uv-cache")))
        yield


@pytest.fixture(scope="module")
def uv() -> Path:
    found = find_uv()
    assert found is not None, "uv is a test dependency: install envsync[test]"
    return found


@pytest.fixture(scope="module")
def locked(
    platform_index: PackageIndex, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Locked]:
    """The grid locked from nothing, once with each resolver (nothing changes them)."""
    found = {}
    for resolver in RESOLVERS:
        root = tmp_path_factory.mktemp(f"grid-{resolver}")
        result = lock_grid(root, platform_index, resolver)
        assert result.code == 0, result
        found[resolver] = Locked(root=root, result=result)
    return found


@pytest.fixture(scope="module")
def oracle(
    uv: Path, platform_index: PackageIndex, tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[LockTarget, tuple[str, ...]], dict[str, str]]:
    """What ``uv pip compile`` chooses for each target, with no group, with dev, with ci."""
    work = tmp_path_factory.mktemp("oracle")
    return {
        (on, groups): uv_compile(
            uv,
            platform_index.url,
            on,
            work / f"{on}-{groups}",
            {name: GRID_GROUPS[name] for name in groups},
        )
        for on in GRID
        for groups in GROUPS
    }


# -- what the lock installs on each target -----------------------------------------------------


@pytest.mark.parametrize("on", GRID, ids=str)
@pytest.mark.parametrize("resolver", RESOLVERS)
def test_on_each_target_the_lock_installs_what_uv_pip_compile_chooses(
    resolver: str,
    on: LockTarget,
    locked: dict[str, Locked],
    oracle: dict[tuple[LockTarget, tuple[str, ...]], dict[str, str]],
) -> None:
    for groups in GROUPS:
        assert selected(locked[resolver].lock, on, groups) == oracle[on, groups], groups


def test_the_oracle_tells_every_target_apart(
    oracle: dict[tuple[LockTarget, tuple[str, ...]], dict[str, str]],
) -> None:
    # Else a lock made for one target, installed everywhere, would pass the test above.
    answers = {frozenset(oracle[on, ()].items()) for on in GRID}
    assert len(answers) == len(GRID)
    # And a group's packages are not the main ones everywhere (dev's are, on this grid).
    assert any(oracle[on, ("ci",)] != oracle[on, ()] for on in GRID)


@pytest.mark.parametrize("resolver", RESOLVERS)
def test_the_lock_names_each_target_and_marks_only_what_some_target_lacks(
    resolver: str,
    locked: dict[str, Locked],
    oracle: dict[tuple[LockTarget, tuple[str, ...]], dict[str, str]],
) -> None:
    data = read_lock(locked[resolver].root)
    packages = data["packages"]
    assert isinstance(packages, list)

    assert data["environments"] == ENVIRONMENTS
    assert data["requires-python"] == ">=3.11"
    everywhere = set.intersection(*(set(oracle[on, ()].items()) for on in GRID))
    unmarked = {(p["name"], p["version"]) for p in packages if "marker" not in p}
    assert unmarked == everywhere == {("app", "1.0"), ("clihelper", "1.0"), ("toolkit", "1.0")}


# -- the same inputs, the same lock ------------------------------------------------------------


@pytest.mark.parametrize("resolver", RESOLVERS)
def test_the_same_inputs_give_a_byte_identical_lock(
    resolver: str, locked: dict[str, Locked], platform_index: PackageIndex, tmp_path: Path
) -> None:
    again = lock_grid(tmp_path, platform_index, resolver)

    assert again.code == 0, again
    assert (tmp_path / "pylock.toml").read_bytes() == locked[resolver].lock.read_bytes()


def test_pip_tools_and_uv_lock_the_same_packages(locked: dict[str, Locked]) -> None:
    with_pip, with_uv = (locked[r].lock for r in RESOLVERS)

    for on in GRID:
        for groups in GROUPS:
            assert selected(with_pip, on, groups) == selected(with_uv, on, groups), (on, groups)
    # Only the fingerprint of env.toml (which names the resolver) tells the two apart.
    assert (
        read_lock(locked["pip-tools"].root)["packages"] == read_lock(locked["uv"].root)["packages"]
    )


def test_lock_says_which_targets_it_resolves_and_serves(locked: dict[str, Locked]) -> None:
    result = locked["pip-tools"].result

    assert result.out == (
        "pylock.toml written: 11 package(s) for Python 3.11 and 3.12 on "
        "linux-x86_64, macos-arm64, windows-x86_64\n"
    )
    assert progress(result.err) == [f"Resolving 5 requirement(s) for {on}..." for on in GRID]


# -- other installers ----------------------------------------------------------------------


@pytest.mark.parametrize("group", [None, "ci"])
@pytest.mark.parametrize("python", GRID_PYTHONS)
def test_uv_and_pip_install_from_the_lock_what_apply_frozen_installs(
    python: str,
    group: str | None,
    locked: dict[str, Locked],
    uv: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = copy_project(locked["pip-tools"], tmp_path / "project")
    lock = project / "pylock.toml"
    make_venv(project / ".venv", python)
    grouped = ["--group", group] if group else []
    applied = envsync(capsys, "apply", "--frozen", *grouped, project=project)
    assert applied.code == 0, applied
    ours = installed(project / ".venv" / "bin" / "python")

    with_uv = make_venv(tmp_path / "uv-venv", python)
    synced = subprocess.run(
        [str(uv), "pip", "sync", "--python", str(with_uv), str(lock), *grouped],
        env=uv_env(tmp_path / "uv-cache"),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    with_pip = make_venv(tmp_path / "pip-venv", python)
    # pip >= 26.1 reads a PEP 751 file given to -r, and its groups as --group FILE:NAME;
    # `--python` runs this pip for that venv.
    argv = [sys.executable, "-m", "pip", "--python", str(with_pip), "install", "--no-index"]
    argv += ["-r", str(lock), *(["--group", f"{lock}:{group}"] if group else [])]
    pipped = subprocess.run(
        argv, env=isolated_env(), capture_output=True, text=True, check=False, timeout=120
    )

    assert synced.returncode == 0, synced.stderr
    assert pipped.returncode == 0, pipped.stderr
    assert ours == {**ON_LINUX[python], **(CI_ON_LINUX[python] if group else {})}
    assert installed(with_uv) == ours
    assert installed(with_pip) == ours
    assert lock.read_bytes() == locked["pip-tools"].lock.read_bytes()


# -- two Pythons of this machine, one lock -----------------------------------------------------


def test_one_lock_builds_each_local_pythons_venv_and_says_which_target_it_is(
    locked: dict[str, Locked],
    platform_index: PackageIndex,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Two env.toml files beside one pylock.toml, differing only in the venv path (which the
    # lock's fingerprint leaves out): as a CI job per Python would have it.
    project = copy_project(locked["pip-tools"], tmp_path)
    specs = {
        "3.11": project / "env.toml",
        "3.12": write_lock_spec(
            project,
            platform_index.url,
            platforms=GRID_PLATFORMS,
            python_versions=GRID_PYTHONS,
            groups=GRID_GROUPS,
            venv=".venv-3.12",
            name="env-3.12.toml",
        ),
    }
    pythons = {"3.11": make_venv(project / ".venv", "3.11")}
    pythons["3.12"] = make_venv(project / ".venv-3.12", "3.12")

    for python, spec in specs.items():
        applied = envsync(capsys, "apply", "--frozen", "--json", "--spec", str(spec))
        assert applied.code == 0, applied
        plan = envsync(capsys, "plan", "--frozen", "--json", "--spec", str(spec))
        checked = envsync(capsys, "check", "--spec", str(spec))
        checked_json = envsync(capsys, "check", "--json", "--spec", str(spec))

        assert installed(pythons[python]) == ON_LINUX[python]
        assert (checked.code, checked.out.splitlines()[-1]) == (0, "In sync."), checked
        assert checked_json.code == 0, checked_json
        this = {"python": python, "platform": "linux-x86_64"}
        for report in (applied, plan, checked_json):
            assert json.loads(report.out)["data"]["target"] == this, report
    assert "oldpy" not in installed(pythons["3.12"])
    assert (project / "pylock.toml").read_bytes() == locked["pip-tools"].lock.read_bytes()


# -- export for another target -----------------------------------------------------------------


def test_export_for_windows_gives_its_packages_with_hashes_pip_accepts(
    locked: dict[str, Locked],
    platform_index: PackageIndex,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    windows = target("3.12", "windows-x86_64")
    out = tmp_path / "windows.txt"

    result = envsync(
        capsys,
        "export",
        "--platform",
        "windows-x86_64",
        "--python",
        "3.12",
        "-o",
        str(out),
        project=locked["pip-tools"].root,
    )

    assert result.code == 0, result
    assert result.out == f"Exported 6 package(s) to {out}\n"
    pins = dict(re.findall(r"^([a-z0-9-]+)==(\S+)", out.read_text("utf-8"), flags=re.MULTILINE))
    assert pins == selected(locked["pip-tools"].lock, windows)
    assert pins == {
        "app": "1.0",
        "clihelper": "1.0",
        "modern": "2.0",
        "native": "1.0",
        "toolkit": "1.0",
        "winonly": "1.0",
    }
    # What a Windows machine's pip would fetch, hash-checked: its own wheel of native.
    download = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes"]
    windows_only = ["--only-binary=:all:", "--platform=win_amd64", "--python-version=3.12"]
    windows_only += ["--implementation=cp", "--abi=cp312", "--index-url", platform_index.url]
    fetched = subprocess.run(
        [*download, *windows_only, "--dest", str(tmp_path / "wheels"), "-r", str(out)],
        env=isolated_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert fetched.returncode == 0, fetched.stderr
    assert sorted(p.name for p in (tmp_path / "wheels").iterdir()) == [
        "app-1.0-py3-none-any.whl",
        "clihelper-1.0-py3-none-any.whl",
        "modern-2.0-py3-none-any.whl",
        "native-1.0-py3-none-win_amd64.whl",
        "toolkit-1.0-py3-none-any.whl",
        "winonly-1.0-py3-none-any.whl",
    ]


@pytest.mark.parametrize(
    ("options", "error"),
    [
        pytest.param(
            ("--platform", "windows-x86_64"),
            "error: --platform windows-x86_64 fits 2 of the lock's targets "
            "(Python 3.11 and 3.12 on windows-x86_64)\n"
            "hint: pass --python as well\n",
            id="two-pythons-fit",
        ),
        pytest.param(
            ("--platform", "linux-aarch64"),
            "error: pylock.toml has no target --platform linux-aarch64: it is for "
            "Python 3.11 and 3.12 on linux-x86_64, macos-arm64, windows-x86_64\n"
            "hint: pass one of its targets, or add that target to env.toml's [lock] and relock\n",
            id="unknown-platform",
        ),
        pytest.param(
            ("--platform", "windows-x86_64", "--python", "3.13"),
            "error: pylock.toml has no target --platform windows-x86_64 --python 3.13: it is "
            "for Python 3.11 and 3.12 on linux-x86_64, macos-arm64, windows-x86_64\n"
            "hint: pass one of its targets, or add that target to env.toml's [lock] and relock\n",
            id="unknown-python",
        ),
    ],
)
def test_export_for_a_target_the_lock_cannot_tell_names_its_targets(
    options: tuple[str, ...],
    error: str,
    locked: dict[str, Locked],
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = envsync(capsys, "export", *options, project=locked["pip-tools"].root)

    assert (result.code, result.out, result.err) == (1, "", error)
