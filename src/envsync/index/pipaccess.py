"""How one pip, pip-compile or uv run reaches the indexes: its options and environment. NETWORK.

Without pinned packages, pip gets the indexes themselves. With them, it gets only the URL of
the routing proxy (``routingproxy.IndexProxy``), started for the length of the run, which
serves each project from the indexes its routes allow. Either way, credentials never go on
the command line: a login netrc can carry goes in a private netrc file (``NETRC``), any other
in the URL an environment variable gives (``credentials.child_options``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from envsync.errors import EnvsyncError
from envsync.index import credentials, retry
from envsync.index.routingproxy import IndexProxy
from envsync.system.git import git_env
from envsync.system.process import clean_env

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
    from pathlib import Path

    from envsync.index.credentials import Login, Upstream
    from envsync.index.routes import Routes
    from envsync.system.process import Runner

__all__ = ["PipAccess", "pip_access"]


@dataclass(frozen=True, kw_only=True, slots=True)
class PipAccess:
    """The index options and environment of one pip (or pip-compile) run."""

    args: tuple[str, ...]
    """``--index-url`` / ``--extra-index-url`` / ``--find-links`` options."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Variables to add to pip's environment (``NETRC``, timeouts and retries)."""
    proxy: IndexProxy | None = None
    """The proxy pip talks to, when packages are pinned."""
    unsent: Mapping[str, Login] = field(default_factory=dict, repr=False)
    """host:port -> a login of the run that the netrc file does not carry (kept out of repr)."""

    def file_url(self, url: str) -> str:
        """*url* of a file to install, with its host's login when netrc does not carry it.

        For a requirements file in a private folder: pip and uv find a file's login in
        netrc, or in the file's own URL, never in an index URL on another path.
        """
        login = self.unsent.get(urlsplit(url).netloc)
        return credentials.with_userinfo(url, login) if login else url

    def run(
        self,
        runner: Runner,
        argv: Sequence[str],
        *,
        error: Callable[[str], EnvsyncError],
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run pip; an index the proxy could not read is the error to report, not pip's."""
        try:
            # git_env: the git that pip and uv run for a git requirement is isolated as ours is.
            proc = runner(argv, error=error, cwd=cwd, env=git_env(clean_env(self.env)))
        except EnvsyncError:
            self._raise_upstream_failure()  # pip only saw a 502; this says why
            raise
        self._raise_upstream_failure()  # fail closed: a page went missing during the run
        return proc

    def _raise_upstream_failure(self) -> None:
        failure = self.proxy.failure() if self.proxy is not None else None
        if failure is not None:
            raise failure


@contextlib.contextmanager
def pip_access(routes: Routes, find_links: Iterable[str]) -> Iterator[PipAccess]:
    """How pip reaches the indexes for the length of the block.

    With pinned packages, pip gets the proxy as its only index; without, the indexes
    themselves. pip and uv wait and retry as envsync does (``retry.Policy.subprocess_env``).
    """
    patience = retry.policy().subprocess_env()
    logins = routes.logins()
    proxied = bool(routes.pinned)  # pip then sees the proxy's URL only: see netrc_logins
    with credentials.pip_netrc(logins, first_wins=proxied) as netrc:
        in_netrc = credentials.netrc_logins(logins, first_wins=proxied)
        links = [
            credentials.as_given(routes.find_links(where), in_netrc)
            if "://" in where and not where.startswith("file:")
            else (where, False)
            for where in find_links
        ]
        env = {**patience, **netrc}
        unsent = _unsent(logins, in_netrc)
        if not routes.pinned:
            indexes = [credentials.as_given(u, in_netrc) for u in routes.default]
            options = _options(indexes, links)
            env.update(_env(options))
            yield PipAccess(args=_args(options), env=env, unsent=unsent)
            return
        with IndexProxy(routes) as proxy:
            options = _options([(proxy.url, False)], links)
            env.update(_env(options))
            yield PipAccess(args=_args(options), env=env, proxy=proxy, unsent=unsent)


def _unsent(logins: Sequence[Upstream], in_netrc: Mapping[str, Login]) -> dict[str, Login]:
    """host:port -> the first login for it that the netrc file does not carry."""
    unsent: dict[str, Login] = {}
    for where in logins:
        parts = urlsplit(where.url)
        if where.login and in_netrc.get(parts.hostname or "") != where.login:
            unsent.setdefault(parts.netloc, where.login)
    return unsent


def _options(
    indexes: Sequence[tuple[str, bool]], links: list[tuple[str, bool]]
) -> list[credentials.ChildOptions]:
    """The index and find-links options of a pip run, each on the command line or not."""
    return [
        credentials.child_options("--index-url", list(indexes[:1])),
        credentials.child_options("--extra-index-url", list(indexes[1:])),
        credentials.child_options("--find-links", links),
    ]


def _args(options: Sequence[credentials.ChildOptions]) -> tuple[str, ...]:
    return tuple(arg for option in options for arg in option.args)


def _env(options: Sequence[credentials.ChildOptions]) -> dict[str, str]:
    return {name: value for option in options for name, value in option.env.items()}
