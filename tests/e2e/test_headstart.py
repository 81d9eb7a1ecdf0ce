"""A relock's resolver started before the full path loads, and taken over only when exact.

Twin projects against the local index: each is locked first (which keeps the recipe of the
next relock), then the same requirement is added to both. One twin relocks as a user runs
it, the other with ENVSYNC_FASTPATH=0 (no run started ahead): their output and lock bytes
must be the same, and where the run started ahead was right, pip-compile ran once.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from envsync.resolve import ahead as ahead_module
from envsync.system import process
from envsync.usecases import headstart

from helpers import envsync, envsync_process, lock_versions, venv_packages, write_spec

if TYPE_CHECKING:
    import subprocess

    from support.pkgindex import PackageIndex

pytestmark = [pytest.mark.e2e, pytest.mark.fastpath]


class Seen:
    """What the run did with the resolver: runs started ahead, taken over, started anew."""

    def reset(self) -> None:
        self.started = 0
        self.taken: list[bool] = []
        self.compiles = 0

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real_init, real_take, real_run = (
            ahead_module.Ahead.__init__,
            ahead_module.Ahead.take,
            process.run,
        )

        def init(ahead: ahead_module.Ahead, *args: Any) -> None:
            self.started += 1
            real_init(ahead, *args)

        def take(ahead: ahead_module.Ahead, *args: Any) -> subprocess.CompletedProcess[str] | None:
            found = real_take(ahead, *args)
            self.taken.append(found is not None)
            return found

        def run(argv: Any, **kwargs: Any) -> subprocess.CompletedProcess[str]:
            self.compiles += any("piptools" in str(arg) for arg in argv)
            return real_run(argv, **kwargs)

        self.reset()
        monkeypatch.setattr(ahead_module.Ahead, "__init__", init)
        monkeypatch.setattr(ahead_module.Ahead, "take", take)
        monkeypatch.setattr(process, "run", run)


def _twins(tmp_path: Path, url: str, deps: list[str]) -> tuple[Path, Path]:
    fast, full = tmp_path / "fast", tmp_path / "full"
    for project in (fast, full):
        project.mkdir()
        write_spec(project, deps, index_url=url)
    return fast, full


def _full_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], project: Path, *args: str
) -> Any:
    with monkeypatch.context() as patch:
        patch.setenv("ENVSYNC_FASTPATH", "0")
        return envsync(capsys, *args, project=project)


def _same(fast: Path, full: Path, done: Any, made: Any) -> None:
    assert done.code == made.code
    assert done.out.replace(str(fast), "P") == made.out.replace(str(full), "P")
    assert done.err.replace(str(fast), "P") == made.err.replace(str(full), "P")
    assert (fast / "pylock.toml").read_bytes() == (full / "pylock.toml").read_bytes()


def _no_folders_left(cache: Path) -> None:
    assert not (cache / "ahead").exists() or list((cache / "ahead").iterdir()) == []


def test_a_relock_takes_over_the_run_started_ahead_and_writes_the_same_lock(
    tmp_path: Path,
    package_index: PackageIndex,
    own_cache: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast, full = _twins(tmp_path, package_index.url, ["alpha"])
    assert envsync(capsys, "lock", project=fast).code == 0
    assert _full_run(monkeypatch, capsys, full, "lock").code == 0
    for project in (fast, full):
        write_spec(project, ["alpha", "theta"], index_url=package_index.url)
    seen = Seen(monkeypatch)

    done = envsync(capsys, "lock", project=fast)

    assert (seen.started, seen.taken, seen.compiles) == (1, [True], 0)
    _same(fast, full, done, _full_run(monkeypatch, capsys, full, "lock"))
    assert "+ theta 1.0" in done.out
    assert lock_versions(fast) == {"alpha": "2.0", "beta": "2.0", "theta": "1.0"}
    _no_folders_left(own_cache)


def test_apply_after_an_addition_installs_from_the_run_started_ahead(
    tmp_path: Path,
    package_index: PackageIndex,
    own_cache: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast, full = _twins(tmp_path, package_index.url, ["alpha"])
    assert envsync(capsys, "apply", project=fast).code == 0
    assert _full_run(monkeypatch, capsys, full, "apply").code == 0
    for project in (fast, full):
        write_spec(project, ["alpha", "theta"], index_url=package_index.url)
    seen = Seen(monkeypatch)

    done = envsync(capsys, "apply", project=fast)

    assert (seen.started, seen.taken, seen.compiles) == (1, [True], 0)
    _same(fast, full, done, _full_run(monkeypatch, capsys, full, "apply"))
    wanted = {"alpha": "2.0", "beta": "2.0", "theta": "1.0"}
    assert venv_packages(fast) == venv_packages(full) == wanted
    # And the relock after it starts ahead again, from the recipe of the lock it wrote.
    for project in (fast, full):
        write_spec(project, ["alpha", "theta", "gamma"], index_url=package_index.url)
    seen.reset()
    done = envsync(capsys, "apply", project=fast)
    assert (seen.started, seen.taken, seen.compiles) == (1, [True], 0)
    _same(fast, full, done, _full_run(monkeypatch, capsys, full, "apply"))
    _no_folders_left(own_cache)


def test_a_setting_changed_since_the_recipe_throws_the_early_run_away(
    tmp_path: Path,
    package_index: PackageIndex,
    own_cache: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast, full = _twins(tmp_path, package_index.url, ["alpha"])
    assert envsync(capsys, "lock", project=fast).code == 0
    assert _full_run(monkeypatch, capsys, full, "lock").code == 0
    for project in (fast, full):
        write_spec(project, ["alpha", "theta"], index_url=package_index.url)
    # pip-compile's timeout follows ENVSYNC_HTTP_TIMEOUT: the recipe's environment is stale.
    monkeypatch.setenv("ENVSYNC_HTTP_TIMEOUT", "77")
    seen = Seen(monkeypatch)

    done = envsync(capsys, "lock", project=fast)

    assert (seen.started, seen.taken, seen.compiles) == (1, [False], 1)
    _same(fast, full, done, _full_run(monkeypatch, capsys, full, "lock"))
    _no_folders_left(own_cache)


@pytest.mark.parametrize(
    ("then", "args"),
    [
        (["alpha"], ("lock",)),  # nothing changed
        ([], ("lock",)),  # a removal: pruned without a resolver
        (["alpha", "theta"], ("lock", "--upgrade")),  # not a command line the fast path reads
        (["alpha", "theta"], ("apply", "--frozen")),  # never relocks
    ],
)
def test_no_run_starts_where_no_relock_would_repeat_it(
    tmp_path: Path,
    package_index: PackageIndex,
    own_cache: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    then: list[str],
    args: tuple[str, ...],
) -> None:
    project = tmp_path / "p"
    project.mkdir()
    write_spec(project, ["alpha"], index_url=package_index.url)
    assert envsync(capsys, "lock", project=project).code == 0
    write_spec(project, then, index_url=package_index.url)
    seen = Seen(monkeypatch)

    envsync(capsys, *args, project=project)

    assert seen.started == 0


def test_a_changed_byte_of_the_recipe_starts_nothing(
    tmp_path: Path,
    package_index: PackageIndex,
    own_cache: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast, full = _twins(tmp_path, package_index.url, ["alpha"])
    assert envsync(capsys, "lock", project=fast).code == 0
    assert _full_run(monkeypatch, capsys, full, "lock").code == 0
    sha = hashlib.sha256((fast / "pylock.toml").read_bytes()).hexdigest()
    recipe = Path(headstart.path_of(str(fast / "env.toml"), sha))
    body = bytearray(recipe.read_bytes())
    body[len(body) // 2] ^= 0x01
    recipe.write_bytes(bytes(body))
    for project in (fast, full):
        write_spec(project, ["alpha", "theta"], index_url=package_index.url)
    seen = Seen(monkeypatch)

    done = envsync(capsys, "lock", project=fast)

    assert (seen.started, seen.compiles) == (0, 1)
    _same(fast, full, done, _full_run(monkeypatch, capsys, full, "lock"))


def test_a_failing_resolver_run_started_ahead_fails_as_the_full_path_fails(
    tmp_path: Path,
    package_index: PackageIndex,
    own_cache: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast, full = _twins(tmp_path, package_index.url, ["alpha"])
    assert envsync(capsys, "lock", project=fast).code == 0
    assert _full_run(monkeypatch, capsys, full, "lock").code == 0
    before = (fast / "pylock.toml").read_bytes()
    for project in (fast, full):
        write_spec(project, ["alpha", "no-such-project"], index_url=package_index.url)
    seen = Seen(monkeypatch)

    done = envsync(capsys, "lock", project=fast)

    assert (seen.started, seen.taken) == (1, [True])  # the failure came from the early run
    assert done.code == 1
    assert "no-such-project" in done.err
    _same(fast, full, done, _full_run(monkeypatch, capsys, full, "lock"))
    assert (fast / "pylock.toml").read_bytes() == before
    _no_folders_left(own_cache)


def test_the_command_line_relocks_ahead_and_leaves_nothing_behind(
    tmp_path: Path, package_index: PackageIndex, own_cache: Path
) -> None:
    fast, full = _twins(tmp_path, package_index.url, ["alpha"])
    for project in (fast, full):
        assert envsync_process(project, "apply").returncode == 0
        write_spec(project, ["alpha", "theta"], index_url=package_index.url)

    done = envsync_process(fast, "apply", env={"ENVSYNC_CACHE_DIR": str(own_cache)})
    made = envsync_process(
        full, "apply", env={"ENVSYNC_CACHE_DIR": str(own_cache), "ENVSYNC_FASTPATH": "0"}
    )

    assert done.returncode == made.returncode == 0, done.stderr
    assert done.stdout.replace(str(fast), "P") == made.stdout.replace(str(full), "P")
    assert (fast / "pylock.toml").read_bytes() == (full / "pylock.toml").read_bytes()
    assert venv_packages(fast) == venv_packages(full)
    _no_folders_left(own_cache)
