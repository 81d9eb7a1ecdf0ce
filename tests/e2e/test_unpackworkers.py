"""Unpacking a batch of wheels in helper processes while it downloads: ``install/unpackworkers``.

Real wheels from the test index into a private cache. What a caller relies on: every wheel of
the batch comes back unpacked, in the order asked, with one progress tick each; helpers do the
work only where they pay (two CPUs or more, four wheels or more) and this process does it where
they cannot start; a batch that fails leaves no helper process behind. Each holds for helpers
forked from this process and for helpers started anew (``way``): the suite's index serves from
a thread of this process, where envsync itself would not fork, so the forked way is forced.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from envsync.core.lockfile import Artifact
from envsync.errors import HashMismatchError
from envsync.install import unpack, unpackworkers
from envsync.install.cache import Cache
from envsync.install.unpackworkers import fetch_and_unpack
from envsync.system import forked

from helpers import envsync_process, venv_packages, write_spec
from support import counted_forks

if TYPE_CHECKING:
    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e

WHEELS = [
    "alpha-1.0-py3-none-any.whl",
    "beta-2.0-py3-none-any.whl",
    "delta-1.0-py3-none-any.whl",
    "theta-1.0-py3-none-any.whl",
    "zeta-1.0-py3-none-any.whl",
]


def artifacts(index: PackageIndex, names: list[str]) -> list[Artifact]:
    hashes = {f.filename: f.sha256 for f in index.files()}
    return [
        Artifact(kind="wheel", url=f"{index.base_url}/files/{n}", sha256=hashes[n], filename=n)
        for n in names
    ]


@pytest.fixture(params=["forked", "started"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """How the helpers start: forked from this process, or started anew."""
    monkeypatch.setattr(forked, "may_fork", lambda: request.param == "forked")
    return str(request.param)


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pid of each helper forked (counted in this process, the parent)."""
    return counted_forks(monkeypatch)


@pytest.fixture
def unpacked_here(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The wheels this process unpacks itself (helpers unpack the others)."""
    names: list[str] = []
    extract = unpack.extract

    def recorded(wheel: Path, folder: Path, limits: unpack.Limits) -> None:
        names.append(wheel.name)
        extract(wheel, folder, limits)

    monkeypatch.setattr(unpack, "extract", recorded)
    return names


@pytest.mark.parametrize(
    ("cpus", "count", "helped"),
    [(1, 5, False), (2, 3, False), (2, 5, True), (4, 4, True)],
    ids=["one-cpu", "small-batch", "helped", "helper-per-wheel"],
)
def test_every_wheel_comes_back_unpacked_in_order_with_one_tick_each(
    tmp_path: Path,
    package_index: PackageIndex,
    monkeypatch: pytest.MonkeyPatch,
    unpacked_here: list[str],
    way: str,
    forks: list[int],
    cpus: int,
    count: int,
    helped: bool,
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    store = Cache(tmp_path / "cache")
    batch = list(reversed(WHEELS[:count]))
    ticks: list[None] = []

    trees = fetch_and_unpack(
        store, artifacts(package_index, batch), lambda _: None, lambda: ticks.append(None)
    )

    assert [tree.wheel for tree in trees] == batch
    assert len(ticks) == count
    assert unpacked_here == ([] if helped else batch)
    assert len(forks) == (min(cpus, count) if helped and way == "forked" else 0)
    for tree, artifact in zip(trees, artifacts(package_index, batch), strict=True):
        assert store.tree(str(artifact.sha256)) == tree


def _no_fork() -> int:
    raise OSError(11, "Resource temporarily unavailable")


@pytest.mark.parametrize("python", [True, False], ids=["started-anew", "none-starts"])
def test_where_helpers_cannot_be_forked_they_are_started_anew_or_this_process_unpacks(
    tmp_path: Path,
    package_index: PackageIndex,
    monkeypatch: pytest.MonkeyPatch,
    unpacked_here: list[str],
    python: bool,
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(forked, "may_fork", lambda: True)
    monkeypatch.setattr(os, "fork", _no_fork)
    if not python:  # nor can one be started anew
        monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))

    wheels, ticks = whole_batch(tmp_path, package_index)

    assert wheels == WHEELS
    assert unpacked_here == ([] if python else WHEELS)  # else the helpers did it all
    assert ticks == len(WHEELS)


def whole_batch(tmp_path: Path, index: PackageIndex) -> tuple[list[str], int]:
    """Every wheel of WHEELS fetched and unpacked into a new cache: the trees' wheels, in the
    order they came back, and how many progress ticks there were."""
    ticks: list[None] = []
    trees = fetch_and_unpack(
        Cache(tmp_path / "cache"),
        artifacts(index, WHEELS),
        lambda _: None,
        lambda: ticks.append(None),
    )
    return [tree.wheel for tree in trees], len(ticks)


def children() -> list[int]:
    """The processes whose parent is this one (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == os.getpid():
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.usefixtures("way")
def test_a_batch_that_fails_to_download_leaves_no_helper_behind(
    tmp_path: Path, package_index: PackageIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    batch = artifacts(package_index, WHEELS)
    batch[2] = Artifact(kind="wheel", url=batch[2].url, sha256="0" * 64, filename=batch[2].filename)
    store = Cache(tmp_path / "cache")
    before = children()

    with pytest.raises(HashMismatchError, match=r"delta-1\.0-py3-none-any\.whl does not match"):
        fetch_and_unpack(store, batch, lambda _: None)

    assert children() == before
    stored = sorted(p.name for p in store.root.glob("wheels/*/*/*"))
    assert "delta-1.0-py3-none-any.whl" not in stored
    assert not list((store.root / "tmp").iterdir())


def test_a_helper_that_dies_holding_a_wheel_leaves_it_to_this_process(
    tmp_path: Path,
    package_index: PackageIndex,
    monkeypatch: pytest.MonkeyPatch,
    unpacked_here: list[str],
    way: str,
) -> None:
    # The helper given beta dies without a word (as one the system kills would).
    dying = unpackworkers._UNPACK.replace(
        "    cache.unpack_quietly(",
        "    if 'beta-' in wheel:\n        import os; os._exit(3)\n    cache.unpack_quietly(",
        1,
    )
    assert dying != unpackworkers._UNPACK
    monkeypatch.setattr(unpackworkers, "_UNPACK", dying)
    quietly = Cache.unpack_quietly

    def dies_on_beta(cache: Cache, wheel: Path, sha256: str) -> None:
        if "beta-" in wheel.name:
            os._exit(3)  # in the forked helper: it never returns here
        quietly(cache, wheel, sha256)

    if way == "forked":
        monkeypatch.setattr(Cache, "unpack_quietly", dies_on_beta)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)

    wheels, ticks = whole_batch(tmp_path, package_index)

    assert wheels == WHEELS
    assert "beta-2.0-py3-none-any.whl" in unpacked_here
    assert ticks == len(WHEELS)


class StandIn:
    """A helper that takes lines and finishes only when the test says so."""

    def __init__(self, *, gone: bool = False) -> None:
        self.lines: list[str] = []
        self.running = not gone

    def send(self, line: str) -> bool:
        if not self.running:
            return False
        self.lines.append(line)
        return True

    def finish(self) -> None:
        self.running = False


def test_a_helper_holds_one_wheel_at_a_time_the_largest_waiting_first() -> None:
    ticks: list[None] = []
    dispatch = unpackworkers._Dispatch(lambda: ticks.append(None))
    one, two = StandIn(), StandIn()
    dispatch.start([one, two])  # type: ignore[list-item]

    for size, name in [(5, "a"), (1, "b"), (9, "c"), (7, "d"), (3, "e")]:
        dispatch.add(size, name)

    # a and b went at once to the idle helpers; c, d and e wait, the largest first.
    assert (one.lines, two.lines) == (["a"], ["b"])
    dispatch.finished(1, "sha-b")
    assert two.lines == ["b", "c"]
    dispatch.finished(0, "sha-a")
    assert one.lines == ["a", "d"]
    dispatch.finished(0, "sha-d")
    assert one.lines == ["a", "d", "e"]
    assert dispatch.reported == {"sha-a", "sha-b", "sha-d"}
    assert len(ticks) == 3


def test_a_wheel_no_helper_can_take_is_left_to_the_caller() -> None:
    dispatch = unpackworkers._Dispatch(lambda: None)
    gone, alive = StandIn(gone=True), StandIn()
    dispatch.start([gone, alive])  # type: ignore[list-item]

    dispatch.add(1, "a")
    dispatch.add(2, "b")
    alive.running = False  # it died holding a
    dispatch.finish()  # returns: nobody is left to take b

    assert (gone.lines, alive.lines) == ([], ["a"])
    assert dispatch.reported == set()


def test_a_failing_batch_hands_no_helper_another_wheel() -> None:
    dispatch = unpackworkers._Dispatch(lambda: None)
    helper = StandIn()
    dispatch.start([helper])  # type: ignore[list-item]
    for size, name in [(1, "a"), (2, "b"), (3, "c")]:
        dispatch.add(size, name)

    # As when a download failed: b and c stay downloaded. (A thread: were they still to be
    # handed over, the wait for the busy helper would never end.)
    ending = threading.Thread(target=dispatch.finish, kwargs={"hand_over": False}, daemon=True)
    ending.start()
    ending.join(timeout=5)

    assert not ending.is_alive()
    assert helper.lines == ["a"]
    assert not helper.running


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="helpers only on two CPUs or more")
@pytest.mark.usefixtures("own_cache")
def test_a_cold_apply_unpacks_in_forked_helpers_and_makes_the_venv(
    tmp_path: Path, package_index: PackageIndex
) -> None:
    # envsync's own process runs no other thread when it unpacks: there, it forks.
    write_spec(tmp_path, ["alpha", "delta", "theta", "zeta"], index_url=package_index.url)
    ran = envsync_process(tmp_path, "apply", "--verbose")
    assert ran.returncode == 0, ran.stderr
    helpers = min(os.cpu_count() or 1, 5)  # one per CPU, at most one per wheel
    assert f"unpacking in {helpers} forked helper processes" in ran.stderr
    assert set(venv_packages(tmp_path)) == {"alpha", "beta", "delta", "theta", "zeta"}


def _ours(spec: Path) -> list[int]:
    """The processes still running envsync on *spec* (a helper forked from it runs its argv)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if entry.name.isdigit() and str(spec).encode() in argv:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="helpers only on two CPUs or more")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.usefixtures("own_cache")
@pytest.mark.parametrize("signal_name", ["TERM", "KILL"])
def test_a_run_stopped_while_forked_helpers_unpack_leaves_no_helper_running(
    tmp_path: Path, package_index: PackageIndex, signal_name: str
) -> None:
    write_spec(tmp_path, ["alpha", "delta", "theta", "zeta"], index_url=package_index.url)
    spec = tmp_path / "env.toml"
    stopped = envsync_process(tmp_path, "apply", fault="unpacking", fault_signal=signal_name)
    assert stopped.returncode == (143 if signal_name == "TERM" else -9), stopped.stderr
    # SIGTERM: the helpers finish their wheel and end before envsync does. SIGKILL: they
    # are left without it, and end when their input does.
    deadline = time.monotonic() + (0 if signal_name == "TERM" else 10)
    while _ours(spec) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _ours(spec) == []
    again = envsync_process(tmp_path, "apply")
    assert again.returncode == 0, again.stderr
    assert set(venv_packages(tmp_path)) == {"alpha", "beta", "delta", "theta", "zeta"}
