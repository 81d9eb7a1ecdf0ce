"""Installer protocol + the pip backend. SUBPROCESS.

The installer never resolves: it is handed the exact artifacts the lock selected and installs
them with ``--no-deps --require-hashes``. envsync's own pip runs against the target venv via
``pip --python``, so venvs need no pip of their own.

The locked URLs carry no credentials: pip gets those of the indexes' hosts through a private
netrc file (see proxy.pip_access). The index options only matter to an sdist's build
requirements, and go through the routing proxy when packages are pinned to named indexes.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from envsync.core.pipoutput import classify
from envsync.errors import (
    BuildError,
    EnvsyncError,
    HashMismatchError,
    IndexAuthError,
    IndexUnreachableError,
    InstallError,
)
from envsync.index import proxy
from envsync.index.simpleapi import default_index_url
from envsync.system import removal
from envsync.system.process import Runner, run, tail

if TYPE_CHECKING:
    from collections.abc import Sequence

    from envsync.core.lockfile import Wanted
    from envsync.core.spec import IndexConfig, NamedIndex, Source
    from envsync.index.proxy import PipAccess

__all__ = ["Installer", "PipInstaller", "requirement_line"]


class Installer(Protocol):
    """Puts exact artifacts into a venv and takes dists out of it."""

    def prepare(
        self,
        python: Path,
        packages: Sequence[Wanted],
        *,
        index: IndexConfig,
        indexes: Sequence[NamedIndex] = (),
        sources: Sequence[Source] = (),
        direct: Sequence[str] = (),
    ) -> None:
        """Fetch and check what ``install`` will need, before anything in the venv changes."""
        ...

    def install(
        self,
        python: Path,
        packages: Sequence[Wanted],
        *,
        index: IndexConfig,
        indexes: Sequence[NamedIndex] = (),
        sources: Sequence[Source] = (),
        direct: Sequence[str] = (),
    ) -> None:
        """Install *packages* (replacing any installed version) into the venv of *python*.

        *index* (find-links absolute), *indexes* and *sources* say where build requirements
        come from and whose credentials pip gets; *direct* are the spec's direct-URL
        requirements' URLs as written (credentials included), for the logins of their hosts.
        """
        ...

    def writes(self, python: Path, packages: Sequence[Wanted]) -> Sequence[str] | None:
        """Every path ``install`` will write, checked to be the packages' own; None: unknown.

        Called after ``prepare``, before the venv changes: a package that would write the
        venv's own files (its interpreter, scripts, pyvenv.cfg) is refused here.
        """
        ...


def requirement_line(package: Wanted, url: str | None = None) -> str:
    """A requirements-file line that pins *package* to its exact artifact and hash.

    *url* replaces the artifact's (which has no credentials) by one with its login.
    """
    artifact = package.artifact
    if artifact.kind == "directory":
        prefix = "-e " if package.editable else f"{package.name} @ "
        return f"{prefix}{artifact.url}"
    line = f"{package.name} @ {url or artifact.url}"
    if artifact.sha256:
        line += f" --hash=sha256:{artifact.sha256}"
    return line


class RequirementsInstaller:
    """A backend that installs by handing a tool (pip, uv) a hashed requirements file.

    The tool is pointed at the venv and never resolves: ``--no-deps``, the exact artifacts,
    their hashes required. Subclasses give the command line and the error it maps to.
    """

    def __init__(self, *, runner: Runner = run) -> None:
        self._run = runner

    def prepare(
        self,
        python: Path,
        packages: Sequence[Wanted],
        *,
        index: IndexConfig,
        indexes: Sequence[NamedIndex] = (),
        sources: Sequence[Source] = (),
        direct: Sequence[str] = (),
    ) -> None:
        """Nothing ahead: the tool downloads and checks every hash before it changes the venv."""

    def install(
        self,
        python: Path,
        packages: Sequence[Wanted],
        *,
        index: IndexConfig,
        indexes: Sequence[NamedIndex] = (),
        sources: Sequence[Source] = (),
        direct: Sequence[str] = (),
    ) -> None:
        """Hashed artifacts in one call; local folders (which have no hash) in another."""
        hashed = [p for p in packages if p.artifact.kind != "directory"]
        folders = [p for p in packages if p.artifact.kind == "directory"]
        routes = proxy.routes(
            index, indexes, sources, default_url=default_index_url(), direct=direct
        )
        with proxy.pip_access(routes, index.find_links) as access:
            if hashed:
                self._install(python, hashed, access, ["--require-hashes"])
            if folders:
                self._install(python, folders, access, [])

    def writes(self, python: Path, packages: Sequence[Wanted]) -> Sequence[str] | None:
        """Unknown ahead: the tool reads the archives.

        The transaction checks the venv's own files after the tool ran instead.
        """
        del python, packages
        return None

    def _install(
        self, python: Path, packages: Sequence[Wanted], access: PipAccess, extra: list[str]
    ) -> None:
        with removal.temporary_folder("envsync-install-") as tmp:
            reqs = Path(tmp) / "requirements.txt"
            # In a private folder (0700): a login netrc cannot carry may go in a URL here.
            lines = [requirement_line(p, access.file_url(p.artifact.url)) for p in packages]
            reqs.write_text("".join(f"{line}\n" for line in lines), "utf-8")
            # access.args are read only by build isolation: an sdist's build requirements.
            argv = [*self._install_argv(python, extra), *access.args, "-r", os.fspath(reqs)]
            access.run(self._run, argv, error=self._install_error)

    def _install_argv(self, python: Path, extra: list[str]) -> list[str]:
        raise NotImplementedError

    def _install_error(self, output: str) -> EnvsyncError:
        raise NotImplementedError


class PipInstaller(RequirementsInstaller):
    """Installs with pip (envsync's own, pointed at the venv with ``--python``)."""

    def __init__(self, *, runner: Runner = run, pip_python: Path | None = None) -> None:
        super().__init__(runner=runner)
        self._pip = [os.fspath(pip_python or sys.executable), "-m", "pip"]

    def _install_argv(self, python: Path, extra: list[str]) -> list[str]:
        return [
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
        ]

    def _install_error(self, output: str) -> EnvsyncError:
        return _install_error(output)


# pip's words for a download an index refused: "HTTP error 401 while getting URL" and
# requests' "401 Client Error: Unauthorized for url: URL".
_REFUSED = re.compile(r"HTTP error 40[13]\b|\b40[13] Client Error")


def _install_error(output: str) -> EnvsyncError:
    shown = tail(output)
    if _REFUSED.search(output):
        return IndexAuthError(
            f"an index refused a download (no or wrong credentials):\n{shown}",
            hint="give envsync the index's credentials: the ENVSYNC_INDEX_<NAME>_USERNAME and "
            "_PASSWORD variables (ENVSYNC_INDEX_USERNAME for [index] url), ~/.netrc or keyring",
        )
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
