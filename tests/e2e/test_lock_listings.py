"""A lock for several targets lists each pinned version's files once per run, not per target.

Every target's resolution ends by listing the files of the versions it chose, from the same
index pages; the targets share one ``artifacts.FileListings`` for the run, so envsync reads
each project page once, however many targets there are and however many list it at once.
"""

from __future__ import annotations

import collections
import sys
import threading
from typing import TYPE_CHECKING

import pytest
import tomli_w

from envsync.index.simpleapi import IndexFile
from envsync.resolve.artifacts import FileListings

from helpers import lock_packages, read_lock
from support import platformindex
from support.pkgindex import PackageIndex
from support.runner import envsync

if TYPE_CHECKING:
    from collections.abc import Iterator
    from email.message import Message
    from pathlib import Path

    from envsync.index.loopback import Response

pytestmark = pytest.mark.e2e

PLATFORMS = ["linux-x86_64", "macos-arm64", "windows-x86_64"]
PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"


class EnvsyncReadsIndex(PackageIndex):
    """The platform index, also noting the requests envsync made itself (its User-Agent).

    pip and uv read the same pages while they resolve; only envsync's own reads are counted.
    """

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.by_envsync: list[str] = []

    def answer(self, path: str, headers: Message) -> Response:
        if headers.get("User-Agent") == "envsync":
            self.by_envsync.append(path)  # list.append is atomic: the server's threads share it
        return super().answer(path, headers)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnvsyncReadsIndex]:
    """The platform index, with no Cache-Control: envsync's page cache keeps none of it."""
    root = tmp_path_factory.mktemp("listings-index")
    platformindex.populate(root)
    served = EnvsyncReadsIndex(root).start()
    yield served
    served.stop()


@pytest.mark.parametrize("resolver", ["pip-tools", "uv"])
def test_each_page_is_read_once_per_run_however_many_targets(
    index: EnvsyncReadsIndex, tmp_path: Path, capsys: pytest.CaptureFixture[str], resolver: str
) -> None:
    spec = {
        "env": {
            "python": PYTHON,
            "dependencies": list(platformindex.DEPENDENCIES),
            "resolver": resolver,
        },
        "index": {"url": index.url},
        "lock": {"python-versions": [PYTHON], "platforms": PLATFORMS},
    }
    (tmp_path / "env.toml").write_text(tomli_w.dumps(spec), "utf-8")
    before = len(index.by_envsync)

    result = envsync(capsys, "lock", project=tmp_path)

    assert result.code == 0, result
    environments = read_lock(tmp_path)["environments"]
    assert isinstance(environments, list)
    assert len(environments) == len(PLATFORMS)
    pages = collections.Counter(
        path.removeprefix("/simple/").strip("/")
        for path in index.by_envsync[before:]
        if path.startswith("/simple/") and path != "/simple/"
    )
    # Every package of the lock had its files listed, from one read of its page.
    assert set(pages) == set(lock_packages(tmp_path))
    assert set(pages.values()) == {1}, pages
    # A lock that succeeds never asks an index whether it is there: only a failure does.
    assert [p for p in index.by_envsync[before:] if p.rstrip("/") == "/simple"] == []


def test_threads_asking_for_one_page_at_once_wait_for_one_read() -> None:
    listings = FileListings()
    page = (IndexFile(filename="a-1.0-py3-none-any.whl", url="http://x/a-1.0.whl", sha256="0"),)
    reads: list[str] = []
    reading, release = threading.Event(), threading.Event()

    def read() -> tuple[IndexFile, ...]:
        reads.append("a")
        reading.set()
        release.wait(10)
        return page

    answers: list[tuple[IndexFile, ...]] = []
    threads = [
        threading.Thread(target=lambda: answers.append(listings.files(("idx", "a"), read)))
        for _ in range(3)
    ]
    threads[0].start()
    assert reading.wait(10)  # the first asker is reading; the others come while it does
    for thread in threads[1:]:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(10)

    assert reads == ["a"]
    assert answers == [page, page, page]


def test_a_failed_read_is_not_kept_and_the_next_asker_reads_again() -> None:
    listings = FileListings()
    answers = iter([OSError("index down"), ()])

    def read() -> tuple[IndexFile, ...]:
        answer = next(answers)
        if isinstance(answer, OSError):
            raise answer
        return answer

    with pytest.raises(OSError, match="index down"):
        listings.files("page", read)
    assert listings.files("page", read) == ()
