"""Every target must be able to install what the lock gives it, or the lock fails.

This machine (glibc 2.36) accepts a wheel built for glibc 2.34, so pip-compile, run here
for this machine's own target, picks it; but a ``linux-x86_64`` lock promises glibc 2.28
and older (core/targets.GLIBC_FLOOR), where that wheel does not install. The lock fails
naming the package, the target and the fix, and writes nothing; with an sdist beside the
wheel the target has a file it can build from, and the lock is written.
"""

from __future__ import annotations

import platform
import sys
from typing import TYPE_CHECKING

import pytest

from helpers import envsync, write_spec
from support import Dist, build_dist
from support.pkgindex import PackageIndex

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        (sys.platform, platform.machine()) != ("linux", "x86_64")
        or tuple(map(int, platform.libc_ver()[1].split(".")[:2] or (0, 0))) < (2, 34),
        reason="needs a Linux x86_64 machine whose glibc accepts manylinux_2_34 wheels",
    ),
]

NEW_GLIBC = "cp3{0}-none-manylinux_2_34_x86_64"


@pytest.fixture
def index(tmp_path: Path) -> Iterator[PackageIndex]:
    root = tmp_path / "index"
    root.mkdir()
    minor = sys.version_info[1]
    build_dist(root, Dist("newglibc", "1.0", tags=(NEW_GLIBC.format(minor),)))
    build_dist(root, Dist("withsdist", "1.0", tags=(NEW_GLIBC.format(minor),)))
    build_dist(root, Dist("withsdist", "1.0", sdist_only=True))
    served = PackageIndex(root).start()
    yield served
    served.stop()


def test_a_wheel_beyond_the_platforms_floor_fails_the_lock_naming_package_and_target(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, index: PackageIndex
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    write_spec(project, ["newglibc"], index_url=index.url)

    result = envsync(capsys, "lock", project=project)

    minor = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert result.code == 1
    assert (
        f"error: nothing in the lock installs on Python {minor} on linux-x86_64: newglibc 1.0 "
        "(has no wheel for linux-x86_64 and no sdist)"
    ) in result.err
    assert "pin a version that ships a wheel for linux-x86_64" in result.err
    assert not (project / "pylock.toml").exists()


def test_an_sdist_beside_the_wheel_is_a_file_the_target_can_build_from(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, index: PackageIndex
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    write_spec(project, ["withsdist"], index_url=index.url)

    assert envsync(capsys, "lock", project=project).code == 0
    assert "withsdist-1.0.tar.gz" in (project / "pylock.toml").read_text("utf-8")
