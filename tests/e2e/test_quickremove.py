"""An env.toml that only lost requirements, applied before packaging is imported: as in full.

Twin projects against the local index: each is applied by the full path first (which keeps
the recipe), then the same requirements go from both. One twin is applied with packaging,
filelock, the installer and the lock machinery made to fail on import, which only the
pure-removal fast path survives; the other with ENVSYNC_FASTPATH=0. Their output, lock bytes
and venvs must be the same. Anything the fast path cannot vouch for makes it decline.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from envsync.usecases import nochange, quickremove
from envsync.venv import lockname

from helpers import envsync_process, lock_packages, lock_versions, venv_packages, write_spec
from support import isolated_env

if TYPE_CHECKING:
    from support.pkgindex import PackageIndex

pytestmark = [pytest.mark.e2e, pytest.mark.fastpath]

#: What the removal path must not import: a run with these made to fail still succeeds.
HEAVY = (
    "packaging",
    "filelock",
    "installer",
    "envsync.usecases.apply",
    "envsync.core.lockfile",
    "envsync.resolve",
)
NO_CHANGES = "No changes. The environment matches the lock.\n"


def _apply(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = envsync_process(project, "apply", *args)
    assert result.returncode == 0, result.stderr
    return result


def _full(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = envsync_process(project, "apply", *args, env={"ENVSYNC_FASTPATH": "0"})
    assert result.returncode == 0, result.stderr
    return result


def _without_heavy(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``apply`` with HEAVY made to fail on import: only the fast path gets through."""
    blocked = "".join(f"sys.modules[{name!r}] = None\n" for name in HEAVY)
    argv = ["apply", *args, "--spec", str(project / "env.toml")]
    code = f"import sys\n{blocked}from envsync.cli import main\nsys.exit(main({argv!r}))\n"
    return subprocess.run(
        [sys.executable, "-c", code],
        env=isolated_env(env),
        capture_output=True,
        text=True,
        check=False,
    )


def _twins(tmp_path: Path, url: str, deps: list[str], **spec: object) -> tuple[Path, Path]:
    """Two projects of the same env.toml, each applied by the full path."""
    fast, full = tmp_path / "fast", tmp_path / "full"
    for project in (fast, full):
        project.mkdir()
        write_spec(project, deps, index_url=url, **spec)  # type: ignore[arg-type]
    return fast, full


def _applied(tmp_path: Path, url: str, deps: list[str], **spec: object) -> Path:
    """A project of *deps* (and *spec*), applied by the full path: a recipe is kept."""
    project = tmp_path / "p"
    project.mkdir()
    write_spec(project, deps, index_url=url, **spec)  # type: ignore[arg-type]
    _apply(project)
    return project


def _same(fast: Path, full: Path, done: subprocess.CompletedProcess[str], made: object) -> None:
    assert isinstance(made, subprocess.CompletedProcess)
    assert done.returncode == 0, done.stderr
    assert done.stdout.replace(str(fast), "P") == made.stdout.replace(str(full), "P")
    assert done.stderr == made.stderr
    assert (fast / "pylock.toml").read_bytes() == (full / "pylock.toml").read_bytes()
    assert venv_packages(fast) == venv_packages(full)


def test_a_removal_is_applied_without_packaging_as_the_full_path_applies_it(
    tmp_path: Path, package_index: PackageIndex, own_cache: Path
) -> None:
    fast, full = _twins(tmp_path, package_index.url, ["alpha", "theta", "cli-tool"])
    for project in (fast, full):
        _apply(project)
        write_spec(project, ["theta", "cli-tool"], index_url=package_index.url)

    done = _without_heavy(fast)

    _same(fast, full, done, _full(full))
    assert "- alpha 2.0" in done.stdout
    assert "- beta 2.0" in done.stdout
    assert venv_packages(fast) == {"theta": "1.0", "cli-tool": "1.0"}
    assert lock_versions(fast) == {"theta": "1.0", "cli-tool": "1.0"}
    assert envsync_process(fast, "check").returncode == 0
    assert _apply(fast).stdout == NO_CHANGES  # the state it wrote vouches for the venv
    assert envsync_process(fast, "lock").stdout == envsync_process(full, "lock").stdout


def test_removals_in_a_row_each_take_the_fast_path(
    tmp_path: Path, package_index: PackageIndex, own_cache: Path
) -> None:
    fast, full = _twins(tmp_path, package_index.url, ["alpha", "theta", "cli-tool", "gamma"])
    for project in (fast, full):
        _apply(project)
    for left in (["theta", "cli-tool", "gamma"], ["theta", "gamma"], ["gamma"]):
        for project in (fast, full):
            write_spec(project, left, index_url=package_index.url)
        _same(fast, full, _without_heavy(fast), _full(full))
    assert venv_packages(fast) == {"gamma": "1.0"}


def test_a_removal_from_a_group_the_venv_holds(
    tmp_path: Path, package_index: PackageIndex, own_cache: Path
) -> None:
    groups = {"dev": ["alpha", "cli-tool"], "docs": ["gamma"]}
    fast, full = _twins(tmp_path, package_index.url, ["theta"], groups=groups)
    for project in (fast, full):
        _apply(project, "--group", "dev")  # remembered: a plain apply means the same
        write_spec(
            project, ["theta"], index_url=package_index.url, groups={**groups, "dev": ["cli-tool"]}
        )
    done = _without_heavy(fast)
    _same(fast, full, done, _full(full))
    assert venv_packages(fast) == {"theta": "1.0", "cli-tool": "1.0"}


def _flip_lock(project: Path) -> None:
    lock = project / "pylock.toml"
    lock.write_bytes(
        lock.read_bytes().replace(b'created-by = "envsync"', b'created-by = "envsynC"')
    )


def _flip_recipe(project: Path) -> None:
    spec = str(project / "env.toml")
    recipe = quickremove.path_of(spec, nochange.lock_sha256(spec))
    with open(recipe, "r+b") as fh:  # noqa: PTH123
        data = bytearray(fh.read())
        data[-3] ^= 0x01
        fh.seek(0)
        fh.write(data)


def _drop_a_dist(project: Path) -> None:
    site = next((project / ".venv" / "lib").glob("python*/site-packages"))
    theta = next(site.glob("theta-*.dist-info"))
    (theta / "INSTALLER").write_text("someone else\n")
    (theta / "INSTALLER").rename(theta / "INSTALLER.moved")  # the listing's mtime changes


def _also_add(project: Path, url: str) -> None:
    write_spec(project, ["theta", "delta"], index_url=url)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda p, *_: _flip_lock(p), id="a lock byte"),
        pytest.param(lambda p, *_: _flip_recipe(p), id="a recipe byte"),
        pytest.param(lambda p, *_: _drop_a_dist(p), id="the venv changed"),
        pytest.param(_also_add, id="a requirement added too"),
    ],
)
def test_what_the_recipe_cannot_vouch_for_takes_the_full_path(
    tmp_path: Path, package_index: PackageIndex, own_cache: Path, change: object
) -> None:
    project = _applied(tmp_path, package_index.url, ["alpha", "theta"])
    write_spec(project, ["theta"], index_url=package_index.url)
    assert callable(change)
    change(project, package_index.url)

    assert quickremove.removed(str(project / "env.toml"), {}) is None
    assert _without_heavy(project).returncode != 0  # the full path needs what is blocked
    result = _apply(project)
    assert "Relocking" in result.stderr
    assert envsync_process(project, "check").returncode == 0


def test_a_package_whose_groups_change_takes_the_full_path(
    tmp_path: Path, package_index: PackageIndex, own_cache: Path
) -> None:
    # beta is main's (through alpha) and dev's own: without alpha, only dev's. Its marker
    # changes, which only the full lock machinery writes.
    project = _applied(tmp_path, package_index.url, ["alpha"], groups={"dev": ["beta"]})
    write_spec(project, [], index_url=package_index.url, groups={"dev": ["beta"]})

    assert quickremove.removed(str(project / "env.toml"), {}) is None
    _apply(project)
    assert lock_packages(project)["beta"]["marker"] == '"dev" in dependency_groups'
    assert "alpha" not in lock_packages(project)
    assert venv_packages(project) == {}


def test_a_removal_killed_part_way_is_put_right_by_the_next_apply(
    tmp_path: Path, package_index: PackageIndex, own_cache: Path
) -> None:
    project = _applied(tmp_path, package_index.url, ["alpha", "theta", "cli-tool"])
    lock_before = (project / "pylock.toml").read_bytes()
    write_spec(project, ["theta"], index_url=package_index.url)

    fault = {"ENVSYNC_FAULT": "moving-aside:2", "ENVSYNC_FAULT_SIGNAL": "KILL"}
    killed = _without_heavy(project, env=fault)  # killed on the fast path: the full is blocked

    assert killed.returncode == -9, killed.stderr
    assert (project / "pylock.toml").read_bytes() == lock_before  # the lock comes last
    result = _apply(project)
    assert "undid the changes of an apply that was interrupted" in result.stderr
    assert venv_packages(project) == {"theta": "1.0"}
    assert lock_versions(project) == {"theta": "1.0"}
    assert envsync_process(project, "check").returncode == 0


def test_the_recipe_holds_its_own_hash_and_nothing_of_the_venv_but_names(
    tmp_path: Path, package_index: PackageIndex, own_cache: Path
) -> None:
    project = _applied(tmp_path, package_index.url, ["alpha"])
    spec = str(project / "env.toml")
    kept = Path(quickremove.path_of(spec, nochange.lock_sha256(spec))).read_text("utf-8")
    digest, _, body = kept.partition("\n")
    recipe = json.loads(body)
    assert len(digest) == 64
    assert recipe["selected"] == ["alpha", "beta"]
    assert sorted(recipe["folders"]) == ["alpha", "beta"]


def test_the_one_recipe_older_caches_kept_goes_when_a_recipe_is_kept(
    tmp_path: Path, package_index: PackageIndex, own_cache: Path
) -> None:
    # Before recipes were kept per lock, each env.toml had one, beside its lock state.
    project = tmp_path / "p"
    project.mkdir()
    write_spec(project, ["alpha"], index_url=package_index.url)
    spec = str(project / "env.toml")
    legacy = Path(quickremove.legacy_path(spec))
    legacy.parent.mkdir(parents=True, exist_ok=True)
    legacy.write_text("0" * 64 + '\n{"format": 1}\n', "utf-8")
    other = legacy.with_name("another-env.prune.json")  # another env.toml's: left alone
    other.write_text("kept\n", "utf-8")

    _apply(project)

    assert Path(quickremove.path_of(spec, nochange.lock_sha256(spec))).is_file()
    assert not legacy.exists()
    assert other.read_text("utf-8") == "kept\n"


def test_a_lock_for_two_platforms_loses_the_same_packages_on_both(
    tmp_path: Path, package_index: PackageIndex, own_cache: Path
) -> None:
    platforms = '\n[lock]\nplatforms = ["linux-x86_64", "macos-arm64"]\n'
    fast, full = _twins(tmp_path, package_index.url, ["alpha", "theta"])
    for project in (fast, full):
        spec = project / "env.toml"
        spec.write_text(spec.read_text() + platforms)
        _apply(project)
        write_spec(project, ["theta"], index_url=package_index.url)
        spec.write_text(spec.read_text() + platforms)

    done = _without_heavy(fast)

    _same(fast, full, done, _full(full))
    assert "Python 3.11 on linux-x86_64, macos-arm64:" in done.stdout


def test_a_venv_another_run_holds_takes_the_full_path(
    tmp_path: Path, package_index: PackageIndex, own_cache: Path
) -> None:
    project = _applied(tmp_path, package_index.url, ["alpha", "theta"])
    write_spec(project, ["theta"], index_url=package_index.url)
    spec = str(project / "env.toml")

    with lockname.held(str(project / ".venv")) as mine:  # as another run would hold it
        assert mine
        assert quickremove.removed(spec, {}) is None
    assert venv_packages(project) == {"alpha": "2.0", "beta": "2.0", "theta": "1.0"}
    done = quickremove.removed(spec, {})  # let go: now it answers
    assert done is not None
    assert [name for name, _ in done.gone] == ["alpha", "beta"]
    assert venv_packages(project) == {"theta": "1.0"}


def test_locked_refuses_and_frozen_keeps_the_lock_as_the_full_path_does(
    tmp_path: Path, package_index: PackageIndex, own_cache: Path
) -> None:
    project = _applied(tmp_path, package_index.url, ["alpha", "theta"])
    lock = (project / "pylock.toml").read_bytes()
    for mode in ("--locked", "--frozen"):
        _apply(project, mode)  # the recipe is kept for this command line too
        write_spec(project, ["theta"], index_url=package_index.url)

        result = envsync_process(project, "apply", mode)

        assert (project / "pylock.toml").read_bytes() == lock
        assert venv_packages(project) == {"alpha": "2.0", "beta": "2.0", "theta": "1.0"}
        if mode == "--locked":
            assert result.returncode != 0
            assert "the lock is out of date" in result.stderr
        else:
            assert result.returncode == 0, result.stderr
        write_spec(project, ["alpha", "theta"], index_url=package_index.url)


def test_a_removal_after_a_replay_still_takes_the_fast_path(
    tmp_path: Path, package_index: PackageIndex, own_cache: Path
) -> None:
    fast, full = _twins(tmp_path, package_index.url, ["alpha", "theta"])
    for project in (fast, full):
        _apply(project)
        _replay(project)
        write_spec(project, ["theta"], index_url=package_index.url)

    _same(fast, full, _without_heavy(fast), _full(full))
    assert venv_packages(fast) == {"theta": "1.0"}


def _replay(project: Path) -> None:
    """The venv deleted, and made again by the replay path."""
    shutil.rmtree(project / ".venv")
    assert "as this lock's last fresh apply installed them" in _apply(project).stderr


def test_a_lock_put_back_and_replayed_keeps_its_recipe(
    tmp_path: Path, package_index: PackageIndex, own_cache: Path
) -> None:
    # Lock A, then a removal (lock B, its own recipe), then A put back as a branch switch
    # puts it back, and its venv made again by the replay path: A's recipe still answers.
    fast, full = _twins(tmp_path, package_index.url, ["alpha", "theta", "cli-tool"])
    for project in (fast, full):
        _apply(project)
        kept = {name: (project / name).read_bytes() for name in ("env.toml", "pylock.toml")}
        write_spec(project, ["theta", "cli-tool"], index_url=package_index.url)
        _apply(project)
        for name, data in kept.items():
            (project / name).write_bytes(data)
        _replay(project)
        write_spec(project, ["theta"], index_url=package_index.url)

    _same(fast, full, _without_heavy(fast), _full(full))
    assert venv_packages(fast) == {"theta": "1.0"}
    assert lock_versions(fast) == {"theta": "1.0"}
