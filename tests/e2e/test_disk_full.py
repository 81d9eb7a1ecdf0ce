"""A disk that fills up during an install: the venv is put back and the message says what to free.

The real case needs a small filesystem: a 2 MiB tmpfs mounted for the test (root only, else
skipped). The injected case (ENVSYNC_FAULT_SIGNAL=ENOSPC) runs everywhere.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from envsync.install import transaction

from helpers import envsync_process, write_spec
from support.wheels import build_wheel

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e


def state(venv: Path) -> dict[str, str]:
    return {
        p.relative_to(venv).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(venv.rglob("*"))
        if p.is_file() and not p.is_symlink() and "__pycache__" not in p.parts
    }


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs at tmp_path/small, unmounted afterwards."""
    mount, umount = shutil.which("mount"), shutil.which("umount")
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or not mount or not umount:
        pytest.skip("mounting a small tmpfs needs root on Linux")
    where = tmp_path / "small"
    where.mkdir()
    mounted = subprocess.run(
        [mount, "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run([umount, "-l", str(where)], check=False)


@pytest.fixture
def big_wheel(fresh_index: PackageIndex) -> str:
    """A package with a 3 MiB file, published on the test index: more than the disk holds."""
    blob = os.urandom(3 << 19).hex()  # 3 MiB of text
    build_wheel(
        fresh_index.root, "bulky", "1.0", files={"bulky/__init__.py": "", "bulky/blob.bin": blob}
    )
    return "bulky==1.0"


def test_a_full_disk_puts_the_venv_back_and_says_what_to_free(
    small_disk: Path, fresh_index: PackageIndex, big_wheel: str
) -> None:
    project = small_disk
    write_spec(project, ["alpha==1.0"], index_url=fresh_index.url)
    assert envsync_process(project, "apply").returncode == 0
    before = state(project / ".venv")
    lock_before = (project / "pylock.toml").read_bytes()
    write_spec(project, ["alpha==2.0", big_wheel], index_url=fresh_index.url)

    failed = envsync_process(project, "apply")

    assert failed.returncode == 1, failed.stderr
    assert "no space left on the disk holding" in failed.stderr
    assert "free some space on that disk" in failed.stderr
    assert "(nothing was changed:" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert state(project / ".venv") == before
    assert (project / "pylock.toml").read_bytes() == lock_before
    assert not transaction.pending(project / ".venv")


def test_an_injected_disk_full_error_puts_the_venv_back(
    tmp_path: Path, package_index: PackageIndex
) -> None:
    write_spec(tmp_path, ["alpha==1.0", "theta==1.0"], index_url=package_index.url)
    assert envsync_process(tmp_path, "apply").returncode == 0
    before = state(tmp_path / ".venv")
    write_spec(tmp_path, ["alpha==2.0", "delta==1.0"], index_url=package_index.url)

    failed = envsync_process(tmp_path, "apply", fault="linking:5", fault_signal="ENOSPC")

    assert failed.returncode == 1, failed.stderr
    assert "no space left on the disk holding" in failed.stderr
    assert "(nothing was changed:" in failed.stderr
    assert state(tmp_path / ".venv") == before
    assert envsync_process(tmp_path, "apply").returncode == 0
    assert "delta-1.0.dist-info/METADATA" in "".join(state(tmp_path / ".venv"))
