"""Projects locked for several targets, and what other tools say about them (e2e support).

The projects ask the platform index (`support.platformindex`) for ``app[cli]`` and the
group ``dev``, whose answer differs per target. The oracle is uv, run by hand:
``uv pip compile --python-platform P --python-version V`` on the same inputs and index.
What a lock installs on a target is what packaging's ``Pylock.select`` takes from it with
the target's markers and wheel tags, as any PEP 751 installer on that machine would.
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import tomli_w
from packaging.pylock import Pylock
from packaging.specifiers import SpecifierSet

from envsync.core.targets import PLATFORMS, LockTarget
from envsync.venv.interpreters import find_python

from support import isolated_env
from support.platformindex import DEPENDENCIES, GROUP_DEV
from support.runner import Result, envsync

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence
    from pathlib import Path

    from support.pkgindex import PackageIndex

__all__ = [
    "GRID",
    "GRID_GROUPS",
    "GRID_PLATFORMS",
    "GRID_PYTHONS",
    "ON_LINUX_X86_64",
    "Locked",
    "chosen_files",
    "copy_project",
    "installed",
    "lock_grid",
    "make_venv",
    "progress",
    "selected",
    "target",
    "uv_compile",
    "uv_env",
    "write_lock_spec",
]

_LIST_DISTS = (
    "import importlib.metadata as m, json; "
    "print(json.dumps({d.metadata['Name'].lower().replace('_', '-'): d.version "
    "for d in m.distributions()}))"
)
#: The grid's groups: the platform index's dev (it differs from the main dependencies on
#: aarch64 only), and ci, which needs on some targets what others need for the main ones.
GRID_GROUPS = {"dev": GROUP_DEV, "ci": ('winonly; python_version >= "3.12"', "oldpy")}
#: The team's grid of the tests: two Pythons on three platforms.
GRID_PYTHONS = ("3.11", "3.12")
GRID_PLATFORMS = ("linux-x86_64", "macos-arm64", "windows-x86_64")
GRID = tuple(
    LockTarget(python=python, platform=PLATFORMS[name])
    for python in GRID_PYTHONS
    for name in GRID_PLATFORMS
)

#: Tests whose venvs and messages are this machine's, a linux-x86_64 one.
ON_LINUX_X86_64 = pytest.mark.skipif(
    (sys.platform, platform.machine()) != ("linux", "x86_64"),
    reason="the venvs and messages of these tests are linux-x86_64's",
)


def target(python: str, platform: str) -> LockTarget:
    """The lock target Python *python* on *platform*."""
    return LockTarget(python=python, platform=PLATFORMS[platform])


def write_lock_spec(
    root: Path,
    index_url: str,
    *,
    platforms: Sequence[str] = (),
    python_versions: Sequence[str] = (),
    resolver: str | None = None,
    dependencies: Sequence[str] = DEPENDENCIES,
    venv: str | None = None,
    groups: Mapping[str, Sequence[str]] | None = None,
    name: str = "env.toml",
) -> Path:
    """env.toml (or *name*) for Python >= 3.11: *dependencies*, the groups (dev: the platform
    index's), the index and ``[lock]``."""
    env: dict[str, object] = {"python": ">=3.11", "dependencies": list(dependencies)}
    if resolver is not None:
        env["resolver"] = resolver
    if venv is not None:
        env["venv"] = venv
    lock: dict[str, object] = {}
    if python_versions:
        lock["python-versions"] = list(python_versions)
    if platforms:
        lock["platforms"] = list(platforms)
    data: dict[str, object] = {
        "env": env,
        "groups": {k: list(v) for k, v in (groups or {"dev": GROUP_DEV}).items()},
        "index": {"url": index_url},
    }
    if lock:
        data["lock"] = lock
    root.mkdir(parents=True, exist_ok=True)
    path = root / name
    path.write_text(tomli_w.dumps(data), "utf-8")
    return path


def _select(lock_file: Path, on: LockTarget, groups: Collection[str]) -> list[tuple[Any, Any]]:
    lock = Pylock.from_dict(tomllib.loads(lock_file.read_text("utf-8")))
    return list(
        lock.select(
            environment=on.markers(),  # type: ignore[arg-type] # a plain marker dict
            tags=on.tags(),
            dependency_groups=frozenset(groups),
        )
    )


@dataclass(frozen=True)
class Locked:
    """A project locked for the grid, and what ``envsync lock`` said."""

    root: Path
    result: Result

    @property
    def lock(self) -> Path:
        """Its pylock.toml."""
        return self.root / "pylock.toml"


def lock_grid(root: Path, index: PackageIndex, resolver: str) -> Result:
    """Write the grid's env.toml into *root* (resolver *resolver*) and lock it."""
    write_lock_spec(
        root,
        index.url,
        platforms=GRID_PLATFORMS,
        python_versions=GRID_PYTHONS,
        resolver=None if resolver == "pip-tools" else resolver,
        groups=GRID_GROUPS,
    )
    return envsync(None, "lock", project=root)


def copy_project(locked: Locked, dest: Path) -> Path:
    """A copy of a locked project (env.toml, pylock.toml) in *dest*, to change freely."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("env.toml", "pylock.toml"):
        shutil.copy2(locked.root / name, dest / name)
    return dest


def selected(lock_file: Path, on: LockTarget, groups: Collection[str] = ()) -> dict[str, str]:
    """What *lock_file* installs on *on* with *groups*: name -> version (Pylock.select)."""
    return {package.name: str(package.version) for package, _ in _select(lock_file, on, groups)}


def chosen_files(lock_file: Path, on: LockTarget, groups: Collection[str] = ()) -> dict[str, str]:
    """The file *lock_file* installs for each package on *on*: name -> URL and sha256."""
    return {
        package.name: f"{source.url} {source.hashes['sha256']}"
        for package, source in _select(lock_file, on, groups)
    }


def installed(python: Path) -> dict[str, str]:
    """What the venv of *python* reports as installed (name -> version), like ``pip list``."""
    proc = subprocess.run(
        [str(python), "-c", _LIST_DISTS],
        capture_output=True,
        text=True,
        check=True,
        env=isolated_env(),
        timeout=60,
    )
    return dict(json.loads(proc.stdout))


def uv_env(cache: Path) -> dict[str, str]:
    """An environment for a uv run: no pip or uv configuration of the machine, its own cache.

    uv never downloads a Python: one it lacks would be fetched from the network.
    """
    env = {k: v for k, v in isolated_env().items() if not k.startswith("UV_")}
    env.update(UV_NO_CONFIG="1", UV_CACHE_DIR=str(cache), UV_PYTHON_DOWNLOADS="never")
    return env


def uv_compile(
    uv: Path,
    index_url: str,
    on: LockTarget,
    work: Path,
    groups: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, str]:
    """The oracle: what ``uv pip compile`` chooses for *on* (main plus *groups*), by hand.

    uv resolves for ``--python-version`` and ``--python-platform`` whatever the interpreter it
    is given (this one): without ``--python`` it would look for (or fetch) a Python *on*.
    """
    work.mkdir(parents=True)
    (work / "main.in").write_text("".join(f"{r}\n" for r in DEPENDENCIES))
    inputs = ["main.in"]
    for name, requirements in sorted((groups or {}).items()):
        (work / f"group-{name}.in").write_text("".join(f"{r}\n" for r in requirements))
        inputs.append(f"group-{name}.in")
    env = uv_env(work / "cache")
    env["MACOSX_DEPLOYMENT_TARGET"] = "13.0"  # the floor envsync's macos platforms promise
    assert on.platform.uv is not None
    argv = [str(uv), "pip", "compile", "--quiet", "--no-header", "--python", sys.executable]
    argv += ["--index-url", index_url]
    argv += ["--python-platform", on.platform.uv, "--python-version", on.python, *inputs]
    proc = subprocess.run(
        argv, cwd=work, env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return dict(re.findall(r"^([a-z0-9-]+)==(\S+)", proc.stdout, flags=re.MULTILINE))


def make_venv(path: Path, python: str) -> Path:
    """A venv at *path* made by this machine's Python *python* (``3.12``), without pip."""
    found = find_python(SpecifierSet(f"=={python}.*"))
    subprocess.run(
        [str(found.executable), "-m", "venv", "--without-pip", str(path)],
        check=True,
        env=isolated_env(),
        timeout=120,
    )
    return path / "bin" / "python"


def progress(err: str, prefix: str = "Resolving") -> list[str]:
    """The progress lines of stderr that start with *prefix*."""
    return [line for line in err.splitlines() if line.startswith(prefix)]
