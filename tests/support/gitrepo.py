"""A local git repository holding a tiny package, served over file:// (no network).

Each commit writes the package at a new version with the in-tree build backend of
``support.wheels`` (builds offline). git must be installed: a machine without it fails the
tests that need it loudly (``require_git``), never skips them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from support.wheels import build_project_dir

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["GitRepo", "require_git"]

_IDENTITY = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def require_git() -> str:
    """git's path; the test fails (it is not skipped) when the machine has none."""
    git = shutil.which("git")
    if git is None:
        pytest.fail("these tests need git on PATH: install git (CI must have it)")
    return git


@dataclass(frozen=True, slots=True)
class GitRepo:
    """A repository at *path* with package *name*; branch ``main``."""

    path: Path
    name: str

    @classmethod
    def create(cls, path: Path, name: str) -> GitRepo:
        """An empty repository (no commit yet) at *path*."""
        path.mkdir(parents=True)
        repo = cls(path, name)
        repo.git("init", "--quiet", "--initial-branch=main")
        return repo

    @property
    def url(self) -> str:
        """``git+file:///...``: the repository as a requirement names it."""
        return f"git+{self.path.as_uri()}"

    def git(self, *args: str) -> str:
        """Run git in the repository; its stdout."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        done = subprocess.run(
            [require_git(), "-C", str(self.path), *args],
            capture_output=True,
            text=True,
            check=True,
            env={**env, **_IDENTITY},
        )
        return done.stdout.strip()

    def commit(self, version: str, *, requires: tuple[str, ...] = ()) -> str:
        """Write the package at *version*, commit it; the full commit id."""
        built = build_project_dir(
            self.path.parent / f".build-{version}", self.name, version, requires=requires
        )
        shutil.copytree(built, self.path, dirs_exist_ok=True)
        shutil.rmtree(built.parent)
        self.git("add", "--all")
        self.git("commit", "--quiet", "-m", f"version {version}")
        return self.git("rev-parse", "HEAD")
