"""A lock for several targets as it changes, and on a machine it does not serve (issue 11).

Adding a platform resolves only the new target and leaves the others' part of the lock as
it was; a relock keeps every target's pins, ``--upgrade-package`` moves one on all of them;
a lock may serve only other machines, and then every command that would install from it
here says so, naming the key to add; a target with no file for a package fails the lock.
The projects ask the platform index (`support.platformindex`) for ``app[cli]`` and ``dev``.
"""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from envsync.resolve.uv import find_uv

from helpers import envsync, snapshot
from support import isolated_env, platformindex, tree_digest
from support.multitarget import (
    ON_LINUX_X86_64,
    chosen_files,
    installed,
    make_venv,
    progress,
    selected,
    target,
    uv_env,
    write_lock_spec,
)
from support.pkgindex import PackageIndex
from support.wheels import build_wheel

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = [pytest.mark.e2e, ON_LINUX_X86_64]

#: This machine's Python: the lock's by default, and the one a new venv is made with.
HERE = f"{sys.version_info[0]}.{sys.version_info[1]}"
LOOKING = "Looking for a Python matching >=3.11..."


@pytest.fixture(scope="module", autouse=True)
def _uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UV_CACHE_DIR", str(tmp_path_factory.mktemp("uv-cache")))
        yield


@pytest.fixture
def own_index(tmp_path: Path) -> Iterator[PackageIndex]:
    """The platform index's packages on an index of this test's own, to publish to."""
    root = tmp_path / "index"
    platformindex.populate(root)
    with PackageIndex(root) as index:
        yield index


def publish(
    index: PackageIndex, where: Path, name: str, version: str, extras: dict[str, list[str]]
) -> None:
    """Build a pure-Python wheel of *name* *version* (with *extras*) and put it on *index*."""
    index.add(build_wheel(where, name, version, extras=extras))


# -- adding a target ---------------------------------------------------------------------------


@pytest.mark.fastpath
def test_adding_a_platform_resolves_only_the_new_target_and_lists_its_packages(
    platform_index: PackageIndex, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    linux, windows = target("3.12", "linux-x86_64"), target("3.12", "windows-x86_64")
    lock = tmp_path / "pylock.toml"
    options = {"python_versions": ["3.12"]}
    write_lock_spec(tmp_path, platform_index.url, platforms=["linux-x86_64"], **options)
    first = envsync(capsys, "lock", project=tmp_path)
    assert first.code == 0, first
    linux_part = chosen_files(lock, linux, ["dev"])

    write_lock_spec(
        tmp_path, platform_index.url, platforms=["linux-x86_64", "windows-x86_64"], **options
    )
    added = envsync(capsys, "lock", project=tmp_path)
    again = envsync(capsys, "lock", project=tmp_path)

    assert added.code == 0, added
    assert added.err.splitlines() == [
        LOOKING,
        (
            "Relocking: pylock.toml is for Python 3.12 on linux-x86_64, and env.toml's targets "
            "are Python 3.12 on linux-x86_64, windows-x86_64..."
        ),
        "Resolving 3 requirement(s) for Python 3.12 on windows-x86_64...",
    ]
    assert added.out == (
        "pylock.toml updated: 8 package(s) for Python 3.12 on linux-x86_64, windows-x86_64\n"
        "  Python 3.12 on windows-x86_64 (new target):\n"
        "    + app 1.0\n"
        "    + clihelper 1.0\n"
        "    + modern 2.0\n"
        "    + native 1.0\n"
        "    + toolkit 1.0\n"
        "    + winonly 1.0\n"
    )
    assert chosen_files(lock, linux, ["dev"]) == linux_part
    assert selected(lock, windows)["native"] == "1.0"
    # Nothing changed since: the lock is left alone, and no change is told twice.
    assert (again.code, again.err) == (0, "")
    assert again.out == (
        "pylock.toml is up to date: 8 package(s) for Python 3.12 on linux-x86_64, windows-x86_64\n"
    )


# -- pins ------------------------------------------------------------------------------------


def test_a_relock_keeps_every_targets_pins_and_upgrade_package_moves_one_everywhere(
    own_index: PackageIndex, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "project"
    grid = {"python_versions": ["3.11", "3.12"], "platforms": ["linux-x86_64", "windows-x86_64"]}
    targets = [target(py, p) for py in grid["python_versions"] for p in grid["platforms"]]
    write_lock_spec(project, own_index.url, **grid)
    first = envsync(capsys, "lock", project=project)
    assert first.code == 0, first
    lock = project / "pylock.toml"
    before = {t: selected(lock, t) for t in targets}
    # New releases, and env.toml changed: every target is resolved again, keeping its pins.
    publish(own_index, tmp_path, "toolkit", "1.1", {"speed": ['speedup; sys_platform == "linux"']})
    publish(own_index, tmp_path, "clihelper", "1.1", {})
    write_lock_spec(
        project, own_index.url, groups={"dev": ["clihelper"], "docs": ["winonly"]}, **grid
    )

    relocked = envsync(capsys, "lock", project=project)

    assert relocked.code == 0, relocked
    assert len(progress(relocked.err)) == len(targets)
    assert "Letting go" not in relocked.err
    assert {t: selected(lock, t) for t in targets} == before
    assert relocked.out.endswith("  Python 3.11 and 3.12 on linux-x86_64:\n    + winonly 1.0\n"), (
        relocked.out
    )

    upgraded = envsync(capsys, "lock", "--upgrade-package", "toolkit", project=project)

    assert upgraded.code == 0, upgraded
    assert len(progress(upgraded.err)) == len(targets)
    for t in targets:
        assert selected(lock, t) == {**before[t], "toolkit": "1.1"}, t
    assert upgraded.out == (
        "pylock.toml updated: 10 package(s) for Python 3.11 and 3.12 on linux-x86_64, "
        "windows-x86_64\n"
        "  Python 3.11 and 3.12 on linux-x86_64, windows-x86_64:\n"
        "    ~ toolkit 1.0 -> 1.1\n"
    )


# -- a lock that serves other machines only ------------------------------------------------


def test_a_lock_for_other_machines_only_is_written_and_refused_here_naming_the_key(
    platform_index: PackageIndex, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_lock_spec(tmp_path, platform_index.url, platforms=["windows-x86_64"])
    make_venv(tmp_path / ".venv", HERE)
    locked = envsync(capsys, "lock", project=tmp_path)
    assert locked.code == 0, locked
    assert locked.out.startswith("pylock.toml written: ")
    assert locked.out.endswith(f" package(s) for Python {HERE} on windows-x86_64\n")
    before = snapshot(tmp_path), tree_digest(tmp_path / ".venv")
    served = (
        f"error: pylock.toml is for Python {HERE} on windows-x86_64, not for this machine "
        f"(Python {HERE} on linux-x86_64)\n"
        'hint: add "linux-x86_64" to platforms in env.toml\'s [lock] and run `envsync lock`\n'
    )

    for command in (["apply", "--frozen"], ["check"], ["export"]):
        result = envsync(capsys, *command, project=tmp_path)
        assert (result.code, result.out, result.err) == (1, "", served), result
    plain = envsync(capsys, "apply", project=tmp_path)

    assert (plain.code, plain.out) == (1, ""), plain
    assert plain.err == (
        f"error: this machine (Python {HERE} on linux-x86_64) is not a target of env.toml's "
        f"[lock] (Python {HERE} on windows-x86_64), so the lock cannot serve it\n"
        'hint: add "linux-x86_64" to platforms in env.toml\'s [lock]\n'
    )
    assert (snapshot(tmp_path), tree_digest(tmp_path / ".venv")) == before
    # Other installers read the same `environments` and refuse the lock here too.
    lock = tmp_path / "pylock.toml"
    uv, python = find_uv(), make_venv(tmp_path / "other", HERE)
    assert uv is not None
    with_uv = [str(uv), "pip", "sync", "--python", str(python), str(lock)]
    with_pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index"]
    for argv, env, says in [
        (with_uv, uv_env(tmp_path / "uv-cache"), "not supported by the lockfile"),
        ([*with_pip, "-r", str(lock)], isolated_env(), "does not satisfy any of the environments"),
    ]:
        refused = subprocess.run(
            argv, env=env, capture_output=True, text=True, check=False, timeout=120
        )
        assert refused.returncode != 0, refused.stdout
        assert says in refused.stderr, refused.stderr
    assert installed(python) == {}


# -- no file to install --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resolver", "first_line", "says"),
    [
        pytest.param(
            "pip-tools",
            "no version of linuxonly from the configured indexes has a wheel for "
            "Python 3.12 on windows-x86_64",
            "drop it from [lock] platforms",
            id="pip-tools",
        ),
        pytest.param(
            "uv",
            "uv pip compile failed for Python 3.12 on windows-x86_64:",
            "Because linuxonly==1.0 has no wheels with a matching platform tag (e.g., `win_amd64`)",
            id="uv",
        ),
    ],
)
def test_a_package_without_a_file_for_a_target_fails_the_lock_naming_both(
    resolver: str,
    first_line: str,
    says: str,
    platform_index: PackageIndex,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_lock_spec(
        tmp_path,
        platform_index.url,
        platforms=["linux-x86_64", "windows-x86_64"],
        python_versions=["3.12"],
        dependencies=["app[cli]", "linuxonly"],
        resolver=None if resolver == "pip-tools" else resolver,
    )

    result = envsync(capsys, "lock", project=tmp_path)

    assert (result.code, result.out) == (1, ""), result
    message = result.err.split("error: ", 1)[1]
    assert message.splitlines()[0] == first_line
    assert says in message
    assert not (tmp_path / "pylock.toml").exists()


def test_a_new_venv_is_made_from_a_python_the_lock_serves(
    platform_index: PackageIndex, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # [env] python = ">=3.11" lets this machine's 3.11 make the venv; [lock] serves 3.12 only,
    # so the venv is made from a 3.12 (and gets 3.12's packages: modern 2.0, no oldpy).
    write_lock_spec(tmp_path, platform_index.url, python_versions=["3.12"])

    result = envsync(capsys, "apply", project=tmp_path)

    assert result.code == 0, result
    python = tmp_path / ".venv" / "bin" / "python"
    version = subprocess.run(
        [str(python), "-c", "import sys; print(*sys.version_info[:2], sep='.')"],
        capture_output=True, text=True, check=True, env=isolated_env(), timeout=60,
    ).stdout.strip()  # fmt: skip
    assert version == "3.12"
    packages = installed(python)
    assert packages["modern"] == "2.0"
    assert "oldpy" not in packages
