"""A relock's resolver started before the full path loads, and taken over only when exact.

Twin projects against the local index: each is locked first (which keeps the recipe of the
next relock), then the same requirement is added to both. One twin relocks as a user runs
it, the other with ENVSYNC_FASTPATH=0 (no run started ahead): their output and lock bytes
must be the same, and where the run started ahead was right, the resolver ran once: no
second pip-compile or `uv pip compile` was started. The tests whose twins have a venv, or
that check what the resolver is told, run with both resolvers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from envsync.resolve import ahead as ahead_module
from envsync.system import process
from envsync.usecases import headstart

from helpers import Result, envsync, envsync_process, lock_versions, venv_packages, write_spec

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
            args = [str(arg) for arg in argv]
            self.compiles += any("piptools" in arg for arg in args) or args[1:3] == [
                "pip",
                "compile",
            ]
            return real_run(argv, **kwargs)

        self.reset()
        monkeypatch.setattr(ahead_module.Ahead, "__init__", init)
        monkeypatch.setattr(ahead_module.Ahead, "take", take)
        monkeypatch.setattr(process, "run", run)


@dataclass(frozen=True)
class Pair:
    """Twin projects of ["alpha"] on the test index: *fast* as a user runs it, *full* with
    ENVSYNC_FASTPATH=0 (nothing started ahead); both with *resolver*."""

    fast: Path
    full: Path
    url: str
    cache: Path
    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch
    resolver: str

    def run(self, *args: str) -> Result:
        return envsync(self.capsys, *args, project=self.fast)

    def run_full(self, *args: str) -> Result:
        with self.monkeypatch.context() as patch:
            patch.setenv("ENVSYNC_FASTPATH", "0")
            return envsync(self.capsys, *args, project=self.full)

    def both_ran(self, command: str) -> None:
        """Each twin run through *command* once: the fast one keeps a recipe."""
        assert self.run(command).code == 0
        assert self.run_full(command).code == 0

    def ask(self, deps: list[str]) -> None:
        for project in (self.fast, self.full):
            write_spec(project, deps, index_url=self.url, resolver=self.resolver)

    def same(self, done: Result, made: Result) -> None:
        assert done.code == made.code
        assert done.out.replace(str(self.fast), "P") == made.out.replace(str(self.full), "P")
        assert done.err.replace(str(self.fast), "P") == made.err.replace(str(self.full), "P")
        lock = (self.fast / "pylock.toml").read_bytes()
        assert lock == (self.full / "pylock.toml").read_bytes()

    def no_folders_left(self) -> None:
        folder = self.cache / "ahead"
        assert not folder.exists() or list(folder.iterdir()) == []


@pytest.fixture
def pair(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    package_index: PackageIndex,
    own_cache: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Pair:
    resolver = getattr(request, "param", "pip-tools")
    made = Pair(
        tmp_path / "fast",
        tmp_path / "full",
        package_index.url,
        own_cache,
        capsys,
        monkeypatch,
        resolver,
    )
    for project in (made.fast, made.full):
        project.mkdir()
    made.ask(["alpha"])
    return made


@pytest.mark.parametrize("pair", ["pip-tools", "uv"], indirect=True)
def test_a_relock_takes_over_the_run_started_ahead_and_writes_the_same_lock(pair: Pair) -> None:
    pair.both_ran("lock")
    pair.ask(["alpha", "theta"])
    seen = Seen(pair.monkeypatch)

    done = pair.run("lock")

    assert (seen.started, seen.taken, seen.compiles) == (1, [True], 0)
    pair.same(done, pair.run_full("lock"))
    assert "+ theta 1.0" in done.out
    assert lock_versions(pair.fast) == {"alpha": "2.0", "beta": "2.0", "theta": "1.0"}
    pair.no_folders_left()


# The venv is there when the addition relocks: the run started ahead must resolve under its
# interpreter, whichever way the resolver is told it (pip-compile's argv[0], uv's --python).
@pytest.mark.parametrize("pair", ["pip-tools", "uv"], indirect=True)
def test_apply_after_an_addition_installs_from_the_run_started_ahead(pair: Pair) -> None:
    pair.both_ran("apply")
    pair.ask(["alpha", "theta"])
    seen = Seen(pair.monkeypatch)

    done = pair.run("apply")

    assert (seen.started, seen.taken, seen.compiles) == (1, [True], 0)
    pair.same(done, pair.run_full("apply"))
    wanted = {"alpha": "2.0", "beta": "2.0", "theta": "1.0"}
    assert venv_packages(pair.fast) == venv_packages(pair.full) == wanted
    # And the relock after it starts ahead again, from the recipe of the lock it wrote.
    pair.ask(["alpha", "theta", "gamma"])
    seen.reset()
    done = pair.run("apply")
    assert (seen.started, seen.taken, seen.compiles) == (1, [True], 0)
    pair.same(done, pair.run_full("apply"))
    pair.no_folders_left()


@pytest.mark.parametrize("pair", ["pip-tools", "uv"], indirect=True)
def test_a_setting_changed_since_the_recipe_throws_the_early_run_away(pair: Pair) -> None:
    pair.both_ran("lock")
    pair.ask(["alpha", "theta"])
    # pip-compile's timeout follows ENVSYNC_HTTP_TIMEOUT: the recipe's environment is stale.
    pair.monkeypatch.setenv("ENVSYNC_HTTP_TIMEOUT", "77")
    seen = Seen(pair.monkeypatch)

    done = pair.run("lock")

    assert (seen.started, seen.taken, seen.compiles) == (1, [False], 1)
    pair.same(done, pair.run_full("lock"))
    pair.no_folders_left()


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
    pair: Pair, then: list[str], args: tuple[str, ...]
) -> None:
    assert pair.run("lock").code == 0
    pair.ask(then)
    seen = Seen(pair.monkeypatch)

    pair.run(*args)

    assert seen.started == 0


def test_a_changed_byte_of_the_recipe_starts_nothing(pair: Pair) -> None:
    pair.both_ran("lock")
    sha = hashlib.sha256((pair.fast / "pylock.toml").read_bytes()).hexdigest()
    recipe = Path(headstart.path_of(str(pair.fast / "env.toml"), sha))
    body = bytearray(recipe.read_bytes())
    body[len(body) // 2] ^= 0x01
    recipe.write_bytes(bytes(body))
    pair.ask(["alpha", "theta"])
    seen = Seen(pair.monkeypatch)

    done = pair.run("lock")

    assert (seen.started, seen.compiles) == (0, 1)
    pair.same(done, pair.run_full("lock"))


@pytest.mark.parametrize("pair", ["pip-tools", "uv"], indirect=True)
def test_a_failing_resolver_run_started_ahead_fails_as_the_full_path_fails(pair: Pair) -> None:
    pair.both_ran("lock")
    before = (pair.fast / "pylock.toml").read_bytes()
    pair.ask(["alpha", "no-such-project"])
    seen = Seen(pair.monkeypatch)

    done = pair.run("lock")

    assert (seen.started, seen.taken) == (1, [True])  # the failure came from the early run
    assert done.code == 1
    assert "no-such-project" in done.err
    pair.same(done, pair.run_full("lock"))
    assert (pair.fast / "pylock.toml").read_bytes() == before
    pair.no_folders_left()


def test_the_command_line_relocks_ahead_and_leaves_nothing_behind(pair: Pair) -> None:
    env = {"ENVSYNC_CACHE_DIR": str(pair.cache)}
    for project in (pair.fast, pair.full):
        assert envsync_process(project, "apply", env=env).returncode == 0
    pair.ask(["alpha", "theta"])

    done = envsync_process(pair.fast, "apply", env=env)
    made = envsync_process(pair.full, "apply", env={**env, "ENVSYNC_FASTPATH": "0"})

    assert done.returncode == made.returncode == 0, done.stderr
    assert done.stdout.replace(str(pair.fast), "P") == made.stdout.replace(str(pair.full), "P")
    assert (pair.fast / "pylock.toml").read_bytes() == (pair.full / "pylock.toml").read_bytes()
    assert venv_packages(pair.fast) == venv_packages(pair.full)
    pair.no_folders_left()
