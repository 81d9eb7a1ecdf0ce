"""The Installer protocol, what its backends share, and the base of the pip and uv backends.

An installer never resolves: it is handed the exact artifacts the lock selected. The caller
has already taken the versions being replaced out of the venv (the transaction moves them
aside, and puts them back if the install fails), so a backend only adds.

The locked URLs carry no credentials: a backend gets those of the indexes' hosts from the
routes of the spec's indexes (see proxy). The index options only matter to an sdist's build
requirements, and go through the routing proxy when packages are pinned to named indexes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from typing_extensions import NotRequired, TypedDict, Unpack

from envsync.core import requirementtext
from envsync.errors import (
    BuildError,
    EnvsyncError,
    HashMismatchError,
    IndexAuthError,
    IndexUnreachableError,
    InstallError,
)
from envsync.index import routes as routing
from envsync.system import removal
from envsync.system.process import Runner, run, tail

if TYPE_CHECKING:
    from collections.abc import Sequence

    from envsync.core.lockfile import Wanted
    from envsync.core.spec import IndexConfig, NamedIndex, Source
    from envsync.index.pipaccess import PipAccess
    from envsync.venv.environment import VenvInfo

__all__ = [
    "InstallFailure",
    "Installer",
    "Origins",
    "RequirementsInstaller",
    "install_error",
    "requirement_line",
    "routes",
]


class Origins(TypedDict):
    """Where the artifacts and their build requirements come from, and whose logins apply.

    A TypedDict rather than a frozen dataclass because it types keyword arguments (PEP 692):
    callers pass ``index=..., indexes=...`` as before, and no backend restates the four.
    """

    index: IndexConfig
    """``[index]``, find-links made absolute."""
    indexes: NotRequired[Sequence[NamedIndex]]
    """The named indexes of ``[[indexes]]``."""
    sources: NotRequired[Sequence[Source]]
    """``[sources]``: packages pinned to a named index."""
    direct: NotRequired[Sequence[str]]
    """The spec's direct-URL requirements' URLs as written (credentials included)."""
    routes: NotRequired[routing.Routes]
    """The routes of the above with their logins, when the caller looked them up for the run."""


class Installer(Protocol):
    """Puts exact artifacts into a venv (one envsync already inspected)."""

    def prepare(self, venv: VenvInfo, packages: Sequence[Wanted], **where: Unpack[Origins]) -> None:
        """Fetch and check what ``install`` will need, before anything in the venv changes."""
        ...

    def install(self, venv: VenvInfo, packages: Sequence[Wanted], **where: Unpack[Origins]) -> None:
        """Install *packages* into *venv*, from which the versions they replace are gone.

        *where* says where build requirements come from and whose credentials the tool gets.
        """
        ...

    def writes(self, venv: VenvInfo, packages: Sequence[Wanted]) -> Sequence[str] | None:
        """Every path ``install`` will write, checked to be the packages' own; None: unknown.

        Called after ``prepare``, before the venv changes: a package that would write the
        venv's own files (its interpreter, scripts, pyvenv.cfg) is refused here.
        """
        ...


def routes(where: Origins) -> routing.Routes:
    """The routes of the indexes in *where*: as the caller found them, else looked up now."""
    if "routes" in where:
        return where["routes"]
    return routing.routes(
        where["index"],
        where.get("indexes", ()),
        where.get("sources", ()),
        direct=where.get("direct", ()),
    )


def requirement_line(package: Wanted, url: str | None = None, *, hash_in_url: bool = False) -> str:
    """A requirements-file line that pins *package* to its exact artifact and hash.

    *url* replaces the artifact's (which has no credentials) by one with its login. With
    *hash_in_url* the URL carries the sha256 as its fragment too: pip keys the wheels it
    builds by the URL, and by the hash only when the URL holds it, so without it an sdist
    published again at the same URL with other bytes would be installed from the wheel
    pip built of the old one.
    """
    artifact = package.artifact
    if artifact.kind == "directory":
        return requirementtext.requirement_line(
            package.name, url=artifact.url, editable=package.editable
        )
    if artifact.kind == "vcs":  # git+URL@commit: the tool clones it (no hash to check)
        return requirementtext.requirement_line(package.name, url=artifact.url)
    where = url or artifact.url
    if hash_in_url and artifact.sha256 and "#" not in where:
        where = f"{where}#sha256={artifact.sha256}"
    return requirementtext.requirement_line(package.name, url=where, hashes=[artifact.sha256])


#: What went wrong in an install tool's run, as its backend reads the tool's output.
InstallFailure = Literal["refused", "hash", "build", "unreachable", "other"]


def install_error(tool: str, failure: InstallFailure, output: str) -> EnvsyncError:
    """The error for a failed run of the install *tool* (pip, uv), quoting its output's end."""
    shown = tail(output)
    if failure == "refused":
        return IndexAuthError(
            f"an index refused a download (no or wrong credentials):\n{shown}",
            hint="give envsync the index's credentials: the ENVSYNC_INDEX_<NAME>_USERNAME and "
            "_PASSWORD variables (ENVSYNC_INDEX_USERNAME for [index] url), ~/.netrc or keyring",
        )
    if failure == "hash":
        return HashMismatchError(
            f"a downloaded file does not match the hash in pylock.toml:\n{shown}",
            hint="the index served different bytes than were locked; if that is expected, "
            "run `envsync lock --upgrade-package NAME`",
        )
    if failure == "build":
        return BuildError(
            f"a package failed to build:\n{shown}",
            hint="fix the package's build, or pin a version that ships a wheel",
        )
    if failure == "unreachable":
        return IndexUnreachableError(
            f"a package could not be downloaded:\n{shown}",
            hint="check [index] url in env.toml and your network",
        )
    return InstallError(f"{tool} could not install the locked packages:\n{shown}")


#: What pip and uv refuse under --require-hashes, having no file to hash.
_UNHASHED = frozenset({"directory", "vcs"})


class RequirementsInstaller:
    """A backend that installs by handing a tool (pip, uv) a hashed requirements file.

    The tool is pointed at the venv and never resolves: ``--no-deps``, the exact artifacts,
    their hashes required. Subclasses give the command line and read the tool's failures.
    """

    #: The tool's name, for messages.
    tool = "the installer"
    #: Whether the tool is handed each archive's sha256 in its URL too (``requirement_line``).
    hash_in_url = False

    def __init__(self, *, runner: Runner = run) -> None:
        self._run = runner

    def prepare(self, venv: VenvInfo, packages: Sequence[Wanted], **where: Unpack[Origins]) -> None:
        """Nothing ahead: the tool downloads and checks every hash before it changes the venv."""

    def install(self, venv: VenvInfo, packages: Sequence[Wanted], **where: Unpack[Origins]) -> None:
        """Hashed artifacts in one call; local folders and git commits (no hash) in another."""
        hashed = [p for p in packages if p.artifact.kind not in _UNHASHED]
        folders = [p for p in packages if p.artifact.kind in _UNHASHED]
        # Imported here: the native installer shares this module and reaches pip only for
        # a git commit.
        from envsync.index import pipaccess  # noqa: PLC0415

        with pipaccess.pip_access(routes(where), where["index"].find_links) as access:
            if hashed:
                self._install(venv.python, hashed, access, ["--require-hashes"])
            if folders:
                self._install(venv.python, folders, access, [])

    def writes(self, venv: VenvInfo, packages: Sequence[Wanted]) -> Sequence[str] | None:
        """Unknown ahead: the tool reads the archives.

        The transaction checks the venv's own files after the tool ran instead.
        """
        del venv, packages
        return None

    def _install(
        self, python: Path, packages: Sequence[Wanted], access: PipAccess, extra: list[str]
    ) -> None:
        with removal.temporary_folder("envsync-install-") as tmp:
            reqs = Path(tmp) / "requirements.txt"
            # In a private folder (0700): a login netrc cannot carry may go in a URL here.
            lines = [
                requirement_line(p, access.file_url(p.artifact.url), hash_in_url=self.hash_in_url)
                for p in packages
            ]
            reqs.write_text("".join(f"{line}\n" for line in lines), "utf-8")
            # access.args are read only by build isolation: an sdist's build requirements.
            argv = [*self._install_argv(python, extra), *access.args, "-r", os.fspath(reqs)]
            access.run(self._run, argv, error=self._install_error)

    def _install_error(self, output: str) -> EnvsyncError:
        return install_error(self.tool, self._failure(output), output)

    def _install_argv(self, python: Path, extra: list[str]) -> list[str]:
        """The tool's command line that installs into the venv of *python*."""
        raise NotImplementedError

    def _failure(self, output: str) -> InstallFailure:
        """What went wrong, read from the tool's *output*."""
        raise NotImplementedError
