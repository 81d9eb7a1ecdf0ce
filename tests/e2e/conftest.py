"""Fixtures of the end-to-end tests: projects synced against the local package index."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from helpers import applied, write_spec
from support import platformindex
from support.pkgindex import PackageIndex

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from helpers import SyncProject

__all__ = ["own_cache", "platform_index", "project", "sync_project", "synced"]


@pytest.fixture
def project(tmp_path: Path, package_index: PackageIndex) -> Path:
    """A project folder with env.toml asking for alpha from the local index; nothing else yet.

    A module whose tests start from another env.toml defines its own `project`.
    """
    write_spec(tmp_path, ["alpha"], index_url=package_index.url)
    return tmp_path


@pytest.fixture
def sync_project(capsys: pytest.CaptureFixture[str], package_index: PackageIndex) -> SyncProject:
    """A factory of synced projects, for tests that want other packages or groups, or two."""

    def sync(
        root: Path,
        dependencies: list[str] | None = None,
        *,
        groups: dict[str, list[str]] | None = None,
    ) -> Path:
        wanted = ["alpha"] if dependencies is None else dependencies
        root.mkdir(parents=True, exist_ok=True)
        write_spec(root, wanted, index_url=package_index.url, groups=groups)
        applied(capsys, root)
        return root

    return sync


@pytest.fixture
def synced(sync_project: SyncProject, tmp_path: Path) -> Path:
    """A project whose venv equals its fresh lock: alpha (and beta), group dev = cli-tool.

    The group is declared and locked, and not installed: a plain apply leaves it out.
    """
    return sync_project(tmp_path, groups={"dev": ["cli-tool"]})


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A wheel cache of the test's own, for tests that damage its files or need it cold.

    Every other test shares the session's cache (tests/conftest.py).
    """
    monkeypatch.setenv("ENVSYNC_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def platform_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackageIndex]:
    """Serve the platform index (support.platformindex) for the whole session.

    Its packages resolve differently on each lock target (markers, wheel tags,
    Requires-Python); do not add files to it.
    """
    root = tmp_path_factory.mktemp("platform-index")
    platformindex.populate(root)
    index = PackageIndex(root).start()
    yield index
    index.stop()
