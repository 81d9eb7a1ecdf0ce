"""``index/connections.py`` against small HTTP servers on 127.0.0.1.

What a run's requests must see: connections kept and reused, and every answer and failure
as urllib gives it (the errors ``retry`` sorts, the final URL after redirects, the headers),
so the callers and their messages do not change; requests a proxy variable routes through
a proxy go there, through urllib.
"""

from __future__ import annotations

import hashlib
import http.client
import http.server
import socket
import ssl
import threading
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

import pytest
import urllib3

from envsync.index import retry, simpleapi
from envsync.index.connections import Connections

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = pytest.mark.e2e

Answer = tuple[int, dict[str, str], bytes]


class Server(http.server.ThreadingHTTPServer):
    """Answers each GET with ``routes[path]`` and counts the connections it accepted."""

    daemon_threads = True

    def __init__(self, routes: dict[str, Answer | Callable[[Handler], None]]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes = routes
        self.connections = 0
        self.seen: list[tuple[str, dict[str, str]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def get_request(self) -> tuple[socket.socket, object]:
        self.connections += 1
        return super().get_request()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def do_GET(self) -> None:
        self.server.seen.append((self.path, dict(self.headers.items())))
        route = self.server.routes.get(self.path, (404, {}, b"not here\n"))
        if callable(route):
            route(self)
            return
        status, headers, body = route
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(routes: dict[str, Answer | Callable[[Handler], None]]) -> Server:
        server = Server(routes)
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


@pytest.fixture
def connections() -> Iterator[Connections]:
    kept = Connections()
    yield kept
    kept.close()


def get(connections: Connections, url: str, **headers: str) -> tuple[int, str, bytes, str]:
    """Status, final URL, body and Content-Type of a GET through *connections*."""
    request = urllib.request.Request(url, headers=headers)
    with connections.open(request, 5.0) as answer:
        return answer.status, answer.geturl(), answer.read(), answer.headers.get("Content-Type")


def test_requests_to_one_host_share_a_connection(
    serve: Callable[..., Server], connections: Connections
) -> None:
    server = serve({f"/p{n}": (200, {}, f"page {n}".encode()) for n in range(5)})

    bodies = [get(connections, f"{server.url}/p{n}")[2] for n in range(5)]

    assert bodies == [f"page {n}".encode() for n in range(5)]
    assert server.connections == 1


def test_without_connections_each_request_opens_its_own(serve: Callable[..., Server]) -> None:
    server = serve({"/p": (200, {}, b"page")})

    found = [simpleapi.download(f"{server.url}/p", None) for _ in range(3)]

    assert found == [hashlib.sha256(b"page").hexdigest()] * 3
    assert server.connections == 3


def test_a_download_on_connections_hashes_what_arrived(
    serve: Callable[..., Server], connections: Connections
) -> None:
    body = bytes(range(256)) * 1000
    server = serve({"/f.whl": (200, {}, body)})

    found = [simpleapi.download(f"{server.url}/f.whl", None, None, connections) for _ in range(3)]

    assert found == [hashlib.sha256(body).hexdigest()] * 3
    assert server.connections == 1


def test_a_redirect_is_followed_and_the_final_url_given(
    serve: Callable[..., Server], connections: Connections
) -> None:
    server = serve(
        {
            "/simple/a/": (301, {"Location": "/simple/b/"}, b""),
            "/simple/b/": (200, {"Content-Type": "text/html"}, b"<a href='x.whl'>x</a>"),
        }
    )

    status, final, body, kind = get(connections, f"{server.url}/simple/a/")

    assert (status, final, body, kind) == (
        200,
        f"{server.url}/simple/b/",
        b"<a href='x.whl'>x</a>",
        "text/html",
    )


def test_a_redirect_to_another_host_drops_the_login(
    serve: Callable[..., Server], connections: Connections
) -> None:
    files = serve({"/f": (200, {}, b"file")})
    index = serve({"/f": (302, {"Location": f"{files.url}/f"}, b"")})

    get(connections, f"{index.url}/f", Authorization="Basic c2VjcmV0")

    assert index.seen[0][1].get("Authorization") == "Basic c2VjcmV0"
    assert "Authorization" not in files.seen[0][1]


@pytest.mark.parametrize("status", [304, 401, 404, 503])
def test_an_answer_of_300_or_more_is_urllibs_http_error(
    serve: Callable[..., Server], connections: Connections, status: int
) -> None:
    server = serve({"/p": (status, {"ETag": '"v1"'}, b"")})

    with pytest.raises(urllib.error.HTTPError) as caught:
        get(connections, f"{server.url}/p")

    assert caught.value.code == status
    assert caught.value.headers.get("ETag") == '"v1"'
    fault = retry.classify(caught.value)
    assert (fault is not None) is (status == 503)  # only "not now" is tried again


def test_a_refused_connection_is_urllibs_url_error_and_tried_again(
    connections: Connections,
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(urllib.error.URLError) as caught:
        get(connections, f"http://127.0.0.1:{port}/p")

    assert isinstance(caught.value.reason, ConnectionRefusedError)
    assert retry.classify(caught.value) == retry.Fault(
        kind="connection", text="the connection was refused"
    )


def test_an_unknown_host_is_urllibs_url_error_and_not_tried_again(
    connections: Connections,
) -> None:
    with pytest.raises(urllib.error.URLError) as caught:
        get(connections, "http://no-such-host.invalid/p")

    assert isinstance(caught.value.reason, socket.gaierror)
    assert str(caught.value).startswith("<urlopen error [Errno")


def cut_short(handler: Handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", "1000")
    handler.end_headers()
    handler.wfile.write(b"x" * 10)
    handler.wfile.flush()
    handler.close_connection = True
    handler.connection.shutdown(socket.SHUT_RDWR)


def test_a_body_cut_short_is_an_incomplete_read(
    serve: Callable[..., Server], connections: Connections
) -> None:
    server = serve({"/p": cut_short})

    with pytest.raises(http.client.IncompleteRead) as caught:
        get(connections, f"{server.url}/p")

    fault = retry.classify(caught.value)
    assert fault is not None
    assert fault.kind == "truncated"


def stall(handler: Handler) -> None:
    threading.Event().wait(2.0)


def test_an_answer_that_does_not_come_is_a_timeout(
    serve: Callable[..., Server], connections: Connections
) -> None:
    server = serve({"/p": stall})
    request = urllib.request.Request(f"{server.url}/p")

    with pytest.raises(TimeoutError) as caught:
        connections.open(request, 0.2)

    assert retry.classify(caught.value) == retry.Fault(
        kind="timeout", text="the server did not answer in time"
    )


def closing(handler: Handler) -> None:
    body = b"once"
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(body)
    handler.close_connection = True


def test_a_connection_the_server_closed_is_not_reused(
    serve: Callable[..., Server], connections: Connections
) -> None:
    server = serve({"/p": closing})

    bodies = [get(connections, f"{server.url}/p")[2] for _ in range(3)]

    assert bodies == [b"once"] * 3
    assert server.connections == 3


def test_a_request_a_proxy_variable_routes_goes_to_that_proxy(
    serve: Callable[..., Server], connections: Connections, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = serve({"/p": (200, {}, b"direct")})
    proxy = serve({f"{index.url}/p": (200, {}, b"through the proxy")})  # an absolute request
    monkeypatch.setenv("http_proxy", proxy.url)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)

    assert get(connections, f"{index.url}/p")[2] == b"through the proxy"
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    assert get(connections, f"{index.url}/p")[2] == b"direct"
    assert index.seen == [("/p", index.seen[0][1])]


def test_the_pool_is_made_on_a_thread_that_is_no_daemon(
    serve: Callable[..., Server], connections: Connections, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A daemon thread (the read-ahead's) loading the CA store as the interpreter exits can
    # crash it: the pool is made where an exiting run waits for it.
    made_on: list[bool] = []
    real = urllib3.PoolManager

    def recording(*args: object, **kwargs: object) -> urllib3.PoolManager:
        made_on.append(threading.current_thread().daemon)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(urllib3, "PoolManager", recording)
    server = serve({"/p": (200, {}, b"page")})
    asked: list[bytes] = []
    reader = threading.Thread(
        target=lambda: asked.append(get(connections, f"{server.url}/p")[2]), daemon=True
    )
    reader.start()
    reader.join()

    assert asked == [b"page"]
    assert made_on == [False]


def test_a_pool_that_cannot_be_made_is_an_error_of_the_request(
    connections: Connections, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken() -> None:
        raise ssl.SSLError("no CA store")

    monkeypatch.setattr(ssl, "create_default_context", broken)

    with pytest.raises(urllib.error.URLError, match="no CA store"):
        get(connections, "http://127.0.0.1:9/p")

    assert capsys.readouterr().err == ""  # no thread's traceback
