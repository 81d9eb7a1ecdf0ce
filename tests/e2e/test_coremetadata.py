"""A wheel's Requires-Dist read from the PEP 658 metadata file beside it on the test index."""

from __future__ import annotations

import io
import json
import logging
import random
import re
import zipfile
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from envsync.errors import HashMismatchError, IndexUnreachableError
from envsync.index import coremetadata, simpleapi
from envsync.index.connections import Connections
from envsync.index.credentials import Upstream
from envsync.index.loopback import LoopbackSite, Response

from support.pkgindex import PackageIndex
from support.wheels import build_wheel

if TYPE_CHECKING:
    from collections.abc import Iterator
    from email.message import Message
    from pathlib import Path

pytestmark = pytest.mark.e2e


def listed(
    index: PackageIndex, project: str, login: tuple[str, str] | None = None
) -> dict[str, simpleapi.IndexFile]:
    files = simpleapi.files_for(Upstream(url=index.url, login=login), project)
    return {f.filename: f for f in files}


def test_the_lines_come_from_the_file_the_page_vouches_for(
    fresh_index: PackageIndex, tmp_path: Path
) -> None:
    fresh_index.add(
        build_wheel(tmp_path, "omega", "1.0", requires=["beta>=1.0", "not a requirement!"])
    )
    wheel = listed(fresh_index, "omega")["omega-1.0-py3-none-any.whl"]

    assert [str(r) for r in coremetadata.requires_dist(wheel) or ()] == ["beta>=1.0"]
    with pytest.raises(HashMismatchError, match="does not match its sha256 on the index page"):
        coremetadata.requires_dist(replace(wheel, core_metadata="0" * 64))


def test_nothing_is_recorded_where_nothing_is_offered(
    package_index: PackageIndex, tmp_path: Path
) -> None:
    sdist = listed(package_index, "sdist-only")["sdist_only-1.0.tar.gz"]
    assert sdist.core_metadata is None
    assert coremetadata.requires_dist(sdist) is None
    said_so = simpleapi.IndexFile(
        filename=sdist.filename, url=sdist.url, sha256=None, core_metadata="0" * 64
    )
    assert coremetadata.requires_dist(said_so) is None  # the index answers 404
    gone = (tmp_path / "gone.whl").as_uri()
    local = simpleapi.IndexFile(filename="gone.whl", url=gone, sha256=None, core_metadata="0" * 64)
    assert coremetadata.requires_dist(local) is None


def test_a_file_the_page_does_not_offer_is_asked_for_and_costs_nothing_when_absent(
    fresh_index: PackageIndex, tmp_path: Path
) -> None:
    fresh_index.add(build_wheel(tmp_path, "omega", "1.0", requires=["beta>=1.0"]))
    fresh_index.offer_metadata = False  # a mirror that passes the pages on without the offer
    wheel = listed(fresh_index, "omega")["omega-1.0-py3-none-any.whl"]
    assert wheel.core_metadata is None

    assert [str(r) for r in coremetadata.requires_dist(wheel) or ()] == ["beta>=1.0"]
    # Not served at all, or not over HTTP: nothing recorded, and no error.
    missing = replace(wheel, url=wheel.url.replace("omega-1.0", "omega-9.9"))
    assert coremetadata.requires_dist(missing) is None
    local = replace(wheel, url=(tmp_path / "omega-1.0-py3-none-any.whl").as_uri())
    assert coremetadata.requires_dist(local) is None


def without_metadata_files(index: PackageIndex) -> PackageIndex:
    """*index* as a mirror that keeps only the files: no offer, and `.metadata` answers 404."""
    index.offer_metadata = False
    index.serve_metadata_files = False
    return index


def rewrite(wheel: Path, order: str = "as built", **extra: bytes) -> Path:
    """Rewrite the zip *wheel* with the *extra* members (path -> bytes, stored uncompressed),
    its dist-info members first or as built (last, as wheel builders place them)."""
    with zipfile.ZipFile(wheel) as archive:
        members = [(i, archive.read(i)) for i in archive.infolist() if i.filename not in extra]
    members += [(zipfile.ZipInfo(path), data) for path, data in extra.items()]
    if order == "dist-info first":
        members.sort(key=lambda member: ".dist-info/" not in member[0].filename)
    with zipfile.ZipFile(wheel, "w") as archive:
        for info, data in members:
            archive.writestr(info, data)
    return wheel


def wheel_requests(index: PackageIndex, filename: str) -> tuple[int, int]:
    """How often the index was asked for the file *filename*: in all, and for a byte range."""
    path = f"/files/{filename}"
    return index.requests.count(path), [p for p, _ in index.range_requests].count(path)


@pytest.mark.parametrize("kept", [False, True], ids=["a-connection-each", "kept-connections"])
@pytest.mark.parametrize(("order", "ranges"), [("as built", 1), ("dist-info first", 2)])
def test_without_metadata_files_the_wheel_is_read_through_a_few_ranges(
    fresh_index: PackageIndex, tmp_path: Path, order: str, ranges: int, *, kept: bool
) -> None:
    # 300 KB of incompressible payload: a wheel too large to read in one range.
    noise = random.Random(0).randbytes(150_000)  # noqa: S311 - test data, not a secret
    payload = {"omega/data.txt": noise.hex()}
    built = build_wheel(tmp_path, "omega", "1.0", requires=["beta>=1.0"], files=payload)
    fresh_index.add(rewrite(built, order))
    wheel = listed(without_metadata_files(fresh_index), "omega")[built.name]
    assert wheel.core_metadata is None

    connections = Connections() if kept else None
    found = coremetadata.requires_dist(wheel, None, connections)

    assert [str(r) for r in found or ()] == ["beta>=1.0"]
    assert f"/files/{built.name}.metadata" in fresh_index.requests  # asked first: 404
    assert wheel_requests(fresh_index, built.name) == (ranges, ranges)  # never the whole file


def test_a_login_reaches_the_ranges(wheelhouse: Path) -> None:
    with PackageIndex(wheelhouse, auth=("user", "secret")) as index:
        wheel = listed(without_metadata_files(index), "alpha", ("user", "secret"))[
            "alpha-2.0-py3-none-any.whl"
        ]
        assert [str(r) for r in coremetadata.requires_dist(wheel, ("user", "secret")) or ()] == [
            "beta>=1.0"
        ]
        assert coremetadata.requires_dist(wheel) is None  # 401 for the file, then for ranges


def test_a_server_without_ranges_is_left_at_once(
    fresh_index: PackageIndex, caplog: pytest.LogCaptureFixture
) -> None:
    without_metadata_files(fresh_index).accept_ranges = False
    wheel = listed(fresh_index, "alpha")["alpha-2.0-py3-none-any.whl"]

    with caplog.at_level(logging.DEBUG, logger="envsync.index.lazywheel"):
        assert coremetadata.requires_dist(wheel) is None

    assert wheel_requests(fresh_index, wheel.filename) == (1, 1)  # one answer, left unread
    assert "the server answered 200 without a byte range" in caplog.text


def stored_metadata(size: int) -> bytes:
    """A METADATA file of about *size* bytes that no compression shrinks much."""
    padding = random.Random(1).randbytes(size // 2).hex()  # noqa: S311 - not a secret
    return f"Metadata-Version: 2.1\nName: omega\nVersion: 1.0\n\n{padding}\n".encode()


def _zip(**members: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in members.items():
            archive.writestr(path, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"not a zip", "File is not a zip file"),
        (_zip(**{"omega/__init__.py": b""}), "0 .dist-info/METADATA files in the wheel, not one"),
        (
            _zip(**{"omega-1.0.dist-info/METADATA": b"Name: omega\n" * 200_000}),
            "its METADATA is too large",  # 2.4 MB, deflated to a few kilobytes
        ),
    ],
    ids=["not a zip", "no METADATA", "METADATA too large"],
)
def test_a_broken_wheel_only_costs_the_texts(
    fresh_index: PackageIndex,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    content: bytes,
    why: str,
) -> None:
    (tmp_path / "omega-1.0-py3-none-any.whl").write_bytes(content)
    fresh_index.add(tmp_path / "omega-1.0-py3-none-any.whl")
    wheel = listed(without_metadata_files(fresh_index), "omega")["omega-1.0-py3-none-any.whl"]

    with caplog.at_level(logging.DEBUG, logger="envsync.index.lazywheel"):
        assert coremetadata.requires_dist(wheel) is None

    assert why in caplog.text
    assert wheel_requests(fresh_index, wheel.filename)[0] <= 2  # the tail, a member


def test_no_more_than_a_mebibyte_is_read(
    fresh_index: PackageIndex, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    built = build_wheel(tmp_path, "omega", "1.0")
    fresh_index.add(rewrite(built, **{"omega-1.0.dist-info/METADATA": stored_metadata(1_000_000)}))
    wheel = listed(without_metadata_files(fresh_index), "omega")[built.name]

    with caplog.at_level(logging.DEBUG, logger="envsync.index.lazywheel"):
        assert coremetadata.requires_dist(wheel) is None

    assert "more than 8 requests or 1048576 bytes" in caplog.text


class ShortRanges(LoopbackSite):
    """A server that answers each range with 206 but fewer bytes than asked (*sent*), or
    with a Content-Range outside the file; no metadata files."""

    def __init__(self, content: bytes, sent: str) -> None:
        self.content = content
        self.sent = sent
        self.asked: list[str] = []

    def answer(self, path: str, headers: Message) -> Response:
        if path.endswith(".metadata"):
            return Response(status=404)
        self.asked.append(headers.get("Range", ""))
        size = len(self.content)
        first = int(re.findall(r"\d+", self.asked[-1])[0])
        first = max(size - first, 0) if "=-" in self.asked[-1] else first
        span = f"{first}-{first}" if self.sent == "one byte" else f"0-{size}"
        body = self.content[first : first + 1] if self.sent == "one byte" else self.content
        return Response(status=206, body=body, headers=(("Content-Range", f"bytes {span}/{size}"),))


@pytest.mark.parametrize(
    ("sent", "asked", "why"),
    [
        ("one byte", 8, "more than 8 requests"),
        ("past the end", 1, "the server sent the range 0-"),
    ],
)
def test_a_server_that_sends_other_ranges_is_given_up_on(
    wheelhouse: Path, caplog: pytest.LogCaptureFixture, sent: str, asked: int, why: str
) -> None:
    filename = "alpha-2.0-py3-none-any.whl"
    with ShortRanges((wheelhouse / filename).read_bytes(), sent) as site:
        url = f"http://user:secret@127.0.0.1:{site.server.port}/files/{filename}"
        wheel = simpleapi.IndexFile(filename=filename, url=url, sha256=None)
        with caplog.at_level(logging.DEBUG, logger="envsync.index.lazywheel"):
            assert coremetadata.requires_dist(wheel) is None

    assert len(site.asked) == asked
    assert why in caplog.text
    assert "secret" not in caplog.text


@pytest.fixture
def guarded_index(wheelhouse: Path, tmp_path: Path) -> Iterator[PackageIndex]:
    index = PackageIndex(wheelhouse, auth=("user", "secret")).start()
    yield index
    index.stop()


def test_a_refusal_or_an_unreadable_file_is_an_error(
    guarded_index: PackageIndex, tmp_path: Path
) -> None:
    wheel = listed(guarded_index, "alpha", ("user", "secret"))["alpha-2.0-py3-none-any.whl"]

    assert [str(r) for r in coremetadata.requires_dist(wheel, ("user", "secret")) or ()] == [
        "beta>=1.0"
    ]
    with pytest.raises(IndexUnreachableError, match="cannot read the metadata file"):
        coremetadata.requires_dist(wheel)  # no login: 401
    # Where the page did not vouch for the file, a refusal only costs the texts.
    assert coremetadata.requires_dist(replace(wheel, core_metadata=None)) is None
    (tmp_path / "folder.whl.metadata").mkdir()
    folder = simpleapi.IndexFile(
        filename="folder.whl",
        url=(tmp_path / "folder.whl").as_uri(),
        sha256=None,
        core_metadata="0" * 64,
    )
    with pytest.raises(IndexUnreachableError, match="cannot read the metadata file"):
        coremetadata.requires_dist(folder)


@pytest.mark.parametrize(
    ("offer", "sha256"),
    [
        ('data-core-metadata="sha256=abc"', "abc"),
        ('data-dist-info-metadata="sha256=abc"', "abc"),
        ('data-core-metadata="true"', None),
        ('data-core-metadata="md5=abc"', None),
        ("", None),
    ],
)
def test_an_html_page_offer(offer: str, sha256: str | None) -> None:
    page = f'<a href="a-1.0-py3-none-any.whl" {offer}>a-1.0-py3-none-any.whl</a>'
    [file] = simpleapi._parse_html(page, "https://index.test/simple/a/")
    assert file.core_metadata == sha256


@pytest.mark.parametrize(
    ("entry", "sha256"),
    [
        ({"core-metadata": {"sha256": "abc"}}, "abc"),
        ({"dist-info-metadata": {"sha256": "abc"}}, "abc"),
        ({"core-metadata": True}, None),
        ({"core-metadata": {"md5": "abc"}}, None),
        ({}, None),
    ],
)
def test_a_json_page_offer(entry: dict[str, object], sha256: str | None) -> None:
    body = json.dumps({"files": [{"filename": "a-1.0-py3-none-any.whl", "url": "a.whl", **entry}]})
    [file] = simpleapi._parse_json(body.encode(), "https://index.test/simple/a/")
    assert file.core_metadata == sha256
