"""An sdist published again at the same URL with other bytes is built again, not taken from
pip's cache of wheels it built before.

pip keys a built wheel by the URL it was built from, and by the hash only when the URL
carries one. envsync hands pip each sdist's URL with its sha256 as the fragment, so a new
sdist at an old URL (a local dist/ folder built again, a test index on a reused port) is
never installed from the wheel of the old one.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest
import tomli_w

from envsync.resolve.uv import find_uv

from helpers import envsync_process, venv_packages
from support.wheels import build_sdist

if TYPE_CHECKING:
    from pathlib import Path

    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    "installer",
    [
        "native",  # which hands sdists to pip
        "pip",
        pytest.param("uv", marks=pytest.mark.skipif(find_uv() is None, reason="needs uv")),
    ],
)
def test_an_sdist_rebuilt_at_the_same_url_is_built_again(
    tmp_path: Path, fresh_index: PackageIndex, monkeypatch: pytest.MonkeyPatch, installer: str
) -> None:
    monkeypatch.setenv("PIP_CACHE_DIR", str(tmp_path / "pip-cache"))  # both applies share it
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    project = tmp_path / "project"
    project.mkdir()
    env = {"dependencies": ["rebuilt"], "installer": installer}
    data = {"env": env, "index": {"url": fresh_index.url}}
    (project / "env.toml").write_text(tomli_w.dumps(data), "utf-8")
    fresh_index.add(build_sdist(tmp_path / "first", "rebuilt", "1.0"))
    first = envsync_process(project, "apply")
    assert first.returncode == 0, first.stderr
    assert venv_packages(project) == {"rebuilt": "1.0"}

    # The same name, version and URL; other bytes: this one needs alpha.
    fresh_index.add(build_sdist(tmp_path / "second", "rebuilt", "1.0", requires=["alpha"]))
    shutil.rmtree(project / ".venv")
    (project / "pylock.toml").unlink()
    second = envsync_process(project, "apply")

    assert second.returncode == 0, second.stderr
    assert venv_packages(project) == {"rebuilt": "1.0", "alpha": "2.0", "beta": "2.0"}
    assert envsync_process(project, "check").returncode == 0
