"""`[env] seed = true`: pip in the venv, from its Python's ensurepip, kept by the keep-policy."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from helpers import envsync, venv_packages, venv_python

if TYPE_CHECKING:
    from pathlib import Path

    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e

#: What ensurepip of the Python running the tests installs besides pip.
WITH_PIP = {"setuptools"} if sys.version_info < (3, 12) else set()


def write(root: Path, url: str, *, seed: bool | None, keep: str | None = None) -> None:
    lines = ["[env]", 'dependencies = ["alpha"]']
    lines += [f"seed = {str(seed).lower()}"] if seed is not None else []
    lines += [f"keep = {keep}"] if keep is not None else []
    lines += ["", "[index]", f'url = "{url}"', ""]
    (root / "env.toml").write_text("\n".join(lines), "utf-8")


def pip_works(root: Path) -> bool:
    argv = [str(venv_python(root)), "-m", "pip", "--version"]
    return subprocess.run(argv, capture_output=True, check=False).returncode == 0


def test_a_seeded_venv_has_pip_and_stays_in_sync(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    write(tmp_path, package_index.url, seed=True)

    first = envsync(capsys, "apply", project=tmp_path)

    assert first.code == 0, first.err
    assert "+ pip (seed: from the venv's ensurepip)" in first.out.splitlines()
    assert "Putting pip in with the venv's ensurepip (seed = true)..." in first.err
    assert pip_works(tmp_path)
    assert set(venv_packages(tmp_path)) == {"alpha", "beta", "pip", *WITH_PIP}
    assert "pip" not in (tmp_path / "pylock.toml").read_text("utf-8")
    assert envsync(capsys, "apply", project=tmp_path).out.startswith("No changes.")
    checked = envsync(capsys, "check", project=tmp_path)
    assert (checked.code, checked.out.splitlines()[-1]) == (0, "In sync.")


def test_the_default_venv_has_no_pip_and_seed_adds_it_without_a_relock(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    write(tmp_path, package_index.url, seed=None)
    assert envsync(capsys, "apply", project=tmp_path).code == 0
    assert not pip_works(tmp_path)
    lock = (tmp_path / "pylock.toml").read_bytes()
    write(tmp_path, package_index.url, seed=True)

    checked = envsync(capsys, "check", project=tmp_path)
    assert checked.code == 2  # apply would add pip: check and apply agree
    assert "lock: fresh" in checked.out
    assert "+ pip (seed: from the venv's ensurepip)" in checked.out
    requests = len(package_index.requests)
    assert envsync(capsys, "apply", project=tmp_path).code == 0

    assert pip_works(tmp_path)
    assert (tmp_path / "pylock.toml").read_bytes() == lock
    assert len(package_index.requests) == requests  # ensurepip's wheel: no index asked


def test_seed_keeps_pip_even_with_keep_empty_and_turning_it_off_follows_keep(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    write(tmp_path, package_index.url, seed=True, keep="[]")
    assert envsync(capsys, "apply", project=tmp_path).code == 0
    assert envsync(capsys, "check", project=tmp_path).code == 0  # pip is no drift

    write(tmp_path, package_index.url, seed=False)  # keep defaults to ["pip"]
    off = envsync(capsys, "apply", project=tmp_path)
    assert off.code == 0, off.err
    assert pip_works(tmp_path)
    assert set(venv_packages(tmp_path)) == {"alpha", "beta", "pip"}
    assert all(f"- {name} " in off.out for name in WITH_PIP)

    write(tmp_path, package_index.url, seed=False, keep="[]")
    gone = envsync(capsys, "apply", project=tmp_path)
    assert gone.code == 0, gone.err
    assert "- pip " in gone.out
    assert not pip_works(tmp_path)
    assert set(venv_packages(tmp_path)) == {"alpha", "beta"}
