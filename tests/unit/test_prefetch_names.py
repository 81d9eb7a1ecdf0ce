"""What a relock reads ahead while the resolver runs, and that a failed read is left to the
listing after it (which reads again and reports)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from envsync.core.lockfile import LockedVcs
from envsync.core.spec import Group
from envsync.core.specsources import IndexConfig, Source
from envsync.resolve import prefetch
from envsync.resolve.artifacts import FileListings
from envsync.resolve.protocol import ResolveRequest

if TYPE_CHECKING:
    from collections.abc import Iterator

GIT = LockedVcs(url="https://git.invalid/r.git", commit_id="a" * 40)
MINE = canonicalize_name("mine")


def request(
    dependencies: tuple[str, ...] = (),
    groups: dict[str, tuple[str, ...]] | None = None,
    preferred: tuple[str, ...] = (),
    **changes: object,
) -> ResolveRequest:
    return ResolveRequest(
        dependencies=tuple(Requirement(d) for d in dependencies),
        groups=tuple(
            Group(name=canonicalize_name(n), requirements=tuple(Requirement(r) for r in rs))
            for n, rs in (groups or {}).items()
        ),
        python=Path("/nonexistent/python"),
        python_version="3.11.7",
        index=IndexConfig(url="https://index.invalid/simple"),
        root=Path("/nonexistent"),
        preferred={canonicalize_name(n): Version("1.0") for n in preferred},
        **changes,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("made", "expected"),
    [
        (request(), []),
        (request(["Alpha", "beta>=2"]), ["alpha", "beta"]),
        # The kept pins first (a relock's listing reads mostly those), then the top level.
        (request(["alpha"], preferred=("zeta", "alpha")), ["zeta", "alpha"]),
        (request(["alpha"], {"dev": ("pytest", "alpha")}), ["alpha", "pytest"]),
        # Not on an index: a URL, a local folder, a git checkout.
        (request(["alpha", "pkg @ https://files.invalid/pkg-1.0.tar.gz"]), ["alpha"]),
        (request(["alpha", "mine"], sources=(Source(package=MINE, path="."),)), ["alpha"]),
        (request(["alpha", "gitpkg"], vcs={canonicalize_name("gitpkg"): GIT}), ["alpha"]),
        # A source that only names an index still reads that index's page.
        (
            request(["alpha"], sources=(Source(package=canonicalize_name("alpha"), index="x"),)),
            ["alpha"],
        ),
    ],
)
def test_the_names_read_ahead(made: ResolveRequest, expected: list[str]) -> None:
    assert prefetch.names_to_prefetch(made) == expected


class FakeSources:
    """Sources whose first place for a name is a read recorded here (or an error)."""

    def __init__(self, listings: FileListings, failing: set[str], gate: threading.Event) -> None:
        self.listings, self.failing, self.gate = listings, failing, gate
        self.read: list[str] = []

    def files(
        self, name: str, *, keep_failure: bool = False
    ) -> Iterator[tuple[str, tuple[object, ...]]]:
        def read() -> tuple[object, ...]:
            self.gate.wait(10)
            self.read.append(name)
            if name in self.failing:
                raise OSError(f"{name}: connection refused")
            return (f"{name}-1.0.whl",)

        found = self.listings.files(name, read, keep_failure=keep_failure)  # type: ignore[arg-type]
        yield "https://index.invalid/simple", found


def settled(condition: object, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.005)


def test_a_page_read_ahead_is_kept_and_so_is_its_failure_for_the_listing() -> None:
    listings, gate = FileListings(), threading.Event()
    gate.set()
    sources = FakeSources(listings, {"beta"}, gate)

    work = prefetch._Prefetch(sources, ["alpha", "beta"])  # type: ignore[arg-type]
    settled(lambda: len(sources.read) == 2)
    work.stop()

    assert listings.files("alpha", lambda: pytest.fail("read twice")) == ("alpha-1.0.whl",)
    # The failure (after its retries) is the listing's answer: the page is not tried again,
    # so a page that keeps failing costs no more tries than when the listing read it alone.
    with pytest.raises(OSError, match="beta: connection refused"):
        listings.files("beta", lambda: pytest.fail("read again"))
    assert sorted(sources.read) == ["alpha", "beta"]


def test_a_failure_read_by_the_listing_itself_is_not_kept() -> None:
    listings = FileListings()
    with pytest.raises(OSError, match="down"):
        listings.files("gamma", lambda: (_ for _ in ()).throw(OSError("down")))
    assert listings.files("gamma", lambda: ("gamma-1.0.whl",)) == ("gamma-1.0.whl",)


def test_once_stopped_no_read_starts() -> None:
    listings, gate = FileListings(), threading.Event()  # the gate holds the first reads
    sources = FakeSources(listings, set(), gate)
    names = [f"p{i}" for i in range(40)]

    work = prefetch._Prefetch(sources, names)  # type: ignore[arg-type]
    work.stop()
    gate.set()
    settled(lambda: False, 0.2)  # give any thread that would go on the time to do so

    assert len(sources.read) <= 8  # at most the reads already in flight, one per thread
