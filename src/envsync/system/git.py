"""git, run for envsync: a revision resolved to its commit, a commit checked out. SUBPROCESS.

Every git run goes through ``process.run`` with an environment of envsync's making: the
``GIT_*`` variables that could point git at another repository, index, object store or
configuration are dropped (a hook or a shell may have set ``GIT_DIR``), and
``GIT_TERMINAL_PROMPT=0`` makes a repository that wants a password fail at once instead of
waiting for a prompt nobody sees, and ``GIT_ALLOW_PROTOCOL`` keeps git (submodules included)
to the transports that fetch and run nothing. How git logs in (ssh keys, credential helpers,
``~/.netrc``) is the user's git configuration, as for any git command they run.
"""

from __future__ import annotations

import os
import re
import shutil
from typing import TYPE_CHECKING

from envsync.core.vcsurl import TRANSPORTS, is_commit
from envsync.errors import VcsError
from envsync.system.process import Runner, clean_env, redact, run, tail

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

__all__ = ["Git", "git_env"]

#: The GIT_* variables kept: how git logs in, never where it looks.
_KEPT = frozenset({"GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSH_VARIANT", "GIT_ASKPASS"})
_ABBREVIATED = re.compile(r"[0-9a-fA-F]{4,40}")
_INSTALL_GIT = "install git (https://git-scm.com) and make sure `git` is on PATH"


def git_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """*environ* (os.environ) as envsync runs git with it: see the module docstring."""
    base = clean_env() if environ is None else dict(environ)
    env = {k: v for k, v in base.items() if not k.startswith("GIT_") or k in _KEPT}
    env["GIT_TERMINAL_PROMPT"] = "0"
    # Submodules too: no transport that runs a program (ext::, fd::) or a remote helper.
    env["GIT_ALLOW_PROTOCOL"] = ":".join(TRANSPORTS)
    return env


class Git:
    """git on PATH, run through *runner*, for one repository URL at a time."""

    def __init__(self, *, runner: Runner = run, env: Mapping[str, str] | None = None) -> None:
        self._run = runner
        self._env = git_env(env)

    def commit_of(self, url: str, rev: str | None, work: Path) -> str:
        """The full commit id *rev* names in the repository at *url* (None: its HEAD).

        A branch or tag is looked up with ``git ls-remote``, which fetches nothing; a commit id
        (full or abbreviated) is fetched into *work*, an empty folder envsync owns.
        """
        refs = self._refs(url)
        for name in _ref_names(rev):
            if name in refs:
                return refs[name]
        if rev is None or not _looks_like_commit(rev):
            raise _unknown(url, rev)
        return self._fetch_commit(url, rev, work)

    def checkout(self, url: str, commit: str, dest: Path) -> None:
        """The tree of *commit* (a full id) from *url* checked out in *dest*, a new folder."""
        self._git(["init", "--quiet", os.fspath(dest)], url)
        self._fetch(url, dest, commit)
        self._git(["-C", os.fspath(dest), "checkout", "--quiet", "--detach", commit], url)
        if (dest / ".gitmodules").is_file():
            argv = ["-C", os.fspath(dest), "submodule", "update", "--init", "--recursive", "-q"]
            self._git(argv, url)

    def _refs(self, url: str) -> dict[str, str]:
        """Every ref the repository advertises, with its commit (peeled tags as git writes them)."""
        out = self._git(["ls-remote", "--", url], url)
        refs: dict[str, str] = {}
        for line in out.splitlines():
            sha, _, name = line.partition("\t")
            refs[name.strip()] = sha.strip()
        return refs

    def _fetch_commit(self, url: str, rev: str, work: Path) -> str:
        """*rev* (a commit id, maybe abbreviated) fetched into *work*; its full id."""
        self._git(["init", "--quiet", "--bare", os.fspath(work)], url)
        self._fetch(url, work, rev)
        verify = ["-C", os.fspath(work), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"]
        return self._git(verify, url, error=lambda _: _unknown(url, rev)).strip()

    def _fetch(self, url: str, into: Path, rev: str) -> None:
        """*rev* into the repository *into*: a full id alone, else every branch and tag."""
        where = ["-C", os.fspath(into), "fetch", "--quiet"]
        if is_commit(rev):
            self._git(
                [*where, "--depth=1", "--", url, rev], url, error=lambda _: _unknown(url, rev)
            )
            return
        every = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]
        self._git([*where, "--", url, *every], url)

    def _git(
        self, args: list[str], url: str, *, error: Callable[[str], VcsError] | None = None
    ) -> str:
        git = shutil.which("git", path=self._env.get("PATH"))
        if git is None:
            raise VcsError(
                f"git is needed for {redact(url)}, and it is not on PATH", hint=_INSTALL_GIT
            )
        failed = error or (lambda output: _failed(url, output))
        return self._run([git, *args], error=failed, env=self._env).stdout


def _ref_names(rev: str | None) -> list[str]:
    """The ref names *rev* may stand for, in git's own order (tags before branches)."""
    if rev is None:
        return ["HEAD"]
    return [rev, f"refs/{rev}", f"refs/tags/{rev}^{{}}", f"refs/tags/{rev}", f"refs/heads/{rev}"]


def _looks_like_commit(rev: str) -> bool:
    """A commit id, maybe abbreviated (git accepts 4 to 40 hex digits)."""
    return bool(_ABBREVIATED.fullmatch(rev))


def _unknown(url: str, rev: str | None) -> VcsError:
    what = f"revision {rev!r}" if rev else "default branch (HEAD)"
    return VcsError(
        f"the git repository {redact(url)} has no {what}",
        hint="write an existing branch, tag or full commit id after @ in env.toml",
    )


def _failed(url: str, output: str) -> VcsError:
    return VcsError(
        f"git could not read the repository {redact(url)}:\n{tail(output)}",
        hint="check the URL, your network and that your git can log in to it "
        "(git is run without prompting for a password)",
    )
