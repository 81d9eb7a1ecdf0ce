"""A small threaded HTTP server on 127.0.0.1, and the sites it serves. NETWORK.

The routing proxy serves pip from it; the test suite's package index and the benchmark's
wheelhouse build on it too. It speaks HTTP/1.1 with keep-alive, turns Nagle's algorithm off and
listens with a large backlog: pip opens many connections at once, and the stdlib defaults
(backlog 5, Nagle on, HTTP/1.0) stall parallel clients and keep-alive answers. Connections are
tracked until they close, so that ``stop`` can end the handler threads of idle ones.
"""

from __future__ import annotations

import abc
import contextlib
import socket
import socketserver
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging
    from email.message import Message
    from types import TracebackType

    from typing_extensions import Self

__all__ = ["LoopbackHandler", "LoopbackServer", "LoopbackSite", "Response"]

_HOST = "127.0.0.1"
_POLL = 0.05  # seconds between checks for shutdown: stopping should not wait long


@dataclass(frozen=True, kw_only=True, slots=True)
class Response:
    """An answer the handler writes out as it is, always with its Content-Length."""

    status: int
    """The HTTP status."""
    body: bytes = b""
    """The whole body."""
    content_type: str = "text/plain; charset=utf-8"
    """Its Content-Type."""
    headers: tuple[tuple[str, str], ...] = ()
    """Further headers, in order."""


class LoopbackServer(ThreadingHTTPServer):
    """A server on a free port of 127.0.0.1, bound when made; ``start`` serves in a thread."""

    request_queue_size = 128
    daemon_threads = True

    def __init__(
        self,
        site: LoopbackSite,
        *,
        name: str,
        handler: type[LoopbackHandler] | None = None,
        log: logging.Logger | None = None,
        quiet: tuple[type[BaseException], ...] = (ConnectionError,),
    ) -> None:
        self.site = site
        """What answers the requests."""
        self.name = name
        """Says which server this is, in its thread's name and its log lines."""
        self.log = log
        """Where requests and errors are logged (debug level); None: no access log, and
        errors go to stderr as socketserver reports them."""
        self.quiet = quiet
        """Errors not worth a word: clients that hang up, say."""
        self.accepted = 0
        """Connections accepted so far."""
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        super().__init__((_HOST, 0), handler or LoopbackHandler)

    @property
    def port(self) -> int:
        """The TCP port it listens on."""
        return int(self.server_address[1])

    def start(self) -> None:
        """Serve in a daemon thread until ``stop``."""
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": _POLL},
            name=f"{self.name}:{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, end the handler threads of open connections, close the socket."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self._drop_connections()  # idle keep-alive connections end their handler threads
        self.server_close()

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse-DNS lookup (``socket.getfqdn``) of the host."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = _HOST, self.port

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept a connection, turn off Nagle, and track it until it closes."""
        conn, address = self.socket.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._connections.add(conn)
            self.accepted += 1
        return conn, address

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        """Forget the connection, then close it."""
        with self._lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ANN401 - stdlib
        """Stay quiet about the ``quiet`` errors; log (or report) anything else."""
        error = sys.exc_info()  # socketserver calls this in its except block
        if isinstance(error[1], self.quiet):
            return
        if self.log is None:
            super().handle_error(request, client_address)
        else:
            self.log.debug(
                "%s: error serving %s (%s)", self.name, client_address, request, exc_info=error
            )

    def _drop_connections(self) -> None:
        """Shut down the connections still open, so that their handler threads finish."""
        with self._lock:
            live = list(self._connections)
        for conn in live:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class LoopbackHandler(BaseHTTPRequestHandler):
    """GET and HEAD answered by the server's site, over HTTP/1.1."""

    protocol_version = "HTTP/1.1"
    timeout = 60
    server: LoopbackServer

    def do_GET(self) -> None:
        """Answer with headers and body."""
        self.reply(head=False)

    def do_HEAD(self) -> None:
        """Answer with the headers only."""
        self.reply(head=True)

    def reply(self, *, head: bool) -> None:
        """Send the site's answer to this request."""
        response = self.answer()
        self.write_head(response)
        if not head:
            self.wfile.write(response.body)

    def answer(self) -> Response:
        """The site's answer to this request."""
        return self.server.site.answer(self.path, self.headers)

    def write_head(self, response: Response) -> None:
        """The status line and headers, with the whole body's Content-Length."""
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for key, value in response.headers:
            self.send_header(key, value)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401 - stdlib
        """Log requests at debug level, or not at all: never to stderr."""
        if self.server.log is not None:
            self.server.log.debug(f"{self.server.name}: {format}", *args)  # noqa: G004 - stdlib's format


class LoopbackSite(abc.ABC):
    """What a loopback server serves: an ``answer`` to each GET (and HEAD).

    It is served between ``start`` and ``stop``, or for the length of a ``with`` block.
    """

    _server: LoopbackServer | None = None

    @abc.abstractmethod
    def answer(self, path: str, headers: Message) -> Response:
        """The response to a request for *path* (with its query) with *headers*."""

    def serve(self) -> LoopbackServer:
        """A server for this site, bound to a free port (not yet serving)."""
        return LoopbackServer(self, name=type(self).__name__)

    def start(self) -> Self:
        """Bind a free port and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} is already serving")
        self._server = self.serve()
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open keep-alive connections and join every thread."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def server(self) -> LoopbackServer:
        """The server, while it serves."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not serving")
        return self._server
