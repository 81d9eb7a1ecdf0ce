"""The routing proxy in front of real indexes on 127.0.0.1: what pip asks it, and gets.

The default index is the session's test index; the named one holds the real ``private-pkg
1.0`` and a ``beta 9.0`` that no unpinned name may come from, behind a login. The proxy is
asked as pip asks (``/simple/<project>/``, JSON or HTML), and pip itself is run through it.
"""

from __future__ import annotations

import json
import logging
import sys
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

import pytest
from packaging.utils import canonicalize_name

from envsync.core.spec import IndexConfig, NamedIndex, Source
from envsync.errors import IndexUnreachableError, ResolutionError
from envsync.index.credentials import Upstream
from envsync.index.pipaccess import PipAccess, pip_access
from envsync.index.routes import Routes, routes
from envsync.index.routingproxy import IndexProxy
from envsync.system.process import run

from support.pkgindex import PackageIndex
from support.wheels import build_wheel

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.e2e

USER = "proxy-user"
SECRET = "pr0xy-s3cret"  # noqa: S105 - the tests look for it in everything pip sees
JSON_ACCEPT = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"
PRIVATE = "private_pkg-1.0-py3-none-any.whl"


@pytest.fixture(scope="module")
def named(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackageIndex]:
    """The named index, behind a login: private-pkg 1.0 (needing beta), and a beta 9.0."""
    root = tmp_path_factory.mktemp("named")
    build_wheel(root, "private-pkg", "1.0", requires=["beta>=1.0"])
    build_wheel(root, "beta", "9.0")
    with PackageIndex(root, auth=(USER, SECRET)) as index:
        yield index


def get(url: str, accept: str = JSON_ACCEPT) -> tuple[int, str, str]:
    """Status, Content-Type and body of a GET."""
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, "", exc.read().decode()


def asked_for(index: PackageIndex, project: str) -> list[str]:
    """The requests *index* got for *project*'s page or files."""
    stems = (f"/simple/{project}", f"/files/{project.replace('-', '_')}-")
    return [path for path in index.requests if path.startswith(stems)]


def pinned_routes(default: PackageIndex, named: PackageIndex, *, login: bool = True) -> Routes:
    """private-pkg from the named index (with its login, or none); the rest from the default."""
    private = Upstream(url=named.url, index="internal", login=(USER, SECRET) if login else None)
    return Routes(
        default=(Upstream(url=default.url),), pinned={canonicalize_name("private-pkg"): private}
    )


def filenames(body: str) -> list[str]:
    """The file names a JSON page lists, sorted."""
    return sorted(f["filename"] for f in json.loads(body)["files"])


# -- routes -----------------------------------------------------------------------------------


def test_the_proxy_serves_a_pinned_name_from_its_index_and_others_from_the_rest(
    package_index: PackageIndex, named: PackageIndex
) -> None:
    default_before = len(asked_for(package_index, "private-pkg"))
    named_before = len(asked_for(named, "beta"))
    with IndexProxy(pinned_routes(package_index, named)) as proxy:
        status, kind, body = get(f"{proxy.url}/private-pkg/")
        assert (status, kind) == (200, "application/vnd.pypi.simple.v1+json")
        assert [f["url"] for f in json.loads(body)["files"]] == [
            f"{named.base_url}/files/{PRIVATE}"
        ]
        assert get(f"{proxy.url}/Private_Pkg/")[2] == body  # any spelling of the name

        status, kind, body = get(f"{proxy.url}/private-pkg/", accept="text/html")
        assert kind.startswith("text/html")
        assert f'href="{named.base_url}/files/{PRIVATE}#sha256=' in body

        assert filenames(get(f"{proxy.url}/beta/")[2]) == [
            "beta-1.0-py3-none-any.whl",
            "beta-2.0-py3-none-any.whl",
        ]
        assert get(f"{proxy.url}/no-such-project/")[0] == 404

    assert len(asked_for(package_index, "private-pkg")) == default_before
    assert len(asked_for(named, "beta")) == named_before


# -- page merging -----------------------------------------------------------------------------


def test_the_proxy_merges_html_and_json_pages_with_absolute_links(
    tmp_path: Path, package_index: PackageIndex
) -> None:
    folder = tmp_path / "flat" / "beta"
    folder.mkdir(parents=True)
    (folder / "index.html").write_text(
        '<html><body><a href="../../files/beta-7.0-py3-none-any.whl#sha256=abc" '
        'data-requires-python="&gt;=3.8">beta-7.0-py3-none-any.whl</a></body></html>',
        "utf-8",
    )
    flat = Upstream(url=(tmp_path / "flat").as_uri())
    with IndexProxy(Routes(default=(Upstream(url=package_index.url), flat))) as proxy:
        status, kind, body = get(f"{proxy.url}/beta/")  # JSON asked for, but one page is HTML

    assert (status, kind) == (200, "text/html; charset=utf-8")
    assert f'href="{package_index.base_url}/files/beta-2.0-py3-none-any.whl#sha256=' in body
    local = (tmp_path / "files" / "beta-7.0-py3-none-any.whl").as_uri()
    assert f'<a href="{local}#sha256=abc" data-requires-python="&gt;=3.8">' in body


def test_the_json_pages_of_the_default_and_an_extra_index_merge_into_one(
    package_index: PackageIndex, named: PackageIndex
) -> None:
    extra = Upstream(url=named.url, login=(USER, SECRET))
    with IndexProxy(Routes(default=(Upstream(url=package_index.url), extra))) as proxy:
        status, kind, body = get(f"{proxy.url}/beta/")

    assert (status, kind) == (200, "application/vnd.pypi.simple.v1+json")
    files = {f["filename"]: f for f in json.loads(body)["files"]}
    assert sorted(files) == [
        "beta-1.0-py3-none-any.whl",
        "beta-2.0-py3-none-any.whl",
        "beta-9.0-py3-none-any.whl",
    ]
    assert files["beta-2.0-py3-none-any.whl"]["url"].startswith(f"{package_index.base_url}/files/")
    assert files["beta-9.0-py3-none-any.whl"]["url"].startswith(f"{named.base_url}/files/")
    assert all(len(f["hashes"]["sha256"]) == 64 for f in files.values())


# -- failures and credentials -----------------------------------------------------------------


def test_an_index_failing_behind_the_proxy_is_the_error_reported(
    package_index: PackageIndex, named: PackageIndex
) -> None:
    def pip_saw_no_version(*args: object, **kwargs: object) -> None:
        raise ResolutionError("no version of private-pkg is available")

    with IndexProxy(pinned_routes(package_index, named, login=False)) as proxy:
        assert get(f"{proxy.url}/private-pkg/")[0] == 502
        access = PipAccess(args=(), proxy=proxy)
        with pytest.raises(IndexUnreachableError, match=r"refused access \(HTTP 401\)"):
            access.run(pip_saw_no_version, ["pip"], error=ResolutionError)  # type: ignore[arg-type]


def test_pip_downloads_through_the_proxy_and_never_sees_a_secret(
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    package_index: PackageIndex,
    named: PackageIndex,
) -> None:
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))  # the login is in the URL only
    found = routes(
        IndexConfig(url=package_index.url),
        [NamedIndex(name="internal", url=named.url_with_auth)],
        [Source(package=canonicalize_name("private-pkg"), index="internal")],
        default_url=package_index.url,
    )
    argv = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(tmp_path / "got")]
    with caplog.at_level(logging.DEBUG, logger="envsync"), pip_access(found, []) as access:
        assert access.proxy is not None
        proxy_url = access.proxy.url
        pages = [
            get(f"{proxy_url}/{name}/", accept)[2]
            for name in ("private-pkg", "beta")
            for accept in (JSON_ACCEPT, "text/html")
        ]
        pip = access.run(run, [*argv, *access.args, "private-pkg", "beta"], error=ResolutionError)

    assert access.args == (f"--index-url={proxy_url}",)
    assert sorted(p.name for p in (tmp_path / "got").iterdir()) == [
        "beta-2.0-py3-none-any.whl",
        PRIVATE,
    ]
    assert f"{named.base_url}/files/{PRIVATE}" in pages[0]
    seen = [*pages, pip.stdout, pip.stderr, *access.args, caplog.text]
    seen += [value for name, value in access.env.items() if name != "NETRC"]
    assert "index proxy: private-pkg from " in caplog.text
    assert all(SECRET not in text for text in seen)
