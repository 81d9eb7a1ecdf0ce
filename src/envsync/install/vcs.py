"""A locked git commit as a wheel: cloned, built once, kept in the cache. SUBPROCESS + FILES.

The lock names a repository and a full commit id (PEP 751 ``[packages.vcs]``). The commit
is checked out into a temporary folder envsync owns (under the cache's ``tmp/``, so the
wheel reaches its place by one rename), built into a wheel by pip for the venv's
interpreter, and kept as::

    vcs/<key>/<wheel filename>

where the key hashes the commit, the subdirectory and the interpreter's most specific wheel
tag: a second venv (or a second apply after the venv was removed) installs the same build
without cloning again. The wheel is then installed like any other, with a direct_url.json
that names the commit (PEP 610 ``vcs_info``), which is what drift checks compare.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from envsync.errors import BuildError, InstallError
from envsync.system import removal
from envsync.system.git import Git
from envsync.system.process import Runner, run, tail

if TYPE_CHECKING:
    from envsync.core.lockfile import Wanted
    from envsync.core.resolved import LockedVcs
    from envsync.index.pipaccess import PipAccess
    from envsync.install.cache import Cache
    from envsync.venv.environment import VenvInfo

__all__ = ["VcsWheels", "vcs_of"]

#: The cache folder of built git checkouts (``cache.SUBFOLDERS`` names it too).
FOLDER = "vcs"


def vcs_of(package: Wanted) -> LockedVcs:
    """The repository and commit of a ``vcs`` artifact."""
    vcs = package.artifact.vcs
    if vcs is None:  # pragma: no cover - lockselect gives every vcs artifact its commit
        raise InstallError(f"{package.name}: the lock names no git commit for it")
    return vcs


class VcsWheels:
    """Wheels of locked git commits, built where the cache has none (see the module docstring)."""

    def __init__(
        self,
        cache: Cache,
        *,
        runner: Runner = run,
        git: Git | None = None,
        pip_python: Path | None = None,
    ) -> None:
        self._cache = cache
        self._run = runner
        self._git = git or Git(runner=runner)
        self._pip = [os.fspath(pip_python or sys.executable), "-m", "pip"]

    def cached(self, venv: VenvInfo, package: Wanted) -> Path | None:
        """The wheel built earlier for *package*'s commit and *venv*'s interpreter, if any."""
        folder = self._folder(venv, package)
        wheels = sorted(folder.glob("*.whl")) if folder.is_dir() else []
        return wheels[0] if wheels else None

    def wheel(self, venv: VenvInfo, package: Wanted, access: PipAccess) -> Path:
        """The wheel of *package*'s commit for *venv*: from the cache, or cloned and built."""
        found = self.cached(venv, package)
        if found is not None:
            return found
        vcs = vcs_of(package)
        tmp_root = self._cache.root / "tmp"
        tmp_root.mkdir(parents=True, exist_ok=True)
        with removal.temporary_folder("envsync-git-", folder=tmp_root) as tmp:
            checkout = Path(tmp) / "src"
            self._git.checkout(vcs.url, vcs.commit_id, checkout)
            built = self._build(venv, package, _project(checkout, vcs), Path(tmp) / "out", access)
            target = self._folder(venv, package) / built.name
            removal.move(built, target, within=removal.Owned.cache(self._cache.root))
        return target

    def _folder(self, venv: VenvInfo, package: Wanted) -> Path:
        vcs = vcs_of(package)
        tag = venv.tags[0] if venv.tags else f"{venv.version}"
        text = f"{vcs.commit_id}\0{vcs.subdirectory or ''}\0{tag}"
        return self._cache.root / FOLDER / hashlib.sha256(text.encode()).hexdigest()

    def _build(
        self, venv: VenvInfo, package: Wanted, project: Path, out: Path, access: PipAccess
    ) -> Path:
        """Pip's wheel of *project* for *venv*'s Python (build requirements from the indexes)."""
        argv = [
            *self._pip,
            "--python",
            os.fspath(venv.python),
            "wheel",
            "--no-deps",
            "--quiet",
            f"--wheel-dir={out}",
            *access.args,
            os.fspath(project),
        ]

        def failed(output: str) -> BuildError:
            return BuildError(
                f"{package.name} (git commit {vcs_of(package).commit_id[:12]}) failed to build:"
                f"\n{tail(output)}",
                hint="fix the package's build at that commit, or lock another revision",
            )

        access.run(self._run, argv, error=failed)
        wheels = sorted(out.glob("*.whl"))
        if len(wheels) != 1:  # pragma: no cover - pip wheel --no-deps of one project gives one
            raise BuildError(f"building {package.name} gave {len(wheels)} wheels, not one")
        return wheels[0]


def _project(checkout: Path, vcs: LockedVcs) -> Path:
    """The project folder in *checkout*: its root, or the lock's subdirectory (kept inside)."""
    if not vcs.subdirectory:
        return checkout
    project = (checkout / vcs.subdirectory).resolve()
    if not project.is_relative_to(checkout.resolve()) or not project.is_dir():
        raise InstallError(
            f"the git commit {vcs.commit_id[:12]} of {vcs.url} has no folder {vcs.subdirectory!r}",
            hint="fix #subdirectory= in env.toml and run `envsync lock`",
        )
    return project
