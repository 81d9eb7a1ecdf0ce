"""One run's connections to the indexes, kept open between requests. NETWORK.

urllib opens a connection per request: against an index tens of milliseconds away, each
page and each file then waits for a TCP and a TLS handshake, two round trips more than the
request itself. ``Connections`` keeps them open instead, in urllib3's pool (thread-safe,
one pool per host, as many connections as threads ask at once), made on the first request
and held by the run's routes (``routes.Routes.connections``): every page, file and range
request of the run that goes to an index directly shares it.

What the callers see does not change. ``open`` answers as ``urllib.request.urlopen`` does:
a response with ``status``, ``headers`` (an ``http.client.HTTPMessage``), ``geturl()`` and
``read``; ``HTTPError`` for an answer of 300 or more once redirects are followed; failures
to connect as ``URLError`` around the socket's error, and failures while reading as the
socket's or http.client's own error, so ``retry`` tells them apart as before. urllib3
retries nothing itself (``retry`` does), decodes nothing, and follows redirects as urllib
does, but drops the Authorization header on a redirect to another host.

A request that a proxy variable (``https_proxy`` and the like) sends through a proxy, or
that is not http(s), goes through urllib as before, with its proxy handling.
"""

from __future__ import annotations

import http.client
import ssl
import threading
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType
    from typing import TypeAlias

    from typing_extensions import Self

    #: Opens a request with a timeout, as ``urllib.request.urlopen`` does.
    Open: TypeAlias = Callable[[urllib.request.Request, float], Any]

__all__ = ["Connections", "opener"]
#: Redirects followed before giving up, as urllib's ``HTTPRedirectHandler.max_redirections``.
_REDIRECTS = 10
#: Open connections kept per host: the most threads that read from one index at once.
_PER_HOST = 16


class Connections:
    """The open connections of one run (made on first use; ``close`` ends them)."""

    def __init__(self) -> None:
        self._pool: Any = None
        self._lock = threading.Lock()
        self._maker: threading.Thread | None = None
        self._failure: BaseException | None = None

    def open(self, request: urllib.request.Request, timeout: float) -> Any:  # noqa: ANN401
        """The answer to *request*, on a kept connection where no proxy is in the way."""
        url = request.full_url
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or _proxied(parts.scheme, parts.hostname):
            # urllib's opener made now reads the proxy variables now, as a new run would.
            return urllib.request.build_opener().open(request, timeout=timeout)
        pool = self._manager()
        import urllib3  # noqa: PLC0415 - imported by now (_make)

        try:
            response = pool.urlopen(
                "GET",
                url,
                headers=dict(request.header_items()),
                timeout=urllib3.Timeout(connect=timeout, read=timeout),
                retries=urllib3.Retry(
                    total=None, connect=0, read=0, status=0, other=0, redirect=_REDIRECTS
                ),
                preload_content=False,
                decode_content=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise _connect_error(exc) from exc
        answer = _Answer(response, url)
        if answer.status >= 300:  # noqa: PLR2004 - what urllib raises HTTPError for
            answer.close()
            raise urllib.error.HTTPError(
                answer.geturl(), answer.status, response.reason or "", answer.headers, None
            )
        return answer

    def _manager(self) -> Any:  # noqa: ANN401 - urllib3's PoolManager, imported lazily
        """The pool, made once on a thread of its own that is no daemon (see ``_make``).

        The read-ahead's threads are daemons. Importing urllib3 and loading the CA store
        for the pool's SSL context take 20-40 ms, much of it in OpenSSL without the GIL; a
        daemon caught there as the interpreter exits (and OpenSSL's own exit handler frees
        its state) can crash the process, which a resolver that failed at once did, twice,
        in the suite. A run that ends waits for a thread that is no daemon.
        """
        with self._lock:
            if self._maker is None:
                self._maker = threading.Thread(
                    target=self._make, name="envsync-connections", daemon=False
                )
                self._maker.start()
        self._maker.join()
        if self._pool is None:
            raise urllib.error.URLError(self._failure or "no connection pool")
        return self._pool

    def _make(self) -> None:
        try:
            import urllib3  # noqa: PLC0415 - ~15 ms, only for a run that reaches an index

            self._pool = urllib3.PoolManager(
                num_pools=8,
                maxsize=_PER_HOST,
                ssl_context=ssl.create_default_context(),  # urllib's own default
            )
        except (ImportError, OSError, ValueError) as exc:  # said by _manager, to its caller
            self._failure = exc

    def close(self) -> None:
        """Close every kept connection."""
        with self._lock:
            if self._pool is not None:
                self._pool.clear()


def opener(connections: Connections | None) -> Open:
    """*connections*' ``open``, or urllib's ``urlopen`` (a connection per request) without."""
    if connections is not None:
        return connections.open
    return lambda request, timeout: urllib.request.urlopen(request, timeout=timeout)  # noqa: S310


def _proxied(scheme: str, host: str | None) -> bool:
    """Whether urllib would send a request for *scheme* to *host* through a proxy."""
    proxies = urllib.request.getproxies()
    return scheme in proxies and not (host and urllib.request.proxy_bypass(host))


class _Answer:
    """urllib3's response with the face of urllib's: what envsync's readers use of it."""

    def __init__(self, response: Any, url: str) -> None:  # noqa: ANN401 - urllib3's response
        self._response = response
        self.status: int = response.status
        self.headers = http.client.HTTPMessage()
        for name, value in response.headers.items():
            self.headers[name] = value
        # urllib3 gives the last request's path only; its redirects say where each one went.
        for step in response.retries.history if response.retries else ():
            if step.redirect_location:
                url = urljoin(step.url or url, step.redirect_location)
        self._url = url

    def geturl(self) -> str:
        """The URL answered, after redirects."""
        return self._url

    def read(self, amount: int | None = None) -> bytes:
        """Up to *amount* bytes (all that is left without), as urllib's ``read``."""
        import urllib3  # noqa: PLC0415 - imported already: an answer came through it

        try:
            return bytes(self._response.read(amount))
        except urllib3.exceptions.HTTPError as exc:
            raise _read_error(exc) from exc

    def close(self) -> None:
        """Give the connection back when the body was read to its end, else close it."""
        if self._response.isclosed() or self._response.length_remaining == 0:
            self._response.release_conn()
        else:
            self._response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _connect_error(exc: BaseException) -> BaseException:
    """What urllib raises for a request that failed before its answer began.

    A failure to connect (refused, unknown host, TLS, a connect timeout) as ``URLError``
    around the socket's or ssl's error; one while waiting for the answer as that error.
    """
    import urllib3  # noqa: PLC0415

    errors = urllib3.exceptions
    if isinstance(exc, errors.MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    if isinstance(exc, (errors.NewConnectionError, errors.SSLError)):
        inner = exc.__cause__ or exc.__context__
        return urllib.error.URLError(inner if isinstance(inner, OSError) else str(exc))
    if isinstance(exc, errors.ConnectTimeoutError):
        return urllib.error.URLError(TimeoutError("timed out"))
    if isinstance(exc, errors.HTTPError):
        return _read_error(exc)
    return exc


def _read_error(exc: BaseException) -> BaseException:
    """What urllib raises for an answer that broke off: the socket's or http.client's error."""
    import urllib3  # noqa: PLC0415

    errors = urllib3.exceptions
    if isinstance(exc, errors.ProtocolError) and len(exc.args) > 1:
        inner = exc.args[1]
        exc = inner if isinstance(inner, BaseException) else exc
    if isinstance(exc, errors.ReadTimeoutError):
        return TimeoutError("timed out")
    if isinstance(exc, http.client.IncompleteRead):  # urllib3's is http.client's too
        return http.client.IncompleteRead(exc.partial, exc.expected)
    if isinstance(exc, errors.HTTPError):  # a redirect loop, a bad URL: worded as urllib does
        return urllib.error.URLError(str(exc))
    return exc
