"""A relock reads the pages of the pins it keeps while the resolver runs, each once.

The runner below holds pip-compile back until those pages have been read: without the
prefetch nothing reads them before pip-compile has run, and the test fails on its timeout.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from envsync.core.specsources import IndexConfig
from envsync.resolve.artifacts import FileListings
from envsync.resolve.piptools import PipToolsResolver
from envsync.resolve.protocol import ResolveRequest
from envsync.system.process import run

if TYPE_CHECKING:
    from support.pkgindex import PackageIndex

#: The pins a relock of ["alpha", "theta"] keeps from a lock of ["alpha"].
KEPT = {"alpha": "2.0", "beta": "2.0"}
#: What the prefetch reads: the kept pins' pages and the top-level names' (theta is new).
PREFETCHED = {"/simple/alpha/", "/simple/beta/", "/simple/theta/"}


def _pages(index: PackageIndex) -> list[str]:
    return [p for p in index.requests if p.startswith("/simple/") and p != "/simple/"]


def test_the_kept_pins_pages_are_read_before_pip_compile_runs_and_once_by_envsync(
    fresh_index: PackageIndex, tmp_path: Path
) -> None:
    seen_at_start: list[list[str]] = []

    def held_back(argv: Any, **kwargs: Any) -> Any:
        # Wait for every page the prefetch reads: its threads finish in any order.
        deadline = time.monotonic() + 60
        while not set(_pages(fresh_index)) >= PREFETCHED and time.monotonic() < deadline:
            time.sleep(0.01)
        seen_at_start.append(_pages(fresh_index))
        return run(argv, **kwargs)

    request = ResolveRequest(
        dependencies=(Requirement("alpha"), Requirement("theta")),
        groups=(),
        python=Path(sys.executable),
        python_version=platform.python_version(),
        index=IndexConfig(url=fresh_index.url),
        root=tmp_path,
        preferred={canonicalize_name(k): Version(v) for k, v in KEPT.items()},
        listings=FileListings(),
    )

    resolution = PipToolsResolver(runner=held_back).resolve(request)

    assert {p.name: str(p.version) for p in resolution.packages} == {**KEPT, "theta": "1.0"}
    assert all(p.wheels for p in resolution.packages)  # each listed, with its files
    before = seen_at_start[0]
    assert set(before) >= PREFETCHED
    # Each page once by envsync (before pip-compile), and once by pip: never twice by envsync.
    after = _pages(fresh_index)[len(before) :]
    assert all(before.count(page) == 1 for page in before)
    assert all(after.count(page) <= 1 for page in after)
