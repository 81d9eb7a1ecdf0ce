"""The test index is real: pip downloads, resolves and builds from it over HTTP."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from support import UNIVERSE, isolated_env, run_pip
from support.pkgindex import JSON_TYPE, PackageIndex
from support.wheels import build_sdist, build_wheel, record_hash

pytestmark = pytest.mark.e2e


def fetch(url: str, *, accept: str | None = None) -> tuple[int, str, bytes]:
    """GET a URL; return (status, content type, body), HTTP errors included."""
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers["Content-Type"], error.read()


def page_hashes(index: PackageIndex, project: str) -> dict[str, str]:
    """Return filename -> sha256 as listed on the project's HTML page."""
    _, _, body = fetch(f"{index.url}/{project}/")
    return dict(re.findall(r'href="\.\./\.\./files/([^"#]+)#sha256=([0-9a-f]{64})"', body.decode()))


def test_pip_download_gets_the_file_whose_hash_the_page_lists(package_index, tmp_path):
    result = run_pip(
        "download", "--no-deps", "--index-url", package_index.url, "alpha==2.0", "-d", tmp_path
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.iterdir()
    assert wheel.name == "alpha-2.0-py3-none-any.whl"
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert page_hashes(package_index, "alpha")[wheel.name] == digest


def test_pip_install_pulls_the_dependency(package_index, tmp_path):
    result = run_pip(
        "install", "--index-url", package_index.url, "--target", tmp_path, "alpha==2.0"
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "alpha-2.0.dist-info").is_dir()
    assert (tmp_path / "beta-2.0.dist-info").is_dir()
    assert (tmp_path / "beta" / "__init__.py").read_text() == '__version__ = "2.0"\n'


def test_pip_builds_the_sdist_offline(package_index, tmp_path):
    target = tmp_path / "target"
    result = run_pip("install", "--index-url", package_index.url, "--target", target, "sdist-only")
    assert result.returncode == 0, result.stderr
    version = subprocess.run(
        [sys.executable, "-c", "import sdist_only; print(sdist_only.__version__)"],
        env=isolated_env({"PYTHONPATH": str(target)}),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert version == "1.0\n"
    assert "/files/sdist_only-1.0.tar.gz" in package_index.requests


def test_broken_sdist_fails_to_build(fresh_index, tmp_path):
    fresh_index.add(build_sdist(tmp_path, "broken-pkg", "1.0", broken=True))
    result = run_pip(
        "install", "--index-url", fresh_index.url, "--target", tmp_path / "t", "broken-pkg"
    )
    assert result.returncode != 0
    assert "broken on purpose" in result.stdout + result.stderr


def test_json_api_answers_with_its_content_type(package_index):
    status, content_type, body = fetch(f"{package_index.url}/alpha/", accept=JSON_TYPE)
    assert (status, content_type) == (200, JSON_TYPE)
    page = json.loads(body)
    assert page["meta"]["api-version"] == "1.1"
    assert page["versions"] == ["1.0", "2.0"]
    hashes = {f["filename"]: f["hashes"]["sha256"] for f in page["files"]}
    assert hashes == page_hashes(package_index, "alpha")


def test_html_by_default_and_every_project_listed(package_index):
    status, content_type, body = fetch(f"{package_index.url}/")
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    assert set(re.findall(r'href="([^"/]+)/"', body.decode())) == set(UNIVERSE)


def test_page_declares_requires_python_and_core_metadata(package_index):
    _, _, body = fetch(f"{package_index.url}/kappa/")
    (anchor,) = re.findall(r"<a [^>]*kappa-1\.0[^>]*>", body.decode())
    assert 'data-requires-python="&gt;=3.12"' in anchor
    metadata_hash = re.search(r'data-core-metadata="sha256=([0-9a-f]{64})"', anchor)
    assert metadata_hash
    _, _, metadata = fetch(f"{package_index.base_url}/files/kappa-1.0-py3-none-any.whl.metadata")
    assert hashlib.sha256(metadata).hexdigest() == metadata_hash[1]
    assert b"Requires-Python: >=3.12" in metadata


def test_unknown_project_is_404_and_unnormalized_name_redirects(package_index):
    assert fetch(f"{package_index.url}/no-such-project/")[0] == 404
    status, _, body = fetch(f"{package_index.url}/CLI_Tool/")
    assert status == 200
    assert "cli_tool-1.0-py3-none-any.whl" in body.decode()
    assert "/simple/cli-tool/" in package_index.requests


def test_published_file_shows_up_while_running(fresh_index, tmp_path):
    fresh_index.add(build_wheel(tmp_path, "alpha", "3.0"))
    result = run_pip("install", "--index-url", fresh_index.url, "--target", tmp_path / "t", "alpha")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "t" / "alpha-3.0.dist-info").is_dir()


def ranged(url: str, header: str) -> tuple[int, str | None, bytes]:
    """GET a URL with a Range header; return (status, Content-Range, body)."""
    request = urllib.request.Request(url, headers={"Range": header})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Range"], response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers["Content-Range"], error.read()


def test_files_are_served_in_byte_ranges_when_asked(fresh_index):
    name = "alpha-2.0-py3-none-any.whl"
    url = f"{fresh_index.base_url}/files/{name}"
    data = (fresh_index.root / name).read_bytes()
    size = len(data)

    assert ranged(url, "bytes=0-9") == (206, f"bytes 0-9/{size}", data[:10])
    assert ranged(url, "bytes=-22") == (206, f"bytes {size - 22}-{size - 1}/{size}", data[-22:])
    tail = (206, f"bytes {size - 5}-{size - 1}/{size}", data[-5:])
    assert ranged(url, f"bytes={size - 5}-") == tail
    assert ranged(url, f"bytes=-{size * 2}") == (206, f"bytes 0-{size - 1}/{size}", data)
    assert ranged(url, f"bytes={size}-") == (416, f"bytes */{size}", b"")
    assert ranged(url, "bytes=-0") == (416, f"bytes */{size}", b"")
    assert ranged(url, "bytes=0-1,5-6") == (200, None, data)  # several ranges: ignored
    assert fresh_index.range_requests[0] == (f"/files/{name}", "bytes=0-9")

    fresh_index.accept_ranges = False
    assert ranged(url, "bytes=0-9") == (200, None, data)
    fresh_index.serve_metadata_files = False
    assert fetch(f"{url}.metadata")[0] == 404


def test_auth_is_required_when_configured(wheelhouse, tmp_path):
    with PackageIndex(wheelhouse, auth=("user", "secret")) as index:
        assert fetch(f"{index.url}/alpha/")[0] == 401
        token = base64.b64encode(b"user:secret").decode()
        request = urllib.request.Request(
            f"{index.url}/alpha/", headers={"Authorization": f"Basic {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        ok = run_pip("download", "--no-deps", "-i", index.url_with_auth, "beta", "-d", tmp_path)
        assert ok.returncode == 0, ok.stderr
        denied = run_pip("download", "--no-deps", "-i", index.url, "beta", "-d", tmp_path / "x")
        assert denied.returncode != 0


def test_keep_alive_serves_two_requests_on_one_connection(package_index):
    before = package_index.connection_count
    connection = http.client.HTTPConnection("127.0.0.1", package_index.port, timeout=10)
    try:
        for _ in range(2):
            connection.request("GET", "/simple/alpha/")
            response = connection.getresponse()
            assert response.status == 200
            assert response.read()
            assert not response.will_close
    finally:
        connection.close()
    assert package_index.connection_count == before + 1


def test_fifty_concurrent_requests_all_succeed(package_index):
    start = threading.Barrier(50)

    def get(_: int) -> int:
        start.wait(timeout=10)
        return fetch(f"{package_index.url}/beta/")[0]

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(get, range(50)))
    assert statuses == [200] * 50


def test_wheels_are_valid_and_byte_stable(wheelhouse, tmp_path):
    for wheel in wheelhouse.glob("*.whl"):
        with zipfile.ZipFile(wheel) as archive:
            assert archive.testzip() is None
            record = next(n for n in archive.namelist() if n.endswith(".dist-info/RECORD"))
            rows = [line.split(",") for line in archive.read(record).decode().splitlines()]
            for path, digest, size in rows:
                if path == record:
                    assert (digest, size) == ("", "")
                    continue
                data = archive.read(path)
                assert (digest, size) == (record_hash(data), str(len(data)))
            assert sorted(archive.namelist()) == sorted(row[0] for row in rows)
    again = build_wheel(tmp_path, "alpha", "2.0", requires=("beta>=1.0",))
    assert again.read_bytes() == (wheelhouse / again.name).read_bytes()
    sdist = build_sdist(tmp_path, "sdist-only", "1.0")
    assert sdist.read_bytes() == (wheelhouse / sdist.name).read_bytes()
