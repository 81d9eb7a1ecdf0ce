"""resolver = "uv": `uv pip compile` resolves; the lock and the venv are what pip-tools gives."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from envsync.usecases import backends

from helpers import envsync, lock_packages, venv_packages

if TYPE_CHECKING:
    from pathlib import Path

    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e

DEPS = '["alpha", "gamma[fast]", "epsilon", "iota", "kappa"]'


def project(root: Path, url: str, resolver: str) -> Path:
    root.mkdir()
    (root / "env.toml").write_text(
        f'[env]\nresolver = "{resolver}"\ndependencies = {DEPS}\n'
        f'[groups]\ndev = ["cli-tool"]\n[index]\nurl = "{url}"\n'
    )
    return root


def test_the_uv_resolver_locks_what_pip_tools_locks(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    package_index: PackageIndex,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    with_uv = project(tmp_path / "uv", package_index.url, "uv")
    with_pip_tools = project(tmp_path / "pt", package_index.url, "pip-tools")

    for root in (with_uv, with_pip_tools):
        result = envsync(capsys, "apply", "--spec", str(root / "env.toml"))
        assert result.code == 0, result.err

    ours, theirs = lock_packages(with_uv), lock_packages(with_pip_tools)
    assert {n: (p.get("version"), p.get("marker")) for n, p in ours.items()} == {
        n: (p.get("version"), p.get("marker")) for n, p in theirs.items()
    }
    assert venv_packages(with_uv) == venv_packages(with_pip_tools)
    assert "cli-tool" in ours  # groups are resolved together with uv too


def test_a_missing_uv_is_a_clear_error(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    package_index: PackageIndex,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # uv is a test dependency, so it is installed here: hide it as a machine without it would.
    monkeypatch.setattr(backends, "find_uv", lambda: None)
    root = project(tmp_path / "p", package_index.url, "uv")

    result = envsync(capsys, "lock", "--spec", str(root / "env.toml"))

    assert result.code == 1
    assert 'asks for resolver = "uv", but uv is not installed' in result.err
    assert not (root / "pylock.toml").exists()
