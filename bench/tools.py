"""The tools under test: where each keeps its project, cache and venv, and the commands it runs.

Every tool works in its own folder under bench/.work/run-<set>/<tool>/ with its own cache
folder there (XDG_CACHE_HOME, and UV_CACHE_DIR for uv), so deleting that folder makes a cold
cache, and sees only the local index.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from common import LOCK_PLATFORMS, LOCK_PYTHONS, REPO, WORK, isolated_env

if TYPE_CHECKING:
    from collections.abc import Sequence

Argv = list[str]

BIN = Path(sys.executable).parent
PYTHON = sys.executable
"""Every venv is made from the interpreter running the benchmark (the dev venv's CPython)."""


def uv_binary() -> str:
    """The uv executable installed in the dev venv (the `uv` package)."""
    import uv  # noqa: PLC0415 - only needed when uv is benchmarked

    return str(uv.find_uv_bin())


def write_if_changed(path: Path, text: str) -> None:
    """Write *text* unless the file holds it already (it then keeps its mtime, as a user's)."""
    if not path.is_file() or path.read_text("utf-8") != text:
        path.write_text(text, "utf-8")


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()


def envsync_under_test(rev: str | None) -> tuple[str, dict[str, str]]:
    """Which envsync runs: (a description for the report, variables for its environment).

    Without *rev*: the dev venv's envsync, i.e. the working tree (installed editable),
    byte-compiled first as ``pip install`` does for a user: with PYTHONDONTWRITEBYTECODE set
    (as on some machines) every run would otherwise compile envsync from source. With *rev*:
    that commit's src/ exported (`git archive`, the repository is not touched) to
    bench/.work/envsync-<sha>/ and byte-compiled once, run by the same console script with
    PYTHONPATH pointing at it, so that edits made while the benchmark runs cannot leak in.
    """
    if rev is None:
        head = _git("rev-parse", "--short=12", "HEAD")
        dirty = _git("status", "--porcelain", "--", "src")
        state = ", with uncommitted changes in src/" if dirty else ""
        subprocess.run([PYTHON, "-m", "compileall", "-q", str(REPO / "src")], check=True)
        return f"working tree at {head}{state}", {}
    sha = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    dest = WORK / f"envsync-{sha[:12]}"
    if not (dest / "src" / "envsync").is_dir():
        partial = dest.with_name(dest.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        archive = subprocess.run(
            ["git", "archive", "--format=tar", sha, "src"],
            cwd=REPO,
            capture_output=True,
            check=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(partial, filter="data")
        subprocess.run([PYTHON, "-m", "compileall", "-q", str(partial / "src")], check=True)
        partial.rename(dest)
    return f"commit {sha[:12]}", {"PYTHONPATH": str(dest / "src")}


class Tool:
    """One tool's project folder, cache, venv and commands; subclasses fill in the commands."""

    name: ClassVar[str]
    spec_name: ClassVar[str]
    lock_name: ClassVar[str]
    multi_target: ClassVar[bool] = False
    """Whether its lock is for other platforms too: the run then serves the wheelhouse of
    every lock target (wheelhouse.ensure_target_wheelhouse) to every tool."""
    lock_only: ClassVar[bool] = False
    """Whether it differs from another tool only in how it locks: it then runs in the lock
    scenarios alone (its syncs would time the other tool again)."""

    def __init__(self, root: Path, index_url: str, extra_env: dict[str, str]) -> None:
        self.root = root
        self.index_url = index_url
        self.extra_env = extra_env
        """Added to every command's environment (the variables that trust the index's CA)."""
        self.project = root / "project"
        self.cache = root / "cache"
        self.venv = self.project / ".venv"
        self.saved_lock = root / f"base-{self.lock_name}"
        self.project.mkdir(parents=True, exist_ok=True)

    @property
    def spec(self) -> Path:
        return self.project / self.spec_name

    @property
    def lock_file(self) -> Path:
        return self.project / self.lock_name

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def env(self) -> dict[str, str]:
        """The isolated environment, with this tool's cache folder."""
        return isolated_env({**self.extra_env, "XDG_CACHE_HOME": str(self.cache)})

    def clear_cache(self) -> None:
        shutil.rmtree(self.cache, ignore_errors=True)

    def remove_venv(self) -> None:
        shutil.rmtree(self.venv, ignore_errors=True)

    def write_spec(self, requirements: Sequence[str]) -> None:
        """Write the top-level requirements as a requirements.in file (pip-tools, uv)."""
        write_if_changed(self.spec, "".join(f"{r}\n" for r in requirements))

    def lock(self) -> list[Argv]:
        """Resolve the spec into the lock file."""
        raise NotImplementedError

    def fresh_sync(self) -> list[Argv]:
        """Create the venv (it does not exist) and install the lock into it."""
        raise NotImplementedError

    def sync(self) -> list[Argv]:
        """Make the existing venv match the lock."""
        raise NotImplementedError

    def relock_sync(self) -> list[Argv]:
        """After a spec change: update the lock (keeping pins), then sync."""
        return [*self.lock(), *self.sync()]


class Envsync(Tool):
    """envsync: env.toml -> pylock.toml -> the venv; `apply` locks when stale and syncs."""

    name = "envsync"
    spec_name = "env.toml"
    lock_name = "pylock.toml"

    def write_spec(self, requirements: Sequence[str]) -> None:
        write_if_changed(self.spec, self.spec_text(requirements))

    def spec_text(self, requirements: Sequence[str]) -> str:
        """env.toml asking for *requirements* from the local index (subclasses add keys)."""
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        deps = "".join(f"  {json.dumps(r)},\n" for r in requirements)
        return (
            f'[env]\npython = "{version}"\nvenv = ".venv"\ndependencies = [\n{deps}]\n\n'
            f"[index]\nurl = {json.dumps(self.index_url)}\n"
        )

    def _envsync(self, command: str) -> Argv:
        return [str(BIN / "envsync"), command, "--spec", str(self.spec)]

    def lock(self) -> list[Argv]:
        return [self._envsync("lock")]

    def fresh_sync(self) -> list[Argv]:
        return [self._envsync("apply")]  # creates the venv itself

    def sync(self) -> list[Argv]:
        return [self._envsync("apply")]

    def relock_sync(self) -> list[Argv]:
        return [self._envsync("apply")]  # one command: a stale lock is re-resolved first


class EnvsyncUv(Envsync):
    """envsync with ``resolver = "uv"``: uv resolves, envsync locks and installs."""

    name = "envsync-uv"

    def spec_text(self, requirements: Sequence[str]) -> str:
        text = super().spec_text(requirements)
        return text.replace("[env]\n", '[env]\nresolver = "uv"\n', 1)


class EnvsyncBytecode(Envsync):
    """envsync with ``compile-bytecode = true``: .pyc files at install, like uv-bytecode."""

    name = "envsync-bytecode"

    def spec_text(self, requirements: Sequence[str]) -> str:
        text = super().spec_text(requirements)
        return text.replace("[env]\n", "[env]\ncompile-bytecode = true\n", 1)


def _lock_table(text: str) -> str:
    """env.toml *text* for the lock targets: a Python range allowing each, and a [lock] table."""
    pythons = ", ".join(json.dumps(v) for v in LOCK_PYTHONS)
    platforms = ", ".join(json.dumps(p) for p in LOCK_PLATFORMS)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    text = text.replace(f'python = "{version}"', f'python = ">={min(LOCK_PYTHONS)}"', 1)
    return f"{text}\n[lock]\npython-versions = [{pythons}]\nplatforms = [{platforms}]\n"


class EnvsyncTargets(Envsync):
    """envsync locking for every lock target (common.LOCK_PYTHONS x LOCK_PLATFORMS)."""

    name = "envsync-targets"
    multi_target = True

    def spec_text(self, requirements: Sequence[str]) -> str:
        return _lock_table(super().spec_text(requirements))


class EnvsyncUvTargets(EnvsyncUv):
    """envsync with ``resolver = "uv"``, locking for every lock target."""

    name = "envsync-uv-targets"
    multi_target = True

    def spec_text(self, requirements: Sequence[str]) -> str:
        return _lock_table(super().spec_text(requirements))


class PipTools(Tool):
    """pip-tools: pip-compile, then `python -m venv` (with ensurepip) and pip-sync into it."""

    name = "pip-tools"
    spec_name = "requirements.in"
    lock_name = "requirements.txt"

    def lock(self) -> list[Argv]:
        return [
            [
                str(BIN / "pip-compile"),
                "--no-config",
                "--strip-extras",
                f"--index-url={self.index_url}",
                f"--output-file={self.lock_name}",
                self.spec_name,
            ]
        ]

    def fresh_sync(self) -> list[Argv]:
        return [[PYTHON, "-m", "venv", str(self.venv)], *self.sync()]

    def sync(self) -> list[Argv]:
        return [
            [
                str(BIN / "pip-sync"),
                "--no-config",
                f"--python-executable={self.python}",
                f"--index-url={self.index_url}",
                self.lock_name,
            ]
        ]


class Uv(Tool):
    """uv: `uv pip compile`, then `uv venv` and `uv pip sync` (no bytecode, uv's default)."""

    name = "uv"
    spec_name = "requirements.in"
    lock_name = "requirements.txt"
    compile_bytecode: ClassVar[bool] = False

    def env(self) -> dict[str, str]:
        return {**super().env(), "UV_CACHE_DIR": str(self.cache)}

    def lock(self) -> list[Argv]:
        return [
            [
                uv_binary(),
                "pip",
                "compile",
                self.spec_name,
                f"--output-file={self.lock_name}",
                f"--index-url={self.index_url}",
                f"--python={PYTHON}",
            ]
        ]

    def fresh_sync(self) -> list[Argv]:
        return [[uv_binary(), "venv", str(self.venv), f"--python={PYTHON}"], *self.sync()]

    def sync(self) -> list[Argv]:
        argv = [
            uv_binary(),
            "pip",
            "sync",
            self.lock_name,
            f"--python={self.python}",
            f"--index-url={self.index_url}",
        ]
        return [[*argv, "--compile-bytecode"] if self.compile_bytecode else argv]


class UvUniversal(Uv):
    """uv with `--universal` on compile: one requirements.txt, with markers, for any platform."""

    name = "uv-universal"
    multi_target = True

    def lock(self) -> list[Argv]:
        return [[*argv, "--universal"] for argv in super().lock()]


class UvHashes(Uv):
    """uv with `--generate-hashes` on compile: like envsync's lock, every file of each pin
    is listed with its hash (what a lock with hashes costs uv)."""

    name = "uv-hashes"
    lock_only = True

    def lock(self) -> list[Argv]:
        return [[*argv, "--generate-hashes"] for argv in super().lock()]


class UvBytecode(Uv):
    """uv with `--compile-bytecode` on sync: writes .pyc files at install, as pip always does."""

    name = "uv-bytecode"
    compile_bytecode = True


TOOLS: dict[str, type[Tool]] = {
    t.name: t
    for t in (
        Envsync,
        EnvsyncUv,
        EnvsyncBytecode,
        PipTools,
        Uv,
        UvHashes,
        UvBytecode,
        EnvsyncTargets,
        EnvsyncUvTargets,
        UvUniversal,
    )
}
#: The tools a run takes when none is named: the single-target ones.
DEFAULT_TOOLS = tuple(name for name, tool in TOOLS.items() if not tool.multi_target)
#: `--targets`: the multi-target tools with the single-target ones they are compared to.
TARGET_TOOLS = (
    "envsync",
    "envsync-targets",
    "envsync-uv",
    "envsync-uv-targets",
    "uv",
    "uv-universal",
)
