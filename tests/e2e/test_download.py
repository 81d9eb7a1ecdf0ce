"""The one download, ``simpleapi.download``, and what ``install/download.py`` adds to it.

Files are served from 127.0.0.1 by the test index, with faults or a login where a test needs
them. What a user would see: the bytes that arrive, the hash the lock gets, and the message
for a refused or unreachable download. Through a whole apply, test_network_faults and
test_indexes cover the same paths.
"""

from __future__ import annotations

import hashlib
import io
import socket
from typing import TYPE_CHECKING

import pytest

from envsync.core.lockfile import Artifact
from envsync.errors import HashMismatchError, IndexAuthError, IndexUnreachableError
from envsync.index import simpleapi
from envsync.index.credentials import Upstream
from envsync.install.download import download_checked

from support.faultyindex import FaultyIndex
from support.pkgindex import PackageIndex

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.e2e

THETA = "theta-1.0-py3-none-any.whl"
USER, SECRET = "user", "s3cret"


@pytest.fixture
def faulty(wheelhouse: Path, tmp_path: Path) -> Iterator[FaultyIndex]:
    (tmp_path / "faulty").mkdir()
    with FaultyIndex(tmp_path / "faulty") as index:
        index.add(wheelhouse / THETA)
        yield index


@pytest.fixture
def private(wheelhouse: Path, tmp_path: Path) -> Iterator[PackageIndex]:
    (tmp_path / "private").mkdir()
    with PackageIndex(tmp_path / "private", auth=(USER, SECRET)) as index:
        index.add(wheelhouse / THETA)
        yield index


def theta(index: PackageIndex) -> Artifact:
    sha256 = next(f.sha256 for f in index.files() if f.filename == THETA)
    return Artifact(
        kind="wheel", url=f"{index.base_url}/files/{THETA}", sha256=sha256, filename=THETA
    )


# -- the bytes and the hash -------------------------------------------------------------------


def test_a_download_cut_short_is_fetched_again_and_only_the_whole_file_is_kept(
    faulty: FaultyIndex, wheelhouse: Path
) -> None:
    rule = faulty.fail(f"/files/{THETA}", "truncate", times=1)
    out = io.BytesIO()

    found = simpleapi.download(f"{faulty.base_url}/files/{THETA}", out)

    assert rule.hits == 1
    assert out.getvalue() == (wheelhouse / THETA).read_bytes()  # not half a file, then all
    assert found == hashlib.sha256(out.getvalue()).hexdigest()


@pytest.mark.parametrize("where", ["http", "file"])
def test_the_lock_hashes_a_file_as_the_installer_checks_it(
    faulty: FaultyIndex, wheelhouse: Path, where: str
) -> None:
    url = f"{faulty.base_url}/files/{THETA}" if where == "http" else (wheelhouse / THETA).as_uri()
    faulty.fail(f"/files/{THETA}", "truncate", times=1)  # a hiccup while locking, too
    artifact = Artifact(kind="wheel", url=url, sha256=simpleapi.hash_url(url), filename=THETA)

    download_checked(artifact, io.BytesIO(), lambda _: None)  # no HashMismatchError

    assert artifact.sha256 == hashlib.sha256((wheelhouse / THETA).read_bytes()).hexdigest()


def test_a_file_the_index_changed_is_refused(faulty: FaultyIndex, wheelhouse: Path) -> None:
    artifact = theta(faulty)
    (faulty.root / THETA).write_bytes((wheelhouse / "delta-1.0-py3-none-any.whl").read_bytes())

    with pytest.raises(HashMismatchError, match=f"^{THETA} does not match the hash in pylock"):
        download_checked(artifact, io.BytesIO(), lambda _: None)


# -- logins -----------------------------------------------------------------------------------


def test_the_login_comes_from_the_index_the_url_belongs_to(
    private: PackageIndex, wheelhouse: Path
) -> None:
    where = Upstream(url=private.url, index="internal", login=(USER, SECRET))
    out = io.BytesIO()

    def lookup(url: str) -> Upstream | None:
        return where if url.startswith(private.base_url) else None

    download_checked(theta(private), out, lookup)  # the URL itself carries no login

    assert out.getvalue() == (wheelhouse / THETA).read_bytes()


def test_a_refused_download_names_the_index_and_how_to_log_in(private: PackageIndex) -> None:
    where = Upstream(url=private.url, index="internal", login=(USER, "wrong"))

    with pytest.raises(IndexAuthError) as caught:
        download_checked(theta(private), io.BytesIO(), lambda _: where)

    assert str(caught.value) == (
        f'the index "internal" ({private.url}) refused access (HTTP 401): '
        "the credentials envsync found for it were refused"
    )
    assert "set ENVSYNC_INDEX_INTERNAL_USERNAME and ENVSYNC_INDEX_INTERNAL_PASSWORD" in str(
        caught.value.hint
    )
    assert "wrong" not in f"{caught.value} {caught.value.hint}"


def test_a_refused_download_of_no_known_index_names_the_url_without_its_secret(
    private: PackageIndex,
) -> None:
    url = f"http://{USER}:wrong@127.0.0.1:{private.port}/files/{THETA}"
    artifact = Artifact(kind="wheel", url=url, sha256=theta(private).sha256, filename=THETA)

    with pytest.raises(IndexAuthError) as caught:
        download_checked(artifact, io.BytesIO(), lambda _: None)

    assert str(caught.value) == (
        f"http://***@127.0.0.1:{private.port}/files/{THETA} refused the download (HTTP 401)"
    )
    assert caught.value.hint == (
        "give envsync the index's credentials: ~/.netrc or the ENVSYNC_INDEX_* variables"
    )


# -- unreachable ------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_missing_local_file_is_one_clear_error(tmp_path: Path) -> None:
    url = (tmp_path / THETA).as_uri()
    artifact = Artifact(kind="wheel", url=url, sha256="0" * 64, filename=THETA)

    with pytest.raises(IndexUnreachableError) as caught:
        download_checked(artifact, io.BytesIO(), lambda _: None)

    assert str(caught.value) == (
        f"cannot download {url}: [Errno 2] No such file or directory: '{tmp_path / THETA}'"
    )
    assert caught.value.hint == "check [index] url in env.toml and your network"


def test_an_index_that_is_down_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVSYNC_HTTP_RETRIES", "0")
    url = f"http://127.0.0.1:{closed_port()}/files/{THETA}"
    artifact = Artifact(kind="wheel", url=url, sha256="0" * 64, filename=THETA)

    with pytest.raises(IndexUnreachableError) as caught:
        download_checked(artifact, io.BytesIO(), lambda _: None)

    assert str(caught.value) == f"cannot download {url}: the connection was refused (tried once)"
    assert "ENVSYNC_HTTP_RETRIES sets how often envsync tries" in str(caught.value.hint)
