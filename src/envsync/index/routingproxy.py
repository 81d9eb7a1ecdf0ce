"""The routing proxy: a simple index on 127.0.0.1 that serves each project from its routes. NETWORK.

When env.toml pins packages to named indexes, pip is given only this proxy's URL (see
``pipaccess``). It answers ``/simple/<project>/`` (PEP 503 HTML or PEP 691 JSON) with the
pages of the indexes ``Routes.for_project`` allows, merged (``pagemerge``), and nothing else.

Links in served pages are absolute upstream URLs, so pip downloads files directly from the
indexes; the proxy only serves pages, fetched with the credentials envsync found. An index
that fails behind it is remembered (``failure``): pip only sees a 502, and the run reports
the index's own error instead of pip's.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from packaging.utils import canonicalize_name

from envsync.errors import EnvsyncError, IndexUnreachableError
from envsync.index import pagemerge, simpleapi
from envsync.index.loopback import LoopbackServer, LoopbackSite, Response
from envsync.index.pageformat import HTML_TYPE, JSON_TYPE, html_page

if TYPE_CHECKING:
    from email.message import Message

    from envsync.index.routes import Routes

__all__ = ["IndexProxy"]

_LOG = logging.getLogger("envsync.index.routingproxy")
_NO_STORE = (("Cache-Control", "no-store"),)
_FAILED = Response(status=502, body=b"the upstream index failed\n")


class IndexProxy(LoopbackSite):
    """The routing simple index on 127.0.0.1, as a context manager that serves in a thread."""

    def __init__(self, routes: Routes) -> None:
        self.routes = routes
        self._lock = threading.Lock()
        self._failures: list[EnvsyncError] = []

    def serve(self) -> LoopbackServer:
        """The proxy's server, which logs requests at debug level."""
        return LoopbackServer(self, name="index proxy", log=_LOG)

    @property
    def url(self) -> str:
        """The index URL to give pip."""
        return f"http://127.0.0.1:{self.server.port}/simple"

    def failure(self) -> EnvsyncError | None:
        """The first upstream failure seen (an index unreachable, refusing, or unreadable)."""
        with self._lock:
            return self._failures[0] if self._failures else None

    def answer(self, path: str, headers: Message) -> Response:
        """Answer one GET: the root (empty), or a project's page; nothing may be kept."""
        # The port, and so the URL, is reused by later runs.
        return replace(self._route(path, headers.get("Accept")), headers=_NO_STORE)

    def _route(self, path: str, accept: str | None) -> Response:
        route = unquote(urlsplit(path).path)
        if route in {"/simple", "/simple/"}:
            return _ok(html_page("Simple index", []), HTML_TYPE)
        name = route.removeprefix("/simple/").strip("/")
        if not route.startswith("/simple/") or not name or "/" in name:
            return Response(status=404, body=b"not found\n")
        return self._project(canonicalize_name(name), as_json=JSON_TYPE in (accept or ""))

    def _project(self, name: str, *, as_json: bool) -> Response:
        if self.failure() is not None:
            # The run fails anyway (PipAccess.run raises it): answer at once, rather than
            # let pip's retries multiply envsync's own against an index that is failing.
            return _FAILED
        upstreams = self.routes.for_project(name)
        _LOG.debug("index proxy: %s from %s", name, ", ".join(u.url for u in upstreams))
        try:
            connections = self.routes.connections
            found = (simpleapi.fetch_page(u, name, connections) for u in upstreams)
            pages = [page for page in found if page is not None]
            if not pages:
                return Response(status=404, body=b"unknown\n")
            return _ok(*pagemerge.merge(name, pages, as_json=as_json))
        except EnvsyncError as exc:
            failure = exc
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            msg = f"an index served an unreadable page for {name}: {exc}"
            failure = IndexUnreachableError(msg, hint="check the indexes in env.toml")
        with self._lock:
            self._failures.append(failure)
        return _FAILED


def _ok(body: bytes, content_type: str) -> Response:
    return Response(status=200, body=body, content_type=content_type)
