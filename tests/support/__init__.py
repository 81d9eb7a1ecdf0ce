"""Test support: the pip isolation helper and the fixed package universe of the test index.

`tests/` is on sys.path (pytest's prepend import mode, rootdir conftest), so tests import
`from support import UNIVERSE, isolated_env` and `from support.pkgindex import PackageIndex`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from support.wheels import build_sdist, build_wheel

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    import pytest

PIP_ISOLATION = {
    "PIP_CONFIG_FILE": os.devnull,
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "PIP_NO_INPUT": "1",
}
"""What every pip run in the tests gets on top of an environment with no PIP_* variables."""


def isolated_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return os.environ without PIP_* variables, with no pip config file and no prompts.

    The machine's pip.conf files and PIP_* variables add indexes, find-links and constraints;
    none of that may reach a test.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_ISOLATION)
    env.update(extra or {})
    return env


def counted_forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make ``os.fork`` note each child it makes: the list of their pids, as the parent sees them.

    Undone with the rest of *monkeypatch*.
    """
    pids: list[int] = []
    fork = os.fork

    def counted() -> int:
        pid = fork()
        if pid:
            pids.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", counted)
    return pids


def run_pip(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `sys.executable -m pip ARGS` in the isolated env; capture text output, don't raise."""
    return subprocess.run(
        [sys.executable, "-m", "pip", *map(str, args)],
        cwd=cwd,
        env=isolated_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@dataclass(frozen=True)
class Dist:
    """One distribution of the test universe, as built into the wheelhouse."""

    name: str
    version: str
    requires: tuple[str, ...] = ()
    extras: dict[str, list[str]] = field(default_factory=dict)
    requires_python: str | None = None
    tags: tuple[str, ...] = ("py3-none-any",)
    console_scripts: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] | None = None
    sdist_only: bool = False


CLI_TOOL_SOURCE = '__version__ = "1.0"\n\n\ndef main():\n    print("hello from cli-tool")\n'

DISTS: tuple[Dist, ...] = (
    Dist("alpha", "1.0"),
    Dist("alpha", "2.0", requires=("beta>=1.0",)),
    Dist("beta", "1.0"),
    Dist("beta", "2.0"),
    Dist("gamma", "1.0", extras={"fast": ["delta"]}),
    Dist("delta", "1.0"),
    Dist("epsilon", "1.0", requires=('zeta; python_version < "3.12"',)),
    Dist("zeta", "1.0"),
    Dist(
        "cli-tool",
        "1.0",
        console_scripts={"hello": "cli_tool:main"},
        files={"cli_tool/__init__.py": CLI_TOOL_SOURCE},
    ),
    Dist("theta", "1.0"),
    Dist("iota", "1.0", tags=("py3-none-any", "cp312-cp312-win_amd64")),
    Dist("sdist-only", "1.0", sdist_only=True),
    Dist("kappa", "0.9"),
    Dist("kappa", "1.0", requires_python=">=3.12"),
)
"""The fixed universe of the test index. e2e tests are written against exactly these."""

UNIVERSE: dict[str, tuple[str, ...]] = {}
"""Project name -> versions available on the test index, oldest first."""
for _dist in DISTS:
    UNIVERSE[_dist.name] = (*UNIVERSE.get(_dist.name, ()), _dist.version)


def build_dist(dest_dir: Path, dist: Dist) -> list[Path]:
    """Build the files (one per wheel tag, or the sdist) of one universe entry."""
    if dist.sdist_only:
        return [build_sdist(dest_dir, dist.name, dist.version, requires=dist.requires)]
    return [
        build_wheel(
            dest_dir,
            dist.name,
            dist.version,
            requires=dist.requires,
            extras=dist.extras,
            requires_python=dist.requires_python,
            tag=tag,
            console_scripts=dist.console_scripts,
            files=dist.files,
        )
        for tag in dist.tags
    ]


def populate_wheelhouse(dest_dir: Path) -> list[Path]:
    """Build the whole universe into `dest_dir`; return the files written."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    return [path for dist in DISTS for path in build_dist(dest_dir, dist)]


def tree_digest(root: Path) -> dict[str, str]:
    """Every file, link and folder under *root*: a file's sha256, a link's target.

    What "byte for byte unchanged" means in the data-safety tests.
    """
    found = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[key] = f"link:{path.readlink()}"
        elif path.is_file():
            found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[key] = "folder"
    return found
