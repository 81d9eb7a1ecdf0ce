"""Installer protocol + the pip backend. SUBPROCESS.

The installer never resolves: it is handed the exact artifacts the lock selected and installs
them with ``--no-deps --require-hashes``. envsync's own pip runs against the target venv via
``pip --python``, so venvs need no pip of their own.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from envsync._pipoutput import classify
from envsync._subprocess import Runner, clean_env, run, tail
from envsync.errors import (
    BuildError,
    EnvsyncError,
    HashMismatchError,
    IndexUnreachableError,
    InstallError,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from envsync._types import NormalizedName
    from envsync.lockfile import Wanted
    from envsync.spec import IndexConfig

__all__ = ["Installer", "PipInstaller", "requirement_line"]


class Installer(Protocol):
    """Puts exact artifacts into a venv and takes dists out of it."""

    def install(self, python: Path, packages: Sequence[Wanted], *, index: IndexConfig) -> None:
        """Install *packages* (replacing any installed version) into the venv of *python*."""
        ...

    def uninstall(self, python: Path, names: Sequence[NormalizedName]) -> None:
        """Remove the dists called *names* from the venv of *python*."""
        ...


def requirement_line(package: Wanted) -> str:
    """A requirements-file line that pins *package* to its exact artifact and hash."""
    artifact = package.artifact
    if artifact.kind == "directory":
        prefix = "-e " if package.editable else f"{package.name} @ "
        return f"{prefix}{artifact.url}"
    line = f"{package.name} @ {artifact.url}"
    if artifact.sha256:
        line += f" --hash=sha256:{artifact.sha256}"
    return line


class PipInstaller:
    """Installs with pip (envsync's own, pointed at the venv with ``--python``)."""

    def __init__(self, *, runner: Runner = run, pip_python: Path | None = None) -> None:
        self._run = runner
        self._pip = [os.fspath(pip_python or sys.executable), "-m", "pip"]

    def install(self, python: Path, packages: Sequence[Wanted], *, index: IndexConfig) -> None:
        """Hashed artifacts in one pip call; local folders (which have no hash) in another."""
        hashed = [p for p in packages if p.artifact.kind != "directory"]
        folders = [p for p in packages if p.artifact.kind == "directory"]
        if hashed:
            self._install(python, hashed, index, ["--require-hashes"])
        if folders:
            self._install(python, folders, index, [])

    def uninstall(self, python: Path, names: Sequence[NormalizedName]) -> None:
        """``pip uninstall -y`` the given names."""
        if not names:
            return
        argv = [*self._pip, "--python", os.fspath(python), "uninstall", "--yes", *names]
        self._run(argv, error=_uninstall_error, env=clean_env())

    def _install(
        self,
        python: Path,
        packages: Sequence[Wanted],
        index: IndexConfig,
        extra: list[str],
    ) -> None:
        with tempfile.TemporaryDirectory(prefix="envsync-install-") as tmp:
            reqs = Path(tmp) / "requirements.txt"
            reqs.write_text("".join(f"{requirement_line(p)}\n" for p in packages), "utf-8")
            argv = [
                *self._pip,
                "--python",
                os.fspath(python),
                "install",
                "--no-deps",
                "--force-reinstall",
                "--no-warn-script-location",
                "--no-warn-conflicts",
                "--root-user-action=ignore",
                *extra,
                *_index_args(index),
                "-r",
                os.fspath(reqs),
            ]
            self._run(argv, error=_install_error, env=clean_env())


def _index_args(index: IndexConfig) -> list[str]:
    # Only build isolation reads these (an sdist's build requirements), and pip matches the
    # index credentials to artifact URLs on the same host.
    args = [f"--index-url={index.url}"] if index.url else []
    args += [f"--extra-index-url={u}" for u in index.extra_urls]
    args += [f"--find-links={f}" for f in index.find_links]
    return args


def _install_error(output: str) -> EnvsyncError:
    shown = tail(output)
    kind = classify(output)
    if kind == "hash":
        return HashMismatchError(
            f"a downloaded file does not match the hash in pylock.toml:\n{shown}",
            hint="the index served different bytes than were locked; if that is expected, "
            "run `envsync lock --upgrade-package NAME`",
        )
    if kind == "build":
        return BuildError(
            f"a package failed to build:\n{shown}",
            hint="fix the package's build, or pin a version that ships a wheel",
        )
    if kind == "unreachable":
        return IndexUnreachableError(
            f"a package could not be downloaded:\n{shown}",
            hint="check [index] url in env.toml and your network",
        )
    return InstallError(f"pip could not install the locked packages:\n{shown}")


def _uninstall_error(output: str) -> EnvsyncError:
    return InstallError(f"pip could not remove packages:\n{tail(output)}")
