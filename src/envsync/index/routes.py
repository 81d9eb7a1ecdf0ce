"""Which index serves which project: the default and extra indexes, and the pinned ones.

pip and pip-compile have no per-package index option: given several indexes, they take the
best version found on any of them, which is how dependency confusion works. So env.toml may
pin a project to a named index, and the routes say, for each project, the only indexes that
may serve it:

* a pinned project: its named index, and nothing else;
* any other project: the default and extra indexes. A named index never serves it (and a
  pinned name is never looked up on the default and extra indexes).

Each index's login is looked up once, here, when the routes are made (see ``credentials``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from envsync.index import credentials, simpleapi

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from envsync._types import NormalizedName
    from envsync.core.spec import IndexConfig, NamedIndex, Source
    from envsync.index.connections import Connections
    from envsync.index.credentials import Upstream

__all__ = ["Routes", "routes"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Routes:
    """Which indexes may serve which project."""

    default: tuple[Upstream, ...]
    """[index] url (or pip's default index) first, then the extra URLs: every unpinned project."""
    pinned: Mapping[NormalizedName, Upstream] = field(default_factory=dict)
    """Each pinned project's named index: the only place that project comes from."""
    others: tuple[Upstream, ...] = ()
    """find-links pages and direct URLs on the web, with their logins: no index, but a host."""
    connections: Connections | None = field(default=None, compare=False, repr=False)
    """The run's open connections to these hosts, which every request of the run shares;
    None: each request opens its own."""

    def for_project(self, name: str) -> tuple[Upstream, ...]:
        """The indexes to ask for project *name*."""
        pinned = self.pinned.get(canonicalize_name(name))
        return self.default if pinned is None else (pinned,)

    def is_pinned(self, name: str) -> bool:
        """Whether project *name* is pinned to a named index."""
        return canonicalize_name(name) in self.pinned

    def upstreams(self) -> tuple[Upstream, ...]:
        """Every index of the run, each once: the default and extra ones, then the named ones."""
        return tuple(dict.fromkeys([*self.default, *self.pinned.values()]))

    def logins(self) -> tuple[Upstream, ...]:
        """Every location of the run that a login may belong to: indexes, then ``others``."""
        return (*self.upstreams(), *self.others)

    def find_links(self, location: str) -> Upstream:
        """The find-links URL *location* as an Upstream (with its login, if any)."""
        plain = credentials.split_userinfo(location)[0]
        return next((u for u in self.others if u.url == plain), credentials.upstream(location))


def routes(
    index: IndexConfig,
    named: Iterable[NamedIndex],
    sources: Iterable[Source],
    *,
    default_url: str | None = None,
    direct: Iterable[str] = (),
    connections: Connections | None = None,
) -> Routes:
    """The routes of a spec, each index's credentials looked up once.

    *default_url* is used when ``[index] url`` is absent; without it, pip's default index
    (looked up only then: it means importing pip). Only named
    indexes that some [sources] entry pins a package to are used at all. *direct* are the
    spec's direct-URL requirements' URLs, whose logins (in the URL, netrc or keyring) are
    kept with the find-links pages' in ``others``. *connections*: see ``Routes``.
    """
    first = (
        credentials.upstream(index.url, credentials.DEFAULT)
        if index.url
        else credentials.upstream(default_url or simpleapi.default_index_url())
    )
    extras = [credentials.upstream(url) for url in index.extra_urls]
    pins = {s.package: s.index for s in sources if s.index is not None}
    used = {n.name: credentials.upstream(n.url, n.name) for n in named if n.name in pins.values()}
    pinned = {package: used[name] for package, name in sorted(pins.items()) if name in used}
    web = [url for url in (*index.find_links, *direct) if url.startswith(("http:", "https:"))]
    others = tuple(dict.fromkeys(credentials.upstream(url) for url in web))
    return Routes(default=(first, *extras), pinned=pinned, others=others, connections=connections)
