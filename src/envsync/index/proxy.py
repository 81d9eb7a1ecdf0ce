"""A local simple index that sends each project to the index it must come from. NETWORK.

pip and pip-compile have no per-package index option: given several indexes, they take the
best version found on any of them, which is how dependency confusion works. So when env.toml
pins packages to named indexes, envsync starts ``IndexProxy`` on 127.0.0.1 and gives pip only
its URL. It answers ``/simple/<project>/`` (PEP 503 HTML or PEP 691 JSON) with:

* a pinned project: the page of its named index, and nothing else;
* any other project: the pages of the default and extra indexes, merged. A named index never
  serves it (and a pinned name is never looked up on the default and extra indexes).

Links in served pages are absolute upstream URLs, so pip downloads files directly from the
indexes; the proxy only serves pages, fetched with the credentials envsync found.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import socket
import socketserver
import sys
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urljoin, urlsplit

from packaging.utils import canonicalize_name

from envsync.errors import EnvsyncError, IndexUnreachableError
from envsync.index import credentials, retry, simpleapi
from envsync.system.process import clean_env

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
    from pathlib import Path
    from types import TracebackType

    from typing_extensions import Self

    from envsync._types import NormalizedName
    from envsync.core.spec import IndexConfig, NamedIndex, Source
    from envsync.index.credentials import Login, Upstream
    from envsync.index.simpleapi import Page
    from envsync.system.process import Runner

__all__ = ["IndexProxy", "PipAccess", "Routes", "pip_access", "routes"]

_LOG = logging.getLogger("envsync.index.proxy")
_JSON = "application/vnd.pypi.simple.v1+json"
_HTML = "text/html; charset=utf-8"


# -- which index serves which project ---------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class Routes:
    """Which indexes may serve which project."""

    default: tuple[Upstream, ...]
    """[index] url (or pip's default index) first, then the extra URLs: every unpinned project."""
    pinned: Mapping[NormalizedName, Upstream] = field(default_factory=dict)
    """Each pinned project's named index: the only place that project comes from."""
    others: tuple[Upstream, ...] = ()
    """find-links pages and direct URLs on the web, with their logins: no index, but a host."""

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
    default_url: str,
    direct: Iterable[str] = (),
) -> Routes:
    """The routes of a spec, each index's credentials looked up once.

    *default_url* is used when ``[index] url`` is absent (pip's default index); only named
    indexes that some [sources] entry pins a package to are used at all. *direct* are the
    spec's direct-URL requirements' URLs, whose logins (in the URL, netrc or keyring) are
    kept with the find-links pages' in ``others``.
    """
    first = (
        credentials.upstream(index.url, credentials.DEFAULT)
        if index.url
        else credentials.upstream(default_url)
    )
    extras = [credentials.upstream(url) for url in index.extra_urls]
    pins = {s.package: s.index for s in sources if s.index is not None}
    used = {n.name: credentials.upstream(n.url, n.name) for n in named if n.name in pins.values()}
    pinned = {package: used[name] for package, name in sorted(pins.items()) if name in used}
    web = [url for url in (*index.find_links, *direct) if url.startswith(("http:", "https:"))]
    others = tuple(dict.fromkeys(credentials.upstream(url) for url in web))
    return Routes(default=(first, *extras), pinned=pinned, others=others)


# -- how a pip run reaches the indexes --------------------------------------------------------


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
            proc = runner(argv, error=error, cwd=cwd, env=clean_env(self.env))
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
    themselves. Credentials never go on the command line: a login netrc can carry goes in a
    private netrc file (``NETRC``), any other in the URL an environment variable gives
    (``credentials.child_options``). pip and uv wait and retry as envsync does
    (``retry.Policy.subprocess_env``).
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


# -- the proxy --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Response:
    """What the proxy answers."""

    status: int
    """The HTTP status."""
    body: bytes = b""
    """The whole body (sent with its Content-Length)."""
    content_type: str = "text/plain; charset=utf-8"
    """Its Content-Type."""


class IndexProxy:
    """The routing simple index on 127.0.0.1, as a context manager that serves in a thread."""

    def __init__(self, routes: Routes) -> None:
        self.routes = routes
        self._lock = threading.Lock()
        self._failures: list[EnvsyncError] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="envsync-index-proxy",
            daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        thread.join()
        server.drop_connections()  # idle keep-alive connections end their handler threads
        server.server_close()
        self._server = self._thread = None

    @property
    def url(self) -> str:
        """The index URL to give pip."""
        if self._server is None:
            raise RuntimeError("the index proxy is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}/simple"

    def failure(self) -> EnvsyncError | None:
        """The first upstream failure seen (an index unreachable, refusing, or unreadable)."""
        with self._lock:
            return self._failures[0] if self._failures else None

    def respond(self, path: str, accept: str | None) -> _Response:
        """Answer one GET: the root (empty), or a project's page."""
        route = unquote(urlsplit(path).path)
        if route in {"/simple", "/simple/"}:
            return _Response(200, _html_page("Simple index", []), _HTML)
        name = route.removeprefix("/simple/").strip("/")
        if not route.startswith("/simple/") or not name or "/" in name:
            return _Response(404, b"not found\n")
        return self._project(canonicalize_name(name), as_json=_JSON in (accept or ""))

    def _project(self, name: str, *, as_json: bool) -> _Response:
        if self.failure() is not None:
            # The run fails anyway (PipAccess.run raises it): answer at once, rather than
            # let pip's retries multiply envsync's own against an index that is failing.
            return _Response(502, b"the upstream index failed\n")
        upstreams = self.routes.for_project(name)
        _LOG.debug("index proxy: %s from %s", name, ", ".join(u.url for u in upstreams))
        try:
            pages = [p for u in upstreams if (p := simpleapi.fetch_page(u, name)) is not None]
            return _merge(name, pages, as_json=as_json) if pages else _Response(404, b"unknown\n")
        except EnvsyncError as exc:
            failure = exc
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            msg = f"an index served an unreadable page for {name}: {exc}"
            failure = IndexUnreachableError(msg, hint="check the indexes in env.toml")
        with self._lock:
            self._failures.append(failure)
        return _Response(502, b"the upstream index failed\n")


# -- pages ------------------------------------------------------------------------------------


def _merge(project: str, pages: Sequence[Page], *, as_json: bool) -> _Response:
    """One page from the upstream pages: JSON when all are and pip asks for it, else HTML."""
    if as_json and all(page.is_json() for page in pages):
        files = [entry for page in pages for entry in _json_files(page)]
        document = {"meta": {"api-version": "1.0"}, "name": project, "files": files}
        return _Response(200, json.dumps(document).encode(), _JSON)
    anchors = [anchor for page in pages for anchor in _anchors(page)]
    return _Response(200, _html_page(f"Links for {project}", anchors), _HTML)


def _json_files(page: Page) -> list[dict[str, Any]]:
    """The file entries of a PEP 691 page, their URLs made absolute."""
    entries = json.loads(page.body).get("files", [])
    return [{**entry, "url": urljoin(page.url, entry["url"])} for entry in entries]


def _anchors(page: Page) -> list[str]:
    """The file links of a page as HTML anchors with absolute hrefs."""
    if page.is_json():
        return [_anchor(_json_attrs(entry), entry["filename"]) for entry in _json_files(page)]
    parser = _Links(page.url)
    parser.feed(page.body.decode("utf-8", "replace"))
    return [_anchor(attrs, text) for attrs, text in parser.links]


def _json_attrs(entry: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """A PEP 691 file entry as PEP 503 anchor attributes."""
    sha256 = (entry.get("hashes") or {}).get("sha256")
    attrs: list[tuple[str, str | None]] = [
        ("href", f"{entry['url']}#sha256={sha256}" if sha256 else entry["url"])
    ]
    if entry.get("requires-python"):
        attrs.append(("data-requires-python", entry["requires-python"]))
    metadata = entry.get("core-metadata", entry.get("dist-info-metadata"))
    if metadata:
        digest = metadata.get("sha256") if isinstance(metadata, dict) else None
        value = f"sha256={digest}" if digest else "true"
        attrs += [("data-core-metadata", value), ("data-dist-info-metadata", value)]
    if entry.get("yanked"):
        yanked = entry["yanked"]
        attrs.append(("data-yanked", yanked if isinstance(yanked, str) else ""))
    return attrs


class _Links(HTMLParser):
    """The anchors of a PEP 503 page (attributes and text), hrefs made absolute."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base
        self.links: list[tuple[list[tuple[str, str | None]], str]] = []
        self._text: list[str] | None = None
        self._attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "base" and href:
            self.base = urljoin(self.base, href)
        elif tag == "a" and href:
            self._attrs = [(k, urljoin(self.base, href) if k == "href" else v) for k, v in attrs]
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._text is not None:
            self.links.append((self._attrs, "".join(self._text)))
            self._text = None


def _anchor(attrs: Iterable[tuple[str, str | None]], text: str) -> str:
    shown = " ".join(k if v is None else f'{k}="{html.escape(v)}"' for k, v in attrs)
    return f"<a {shown}>{html.escape(text)}</a>"


def _html_page(title: str, anchors: Sequence[str]) -> bytes:
    head = (
        '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0">'
        f"<title>{html.escape(title)}</title></head><body>\n"
    )
    return (head + "<br>\n".join(anchors) + "\n</body></html>\n").encode()


# -- HTTP -------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    """Large backlog, TCP_NODELAY, tracked connections: pip opens many, in parallel."""

    request_queue_size = 128
    daemon_threads = True

    def __init__(self, proxy: IndexProxy) -> None:
        self.proxy = proxy
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse-DNS lookup of the host."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", int(self.server_address[1])

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept a connection, turn off Nagle, and track it until it closes."""
        conn, address = self.socket.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._connections_lock:
            self._connections.add(conn)
        return conn, address

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        """Forget the connection, then close it."""
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Shut down the connections still open, so that their handler threads finish."""
        with self._connections_lock:
            live = list(self._connections)
        for conn in live:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ANN401 - stdlib
        """Stay quiet about clients that hang up; log anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            _LOG.debug("index proxy: error serving %s (%s)", client_address, request, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    """GET/HEAD answered by IndexProxy.respond, over HTTP/1.1, always with Content-Length."""

    protocol_version = "HTTP/1.1"
    timeout = 60
    server: _Server

    def do_GET(self) -> None:
        """Serve a page."""
        self._send(head=False)

    def do_HEAD(self) -> None:
        """Serve a page's headers."""
        self._send(head=True)

    def _send(self, *, head: bool) -> None:
        response = self.server.proxy.respond(self.path, self.headers.get("Accept"))
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Cache-Control", "no-store")  # the port, and so the URL, is reused
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401 - stdlib
        """Log requests at debug level, not to stderr."""
        _LOG.debug("index proxy: " + format, *args)
