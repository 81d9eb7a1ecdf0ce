"""A misbehaving index gets bounded retries, then one clear error; nothing else changes.

The index is `FaultyIndex` on 127.0.0.1: it answers 500 or 503, hangs past the timeout,
drops the connection, cuts a body short, or answers late, as each test tells it. A fault
that passes (two spoiled requests, then good ones) must cost nothing but time: the lock is
written, the venv holds the lock's packages. A fault that stays must end in one readable
error naming the URL, the fault and the number of tries, with pylock.toml and the venv as
they were. Pages are covered through `envsync lock` (pip-compile, then envsync's own
listing), wheels through `envsync apply --frozen` (the native installer's downloads).

The ENVSYNC_HTTP_* variables cut the timeout to a second and the waits to almost nothing,
so a hanging index costs seconds, not minutes.
"""

from __future__ import annotations

import logging
import shutil
from typing import TYPE_CHECKING

import pytest
import tomli_w

from helpers import envsync, lock_packages, lock_versions, snapshot, venv_packages, write_spec
from support.faultyindex import FAULTS, FaultyIndex

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from support.faultyindex import Fault, Rule

pytestmark = pytest.mark.e2e

TIMEOUT = 1.0
"""ENVSYNC_HTTP_TIMEOUT in these tests, in seconds."""
TRIES = 4
"""ENVSYNC_HTTP_RETRIES is 3: four tries in all."""
FAILING: tuple[Fault, ...] = tuple(f for f in FAULTS if f != "slow")
PAGE = r"^/simple/alpha/$"
WHEEL = r"^/files/theta-1\.0-py3-none-any\.whl$"
THETA = "theta-1.0-py3-none-any.whl"
# What each fault looks like in envsync's message.
SAID: dict[Fault, str] = {
    "status-500": "the server answered HTTP 500 Internal Server Error",
    "status-503": "the server answered HTTP 503 Service Unavailable",
    "hang": "the server did not answer in time",
    "drop": "the server closed the connection without answering",
    "truncate": "the connection closed before the whole answer arrived",
}


@pytest.fixture(autouse=True)
def _impatient(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A short timeout, short waits, and a wheel cache of the test's own (so it downloads)."""
    monkeypatch.setenv("ENVSYNC_HTTP_TIMEOUT", str(TIMEOUT))
    monkeypatch.setenv("ENVSYNC_HTTP_RETRIES", str(TRIES - 1))
    monkeypatch.setenv("ENVSYNC_HTTP_BACKOFF", "0.02")
    monkeypatch.setenv("ENVSYNC_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def served(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultyIndex]:
    """One faulty index for the module; `index` clears its faults after each test."""
    root = tmp_path_factory.mktemp("faulty") / "files"
    shutil.copytree(wheelhouse, root)
    with FaultyIndex(root) as index:
        yield index


@pytest.fixture
def index(served: FaultyIndex) -> Iterator[FaultyIndex]:
    """The module's index, with no faults before or after the test."""
    served.heal()
    yield served
    served.heal()


@pytest.fixture(scope="module")
def locks(served: FaultyIndex, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Projects locked once against the healthy index: "alpha" and "alpha + theta"."""
    projects = {}
    for name, wanted in {"alpha": ["alpha"], "theta": ["alpha", "theta"]}.items():
        root = tmp_path_factory.mktemp(f"locked-{name}")
        write_spec(root, wanted, index_url=served.url)
        assert envsync(None, "lock", "--quiet", project=root).code == 0
        projects[name] = root
    return projects


def use_lock(locked: Path, root: Path) -> Path:
    """Put a locked project's env.toml and pylock.toml into *root*; the spec's path."""
    for name in ("env.toml", "pylock.toml"):
        shutil.copyfile(locked / name, root / name)
    return root / "env.toml"


def spoil(
    index: FaultyIndex, pattern: str, fault: Fault, times: int | None, agent: str | None = None
) -> Rule:
    """Make *index* misbehave: a hang outlasts the timeout, a slow answer does not."""
    delay = 3 * TIMEOUT if fault == "hang" else TIMEOUT / 4
    return index.fail(pattern, fault, times=times, agent=agent, delay=delay)


def assert_one_clear_error(err: str, url: str, fault: Fault) -> None:
    """One error, naming the URL, the fault and the tries; no traceback."""
    assert err.count("error:") == 1, err
    assert url in err, err
    assert SAID[fault] in err, err
    assert f"(tried {TRIES} times)" in err, err
    assert "hint:" in err
    assert "Traceback" not in err
    assert "internal error" not in err


# -- project pages: envsync lock --------------------------------------------------------------


@pytest.mark.parametrize("agent", [None, "envsync"], ids=["every-client", "envsync-only"])
@pytest.mark.parametrize("fault", FAULTS)
def test_lock_outlasts_a_page_that_fails_twice(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    index: FaultyIndex,
    fault: Fault,
    agent: str | None,
) -> None:
    # Every client: pip-compile meets the faults (and retries as envsync told it to, or is
    # run again after a cut-off page). envsync only: its own listing of alpha's files does.
    rule = spoil(index, PAGE, fault, times=2, agent=agent)
    write_spec(tmp_path, ["alpha"], index_url=index.url)

    result = envsync(capsys, "lock", "--spec", str(tmp_path / "env.toml"))

    assert result.code == 0, result.err
    # A slow page is read once by each client (pip-compile, envsync); the others, twice.
    assert rule.hits == (1 if fault == "slow" and agent else 2)
    assert lock_versions(tmp_path) == {"alpha": "2.0", "beta": "2.0"}
    wheels = lock_packages(tmp_path)["alpha"]["wheels"]
    assert isinstance(wheels, list)
    assert [w["name"] for w in wheels] == ["alpha-2.0-py3-none-any.whl"]


@pytest.mark.parametrize(
    ("fault", "agent"),
    # Every client: pip-compile fails first (pip skips the page and finds "no version"), then
    # envsync reads the page itself to say why. envsync only: its listing after pip-compile.
    [*((fault, None) for fault in FAILING), ("status-503", "envsync")],
    ids=[*(f"{fault}-every-client" for fault in FAILING), "status-503-envsync-only"],
)
def test_apply_gives_up_on_a_page_that_keeps_failing(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    index: FaultyIndex,
    locks: dict[str, Path],
    fault: Fault,
    agent: str | None,
) -> None:
    # A venv and lock of "alpha + theta" in place; the spec then drops theta and adds gamma,
    # whose page fails: apply must relock, and cannot.
    spec = use_lock(locks["theta"], tmp_path)
    assert envsync(capsys, "apply", "--frozen", "--spec", str(spec)).code == 0
    write_spec(tmp_path, ["alpha", "gamma"], index_url=index.url)
    rule = spoil(index, r"^/simple/gamma/$", fault, times=None, agent=agent)
    before = snapshot(tmp_path)

    result = envsync(capsys, "apply", "--spec", str(spec))

    assert result.code == 1
    assert_one_clear_error(result.err, f"{index.url}/gamma/", fault)
    assert snapshot(tmp_path) == before
    if agent == "envsync":  # pip-compile was spared: every spoiled request was envsync's
        assert rule.hits == TRIES


# -- wheels: envsync apply --frozen, the native installer -------------------------------------


@pytest.mark.parametrize("fault", FAULTS)
def test_apply_outlasts_a_download_that_fails_twice(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    index: FaultyIndex,
    locks: dict[str, Path],
    fault: Fault,
) -> None:
    caplog.set_level(logging.DEBUG, logger="envsync.index.retry")
    spec = use_lock(locks["theta"], tmp_path)
    rule = spoil(index, WHEEL, fault, times=2)

    result = envsync(capsys, "apply", "--frozen", "--spec", str(spec))

    assert result.code == 0, result.err
    assert venv_packages(tmp_path) == {"alpha": "2.0", "beta": "2.0", "theta": "1.0"}
    retried = [r.getMessage() for r in caplog.records if r.name == "envsync.index.retry"]
    if fault == "slow":  # late, but within the timeout: waited for, not retried
        assert (rule.hits, retried) == (1, [])
    else:
        assert rule.hits == 2
        assert len(retried) == 2, retried
        assert retried[0].startswith(f"{index.base_url}/files/{THETA}: {SAID[fault]}")
        assert f"(try 1 of {TRIES}); trying again in" in retried[0]


@pytest.mark.parametrize("fault", FAILING)
def test_apply_gives_up_on_a_download_that_keeps_failing(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    index: FaultyIndex,
    locks: dict[str, Path],
    fault: Fault,
) -> None:
    spec = use_lock(locks["alpha"], tmp_path)
    assert envsync(capsys, "apply", "--frozen", "--spec", str(spec)).code == 0
    use_lock(locks["theta"], tmp_path)
    rule = spoil(index, WHEEL, fault, times=None)
    before = snapshot(tmp_path)

    result = envsync(capsys, "apply", "--frozen", "--spec", str(spec))

    assert result.code == 1
    assert_one_clear_error(result.err, f"cannot download {index.base_url}/files/{THETA}", fault)
    assert "does not match the hash" not in result.err  # cut short is not tampered with
    assert rule.hits == TRIES
    assert snapshot(tmp_path) == before
    assert not list((tmp_path / "cache").rglob("theta*"))  # nothing half-downloaded is kept


# -- the same policy for pip and uv -----------------------------------------------------------


@pytest.mark.parametrize(("resolver", "agent"), [("pip-tools", "pip/"), ("uv", "uv/")])
@pytest.mark.parametrize("retries", [0, 1])
def test_the_resolver_retries_as_envsync_is_told(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    index: FaultyIndex,
    resolver: str,
    agent: str,
    retries: int,
) -> None:
    # One answer hangs, for the resolver only. Its own defaults (5 or 3 retries, 15 or 30 s)
    # would wait it out either way; envsync's settings decide whether it succeeds.
    monkeypatch.setenv("ENVSYNC_HTTP_RETRIES", str(retries))
    spoil(index, PAGE, "hang", times=1, agent=agent)
    spec = tmp_path / "env.toml"
    data = {"env": {"dependencies": ["alpha"], "resolver": resolver}, "index": {"url": index.url}}
    spec.write_text(tomli_w.dumps(data), "utf-8")

    result = envsync(capsys, "lock", "--spec", str(spec))

    assert result.code == (0 if retries else 1), result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(("installer", "agent"), [("pip", "pip/"), ("uv", "uv/")])
@pytest.mark.parametrize("retries", [0, 1])
def test_the_installer_retries_as_envsync_is_told(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    index: FaultyIndex,
    locks: dict[str, Path],
    installer: str,
    agent: str,
    retries: int,
) -> None:
    monkeypatch.setenv("ENVSYNC_HTTP_RETRIES", str(retries))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))  # so that uv downloads
    spec = use_lock(locks["theta"], tmp_path)
    data = {"env": {"dependencies": ["alpha", "theta"], "installer": installer}}
    spec.write_text(tomli_w.dumps({**data, "index": {"url": index.url}}), "utf-8")
    spoil(index, WHEEL, "hang", times=1, agent=agent)

    result = envsync(capsys, "apply", "--frozen", "--spec", str(spec))

    assert result.code == (0 if retries else 1), result.err
    if retries:
        assert venv_packages(tmp_path) == {"alpha": "2.0", "beta": "2.0", "theta": "1.0"}
    else:
        assert "a package could not be downloaded" in result.err
        assert f"/files/{THETA}" in result.err


def test_credentials_stay_out_of_retries_and_errors(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    index: FaultyIndex,
) -> None:
    caplog.set_level(logging.DEBUG, logger="envsync")
    secret_url = index.url.replace("http://", "http://someone:s3cret@")
    write_spec(tmp_path, ["alpha"], index_url=secret_url)
    spoil(index, PAGE, "status-503", times=None, agent="envsync")

    result = envsync(capsys, "lock", "--verbose", "--spec", str(tmp_path / "env.toml"))

    assert result.code == 1
    assert f"(tried {TRIES} times)" in result.err
    assert "s3cret" not in result.err
    assert "s3cret" not in caplog.text
    assert "try 3 of 4" in caplog.text


def test_a_pinned_index_failing_behind_the_routing_proxy_is_tried_as_often(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, index: FaultyIndex
) -> None:
    # pip reads alpha's page from envsync's routing proxy, which reads it from the pinned
    # index: the proxy's tries are the only ones the index sees, however often pip asks.
    data = {
        "env": {"dependencies": ["alpha"]},
        "index": {"url": index.url},
        "indexes": {"internal": {"url": index.url}},
        "sources": {"alpha": {"index": "internal"}},
    }
    (tmp_path / "env.toml").write_text(tomli_w.dumps(data), "utf-8")
    rule = spoil(index, PAGE, "status-503", times=None)

    result = envsync(capsys, "lock", "--spec", str(tmp_path / "env.toml"))

    assert result.code == 1
    assert_one_clear_error(result.err, f"{index.url}/alpha/", "status-503")
    assert rule.hits == TRIES
    assert not (tmp_path / "pylock.toml").exists()
