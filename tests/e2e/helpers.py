"""Helpers for end-to-end tests: write a project, run the CLI, read venv and lock.

The runners themselves live in `support.runner` (tests outside e2e use them too); they are
named here as well, so that an e2e test imports everything it needs from one place.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING, Protocol

import tomli_w

from support import isolated_env
from support.runner import Result, envsync, envsync_process, envsync_started

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

__all__ = [
    "Result",
    "SyncProject",
    "applied",
    "envsync",
    "envsync_process",
    "envsync_started",
    "lock_packages",
    "lock_versions",
    "read_lock",
    "snapshot",
    "venv_packages",
    "venv_python",
    "venv_version",
    "write_spec",
]

_LIST_DISTS = (
    "import importlib.metadata as m, json; "
    "print(json.dumps({d.metadata['Name'].lower().replace('_', '-'): d.version "
    "for d in m.distributions()}))"
)


class SyncProject(Protocol):
    """Makes *root* a synced project: env.toml written for the local index, then applied."""

    def __call__(
        self,
        root: Path,
        dependencies: list[str] | None = None,
        *,
        groups: dict[str, list[str]] | None = None,
    ) -> Path:
        """Write env.toml (*dependencies*, alpha if None; *groups*) into *root*, apply it."""


def write_spec(
    root: Path,
    dependencies: list[str],
    *,
    index_url: str | None = None,
    groups: dict[str, list[str]] | None = None,
    python: str | None = None,
    keep: list[str] | None = None,
    resolver: str | None = None,
) -> Path:
    """Write env.toml into *root* and return its path."""
    env: dict[str, object] = {"dependencies": dependencies}
    if resolver is not None:
        env["resolver"] = resolver
    if python is not None:
        env["python"] = python
    if keep is not None:
        env["keep"] = keep
    data: dict[str, object] = {"env": env}
    if groups:
        data["groups"] = groups
    if index_url:
        data["index"] = {"url": index_url}
    path = root / "env.toml"
    path.write_text(tomli_w.dumps(data), "utf-8")
    return path


def applied(capsys: pytest.CaptureFixture[str], project: Path, *args: str) -> str:
    """``envsync apply ARGS`` for *project*, in this process; it must succeed. Its stdout."""
    result = envsync(capsys, "apply", *args, project=project)
    assert result.code == 0, result.err
    return result.out


def venv_python(root: Path) -> Path:
    """The interpreter of the venv under *root*."""
    return root / ".venv" / "bin" / "python"


def venv_packages(root: Path, *, venv: Path | None = None) -> dict[str, str]:
    """What the venv (*root*'s .venv, or *venv*) reports as installed, like `pip list`."""
    python = venv_python(root) if venv is None else venv / "bin" / "python"
    proc = subprocess.run(
        [str(python), "-c", _LIST_DISTS],
        capture_output=True,
        text=True,
        check=True,
        env=isolated_env(),
    )
    return dict(json.loads(proc.stdout))


def venv_version(root: Path) -> str:
    """The venv interpreter's X.Y version."""
    proc = subprocess.run(
        [str(venv_python(root)), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def read_lock(root: Path) -> dict[str, object]:
    """pylock.toml as TOML data."""
    return tomllib.loads((root / "pylock.toml").read_text("utf-8"))


def lock_packages(root: Path) -> dict[str, dict[str, object]]:
    """The lock's packages by name."""
    packages = read_lock(root)["packages"]
    assert isinstance(packages, list)
    return {str(p["name"]): p for p in packages}


def lock_versions(root: Path) -> dict[str, str]:
    """The lock's name -> version."""
    return {name: str(p.get("version")) for name, p in lock_packages(root).items()}


def snapshot(root: Path) -> dict[str, object]:
    """Everything a failed command must leave as it was: the lock bytes and the venv listing."""
    lock = root / "pylock.toml"
    venv = root / ".venv"
    return {
        "lock": lock.read_bytes() if lock.exists() else None,
        "venv": sorted(str(p.relative_to(venv)) for p in venv.rglob("*"))
        if venv.exists()
        else None,
    }
