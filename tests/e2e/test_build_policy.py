"""``[env] build = false``: wheels only, so no package's build code ever runs.

The test index's sdists have an in-tree build backend that notes every hook it runs in
$ENVSYNC_TEST_BUILD_MARKER: the file's absence proves that no build code ran.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import tomli_w

from envsync.resolve.uv import find_uv

from helpers import envsync_process, lock_packages, venv_packages

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e


def write(root: Path, deps: list[str], index: PackageIndex, **env: object) -> None:
    data = {"env": {"dependencies": deps, **env}, "index": {"url": index.url}}
    (root / "env.toml").write_text(tomli_w.dumps(data), "utf-8")


@pytest.fixture(autouse=True)
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the sdists' backend notes every hook it runs (envsync's processes inherit it)."""
    monkeypatch.setenv("ENVSYNC_TEST_BUILD_MARKER", str(tmp_path / "built.txt"))
    return tmp_path / "built.txt"


def test_the_marker_shows_build_code_running_when_building_is_allowed(
    tmp_path: Path, package_index: PackageIndex
) -> None:
    write(tmp_path, ["sdist-only"], package_index)
    assert envsync_process(tmp_path, "apply").returncode == 0
    assert "sdist-only" in (tmp_path / "built.txt").read_text()
    # The lock says so: an sdist and no wheel.
    locked = lock_packages(tmp_path)["sdist-only"]
    assert "sdist" in locked
    assert "wheels" not in locked


RESOLVERS = [
    "pip-tools",
    pytest.param("uv", marks=pytest.mark.skipif(find_uv() is None, reason="needs uv")),
]


@pytest.fixture(params=RESOLVERS)
def wheels_only(
    request: pytest.FixtureRequest, tmp_path: Path, package_index: PackageIndex
) -> Callable[[list[str]], None]:
    """Writes env.toml with these dependencies, build = false, for each resolver in turn."""
    resolver = request.param

    def write_wheels_only(deps: list[str]) -> None:
        write(tmp_path, deps, package_index, build=False, resolver=resolver)

    return write_wheels_only


def test_wheels_only_locks_and_installs_without_building(
    tmp_path: Path, wheels_only: Callable[[list[str]], None]
) -> None:
    wheels_only(["alpha", "gamma"])
    done = envsync_process(tmp_path, "apply")
    assert done.returncode == 0, done.stderr
    assert venv_packages(tmp_path) == {"alpha": "2.0", "beta": "2.0", "gamma": "1.0"}
    assert not (tmp_path / "built.txt").exists()


def test_locking_a_package_that_has_only_an_sdist_fails_without_building_it(
    tmp_path: Path, wheels_only: Callable[[list[str]], None]
) -> None:
    wheels_only(["alpha", "sdist-only"])
    failed = envsync_process(tmp_path, "lock")
    assert failed.returncode == 1
    assert "sdist-only" in failed.stderr
    assert "build = false" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert not (tmp_path / "pylock.toml").exists()
    assert not (tmp_path / "built.txt").exists()


def test_installing_a_locked_sdist_is_refused_before_anything_changes(
    tmp_path: Path, package_index: PackageIndex
) -> None:
    write(tmp_path, ["alpha==1.0", "sdist-only"], package_index)
    assert envsync_process(tmp_path, "lock").returncode == 0
    (tmp_path / "built.txt").unlink()
    write(tmp_path, ["alpha==1.0", "sdist-only"], package_index, build=False)

    failed = envsync_process(tmp_path, "apply", "--frozen")

    assert failed.returncode == 1
    assert "sdist-only can only be installed by building it from source" in failed.stderr
    assert "build = false" in failed.stderr
    assert not (tmp_path / "built.txt").exists()
    assert not (tmp_path / ".venv").exists()  # the venv this run made is gone again


def test_a_local_folder_source_is_refused_with_build_false(
    tmp_path: Path, package_index: PackageIndex
) -> None:
    data = {
        "env": {"dependencies": ["mine"], "build": False},
        "index": {"url": package_index.url},
        "sources": {"mine": {"path": "./mine"}},
    }
    (tmp_path / "env.toml").write_text(tomli_w.dumps(data), "utf-8")
    failed = envsync_process(tmp_path, "lock")
    assert failed.returncode == 1
    assert "sources.mine" in failed.stderr
    assert "build = false" in failed.stderr
