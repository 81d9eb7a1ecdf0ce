"""Session fixtures: pip isolation, the wheelhouse and the local package index."""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

from support import populate_wheelhouse
from support.pkgindex import PackageIndex

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

# Hypothesis profiles. "ci" (the default: `pytest --cov`, .ci/run) is derandomized, so a
# green run stays green and a red one is red on every machine: the suite never depends on
# which examples chance picked. "explore" (HYPOTHESIS_PROFILE=explore) draws ten times as
# many random examples to hunt for new failures; what it finds becomes an @example or a
# corpus case, so that "ci" checks it from then on. Tests set deadlines and health checks in
# their own @settings, never derandomize or max_examples, so the profile decides both.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", max_examples=1000, derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session", autouse=True)
def _isolate_pip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the machine's pip.conf files and PIP_* variables out of the whole session.

    envsync's wheel cache goes to a session folder too, so no run shares it with the user's
    (or with an earlier run's) ~/.cache/envsync; so do pip's and uv's. Retries wait 10 ms,
    not 0.25 s: a test of an index that is down would otherwise wait seconds per command
    (the retry tests set their own policy).
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENVSYNC_CACHE_DIR", str(tmp_path_factory.mktemp("envsync-cache")))
        for key in [k for k in os.environ if k.startswith(("ENVSYNC_HTTP_", "ENVSYNC_FAULT"))]:
            patch.delenv(key)
        patch.setenv("ENVSYNC_HTTP_BACKOFF", "0.01")
        for key in [k for k in os.environ if k.startswith("PIP_")]:
            patch.delenv(key)
        patch.setenv("PIP_CONFIG_FILE", os.devnull)
        patch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        # pip's and uv's caches too: no run reads a wheel an earlier run built at a URL that
        # a test index on a reused port serves again, and no test writes to ~/.cache.
        patch.setenv("PIP_CACHE_DIR", str(tmp_path_factory.mktemp("pip-cache")))
        patch.setenv("UV_CACHE_DIR", str(tmp_path_factory.mktemp("uv-cache")))
        yield


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a directory holding every distribution of `support.DISTS` (never modify it)."""
    root = tmp_path_factory.mktemp("wheelhouse")
    populate_wheelhouse(root)
    return root


def _serve_copy(wheelhouse: Path, root: Path) -> PackageIndex:
    shutil.copytree(wheelhouse, root)
    return PackageIndex(root).start()


@pytest.fixture(scope="session")
def package_index(
    wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PackageIndex]:
    """Serve a copy of the wheelhouse for the whole session (do not add files to it)."""
    index = _serve_copy(wheelhouse, tmp_path_factory.mktemp("index") / "files")
    yield index
    index.stop()


@pytest.fixture
def fresh_index(wheelhouse: Path, tmp_path: Path) -> Iterator[PackageIndex]:
    """Serve a private copy of the wheelhouse, for tests that publish files mid-test."""
    index = _serve_copy(wheelhouse, tmp_path / "index")
    yield index
    index.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With ENVSYNC_FASTPATH=0 the suite runs every apply through the full path: the tests
    of the fast paths themselves (marked ``fastpath``) have nothing to test then."""
    if os.environ.get("ENVSYNC_FASTPATH") != "0":
        return
    off = pytest.mark.skip(reason="ENVSYNC_FASTPATH=0: the fast paths are off")
    for item in items:
        if item.get_closest_marker("fastpath"):
            item.add_marker(off)
