"""Index pages kept in envsync's cache as the index's Cache-Control allows, on a real index."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from envsync.index import simpleapi
from envsync.index.credentials import Upstream

from support.wheels import build_wheel

if TYPE_CHECKING:
    from pathlib import Path

    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e

PAGE = "/simple/theta/"


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ENVSYNC_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def listed(index: PackageIndex) -> list[str]:
    return sorted(f.filename for f in simpleapi.files_for(Upstream(url=index.url), "theta"))


def asked(index: PackageIndex) -> int:
    return index.requests.count(PAGE)


def test_a_fresh_page_is_not_asked_for_again(fresh_index: PackageIndex) -> None:
    fresh_index.page_cache_control = "max-age=600, public"
    first = listed(fresh_index)
    assert listed(fresh_index) == first
    assert asked(fresh_index) == 1


def test_a_stale_page_is_revalidated_and_a_change_is_seen(
    fresh_index: PackageIndex, tmp_path: Path
) -> None:
    fresh_index.page_cache_control = "max-age=0"
    first = listed(fresh_index)
    assert listed(fresh_index) == first  # asked again: 304, the kept page is used
    assert asked(fresh_index) == 2

    build_wheel(fresh_index.root, "theta", "9.0")  # published since
    assert listed(fresh_index) == sorted([*first, "theta-9.0-py3-none-any.whl"])
    assert asked(fresh_index) == 3


@pytest.mark.parametrize("control", [None, "no-store", "no-cache"])
def test_pages_the_index_does_not_let_us_keep_are_asked_for_every_time(
    fresh_index: PackageIndex, control: str | None
) -> None:
    fresh_index.page_cache_control = control
    listed(fresh_index)
    build_wheel(fresh_index.root, "theta", "9.0")
    assert "theta-9.0-py3-none-any.whl" in listed(fresh_index)
    assert asked(fresh_index) == 2


def test_a_damaged_cache_entry_is_fetched_again(fresh_index: PackageIndex, cache: Path) -> None:
    fresh_index.page_cache_control = "max-age=600"
    first = listed(fresh_index)
    for body in cache.glob("pages/*/*.body"):
        body.write_bytes(b"{}")
    assert listed(fresh_index) == first
    assert asked(fresh_index) == 2


def test_pages_are_kept_per_user(fresh_index: PackageIndex) -> None:
    fresh_index.page_cache_control = "max-age=600"
    for login in (("alice", "pw"), ("bob", "pw"), ("alice", "other")):
        simpleapi.files_for(Upstream(url=fresh_index.url, login=login), "theta")
    assert asked(fresh_index) == 2  # alice's second password reuses alice's page
