"""A wheel's Requires-Dist read from the PEP 658 metadata file beside it on the test index."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from envsync.errors import HashMismatchError, IndexUnreachableError
from envsync.index import coremetadata, simpleapi
from envsync.index.credentials import Upstream

from support.pkgindex import PackageIndex
from support.wheels import build_wheel

if TYPE_CHECKING:
    from collections.abc import Iterator
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
