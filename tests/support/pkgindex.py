"""A PEP 503 / 691 simple package index served from a directory over HTTP on 127.0.0.1.

Pages are computed per request from the directory's current files, so a test can publish a
new distribution while the index runs. It is served by envsync's loopback server (HTTP/1.1
keep-alive, TCP_NODELAY, a large backlog: the stdlib defaults stall parallel clients and
keep-alive responses enough to dominate the suite's time).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import email.parser
import hashlib
import hmac
import html
import json
import re
import shutil
import tarfile
import threading
import time
import urllib.parse
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from envsync.index.loopback import LoopbackHandler, LoopbackServer, LoopbackSite, Response

if TYPE_CHECKING:
    from email.message import Message

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "text/html; charset=utf-8"
HTML_TYPES = ("application/vnd.pypi.simple.v1+html", "text/html", "*/*")
JSON_TYPES = (JSON_TYPE, "application/vnd.pypi.simple.latest+json")
API_VERSION = "1.1"
DIST_SUFFIXES = (".whl", ".tar.gz", ".zip")
_VARY = (("Vary", "Accept"),)


def normalize(name: str) -> str:
    """Return the PEP 503 normalized form of a project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _split_filename(filename: str) -> tuple[str, str]:
    """Return the (normalized project name, version) a distribution filename declares."""
    if filename.endswith(".whl"):
        name, version = filename.split("-")[:2]
    else:
        stem = filename.removesuffix(".tar.gz").removesuffix(".zip")
        name, _, version = stem.rpartition("-")
    return normalize(name), version


@dataclass(frozen=True)
class DistFile:
    """One served distribution file and what the index says about it."""

    filename: str
    project: str
    version: str
    sha256: str
    size: int
    requires_python: str | None
    metadata: bytes | None = field(repr=False)
    """Core metadata served at `<file>.metadata` (PEP 658); wheels only."""

    @property
    def metadata_sha256(self) -> str | None:
        """Return the sha256 of the served core metadata, if any."""
        return hashlib.sha256(self.metadata).hexdigest() if self.metadata is not None else None


def _core_metadata(path: Path) -> tuple[bytes | None, bytes | None]:
    """Return (METADATA of a wheel, PKG-INFO of an sdist); None where absent or unreadable."""
    with contextlib.suppress(OSError, zipfile.BadZipFile, tarfile.TarError):
        if path.name.endswith(".whl"):
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist() if n.count("/") == 1]
                member = next((n for n in names if n.endswith(".dist-info/METADATA")), None)
                return (archive.read(member) if member else None), None
        if path.name.endswith(".tar.gz"):
            with tarfile.open(path) as archive:
                info = next(
                    m for m in archive if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")
                )
                extracted = archive.extractfile(info)
                return None, extracted.read() if extracted else None
    return None, None


def _describe(path: Path) -> DistFile:
    """Read a distribution file and return its index entry."""
    data = path.read_bytes()
    project, version = _split_filename(path.name)
    metadata, pkg_info = _core_metadata(path)
    headers = email.parser.BytesHeaderParser().parsebytes(metadata or pkg_info or b"")
    return DistFile(
        filename=path.name,
        project=project,
        version=version,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        requires_python=headers.get("Requires-Python"),
        metadata=metadata,
    )


def _not_found(what: str) -> Response:
    return Response(status=404, body=f"not found: {what}\n".encode())


def _octets(data: bytes, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status=200, body=data, content_type="application/octet-stream", headers=headers)


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_ACCEPTS_RANGES = (("Accept-Ranges", "bytes"),)


def _partial(data: bytes, ranged: str) -> Response:
    """The part of *data* one Range header asks for (``bytes=a-b``, ``a-``, ``-n``): 206.

    416 when the range lies outside the file; the whole file (200) when the header is not
    one range (several ranges, another unit), as RFC 9110 lets a server ignore it.
    """
    found = _RANGE.fullmatch(ranged.strip())
    if found is None or found.groups() == ("", ""):
        return _octets(data, _ACCEPTS_RANGES)
    first_text, last_text = found.groups()
    size = len(data)
    if first_text:
        first = int(first_text)
        last = min(int(last_text), size - 1) if last_text else size - 1
    else:  # a suffix: the last n bytes (all of them when n is more than the file)
        first, last = max(size - int(last_text), 0), size - 1
    if not first <= last < size:
        return Response(status=416, headers=(("Content-Range", f"bytes */{size}"),))
    headers = (("Content-Range", f"bytes {first}-{last}/{size}"), *_ACCEPTS_RANGES)
    return Response(
        status=206,
        body=data[first : last + 1],
        content_type="application/octet-stream",
        headers=headers,
    )


def _redirect(location: str) -> Response:
    return Response(status=301, headers=(("Location", location),))


def wants_json(accept: str | None) -> bool:
    """Return True when an Accept header prefers the PEP 691 JSON form over HTML."""
    weights: dict[str, float] = {}
    for part in (accept or "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                with contextlib.suppress(ValueError):
                    quality = float(value)
        weights[media.lower()] = max(weights.get(media.lower(), 0.0), quality)
    json_q = max(weights.get(t, 0.0) for t in JSON_TYPES)
    return json_q > 0 and json_q >= max(weights.get(t, 0.0) for t in HTML_TYPES)


def _file_href(dist: DistFile) -> str:
    return f"../../files/{urllib.parse.quote(dist.filename)}"


def _html_page(title: str, anchors: list[str]) -> bytes:
    head = (
        f'<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" '
        f'content="{API_VERSION}"><title>{html.escape(title)}</title></head><body>\n'
    )
    return (head + "<br>\n".join(anchors) + "\n</body></html>\n").encode()


def _file_anchor(dist: DistFile, *, offer: bool = True) -> str:
    attrs = f'href="{_file_href(dist)}#sha256={dist.sha256}"'
    if dist.requires_python:
        attrs += f' data-requires-python="{html.escape(dist.requires_python)}"'
    if offer and dist.metadata_sha256:
        digest = f"sha256={dist.metadata_sha256}"
        attrs += f' data-dist-info-metadata="{digest}" data-core-metadata="{digest}"'
    return f"<a {attrs}>{html.escape(dist.filename)}</a>"


def _json_file(dist: DistFile, *, offer: bool = True) -> dict[str, object]:
    metadata: dict[str, str] | bool = (
        {"sha256": dist.metadata_sha256} if offer and dist.metadata_sha256 else False
    )
    return {
        "filename": dist.filename,
        "url": _file_href(dist),
        "hashes": {"sha256": dist.sha256},
        "requires-python": dist.requires_python,
        "core-metadata": metadata,
        "dist-info-metadata": metadata,
        "size": dist.size,
        "yanked": False,
    }


def _json_response(payload: dict[str, object]) -> Response:
    body = json.dumps({"meta": {"api-version": API_VERSION}, **payload}, indent=1).encode()
    return Response(status=200, body=body, content_type=JSON_TYPE, headers=_VARY)


def render_index(projects: list[str], *, as_json: bool) -> Response:
    """Render `/simple/`: every project, by normalized name."""
    if as_json:
        return _json_response({"projects": [{"name": p} for p in projects]})
    anchors = [f'<a href="{p}/">{p}</a>' for p in projects]
    page = _html_page("Simple index", anchors)
    return Response(status=200, body=page, content_type=HTML_TYPE, headers=_VARY)


def render_project(
    project: str, dists: list[DistFile], *, as_json: bool, offer_metadata: bool = True
) -> Response:
    """Render `/simple/<project>/`: every file of one project.

    Without *offer_metadata* the page does not say that `<file>.metadata` is served (it
    still is), as some mirrors leave PEP 658's offer out of the pages they pass on.
    """
    if as_json:
        versions = list(dict.fromkeys(d.version for d in dists))
        files = [_json_file(d, offer=offer_metadata) for d in dists]
        return _json_response({"name": project, "versions": versions, "files": files})
    anchors = [_file_anchor(d, offer=offer_metadata) for d in dists]
    page = _html_page(f"Links for {project}", anchors)
    return Response(status=200, body=page, content_type=HTML_TYPE, headers=_VARY)


class PackageIndex(LoopbackSite):
    """Serve a directory of distribution files as a simple index on 127.0.0.1.

    `PackageIndex(root, auth=("user", "secret"))` demands HTTP basic auth (401 otherwise).
    Use as a context manager, or call `start()` / `stop()`.
    """

    def __init__(self, root: Path, *, auth: tuple[str, str] | None = None) -> None:
        self.root = Path(root)
        self.auth = auth
        self.page_cache_control: str | None = None
        """When set, project pages carry this Cache-Control header and an ETag (304 on match)."""
        self.offer_metadata = True
        """False: pages leave out PEP 658's offer of `<file>.metadata`, which is still served."""
        self.serve_metadata_files = True
        """False: `<file>.metadata` answers 404, as on mirrors that keep only the files."""
        self.accept_ranges = True
        """False: a file request's Range header is ignored and the whole file served (200)."""
        self.file_delay = 0.0
        """Seconds to wait before answering a request for a file: a slow download, which
        keeps the process that downloads alive long enough to be watched."""
        self._lock = threading.Lock()
        self._requests: list[str] = []
        self._ranges: list[tuple[str, str]] = []
        self._cache: dict[tuple[str, int, int], DistFile] = {}

    # -- serving -----------------------------------------------------------------------

    handler: ClassVar[type[LoopbackHandler]] = LoopbackHandler
    """How each request is handled (a subclass may misbehave on purpose)."""

    def serve(self) -> LoopbackServer:
        """A server for this index, bound to a free port (not yet serving)."""
        return LoopbackServer(self, name="PackageIndex", handler=self.handler)

    # -- addresses -----------------------------------------------------------------------

    @property
    def port(self) -> int:
        """Return the bound TCP port."""
        return self.server.port

    @property
    def base_url(self) -> str:
        """Return `http://127.0.0.1:PORT` (no path)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """Return the index URL to hand to pip: `http://127.0.0.1:PORT/simple`."""
        return f"{self.base_url}/simple"

    @property
    def url_with_auth(self) -> str:
        """Return the index URL with the basic-auth credentials embedded."""
        if self.auth is None:
            raise RuntimeError("this index has no auth configured")
        user, password = (urllib.parse.quote(part, safe="") for part in self.auth)
        return f"http://{user}:{password}@127.0.0.1:{self.port}/simple"

    # -- content -------------------------------------------------------------------------

    def add(self, path: Path | str) -> Path:
        """Publish a distribution file by copying it into the served directory (atomically)."""
        source = Path(path)
        target = self.root / source.name
        partial = self.root / f".{source.name}.partial"
        shutil.copyfile(source, partial)
        partial.replace(target)
        return target

    @property
    def requests(self) -> list[str]:
        """Return a snapshot of the request paths served so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def connection_count(self) -> int:
        """Return how many TCP connections the server has accepted."""
        return 0 if self._server is None else self.server.accepted

    def files(self) -> list[DistFile]:
        """Return the index entries for the directory's current files, sorted by filename."""
        paths = sorted(
            p for p in self.root.iterdir() if p.is_file() and p.name.endswith(DIST_SUFFIXES)
        )
        return [self._entry(p) for p in paths]

    def _entry(self, path: Path) -> DistFile:
        stat = path.stat()
        key = (path.name, stat.st_size, stat.st_mtime_ns)
        with self._lock:
            cached = self._cache.get(key)
        if cached is None:
            cached = _describe(path)
            with self._lock:
                self._cache[key] = cached
        return cached

    @property
    def range_requests(self) -> list[tuple[str, str]]:
        """Return the (path, Range header) of each request that carried one, in order."""
        with self._lock:
            return list(self._ranges)

    def record(self, path: str, ranged: str | None = None) -> None:
        """Note a request for *path* in `requests` (and its Range in `range_requests`)."""
        with self._lock:
            self._requests.append(path)
            if ranged is not None:
                self._ranges.append((path, ranged))

    def _authorized(self, header: str | None) -> bool:
        if self.auth is None:
            return True
        token = base64.b64encode(":".join(self.auth).encode()).decode()
        return hmac.compare_digest((header or "").encode(), f"Basic {token}".encode())

    def answer(self, path: str, headers: Message) -> Response:
        """Record the request, then answer it (the loopback server's entry point)."""
        self.record(path, headers.get("Range"))
        return self.respond(
            path,
            accept=headers.get("Accept"),
            authorization=headers.get("Authorization"),
            if_none_match=headers.get("If-None-Match"),
            ranged=headers.get("Range"),
        )

    def respond(
        self,
        path: str,
        *,
        accept: str | None,
        authorization: str | None,
        if_none_match: str | None = None,
        ranged: str | None = None,
    ) -> Response:
        """Route one GET request (*ranged*: its Range header) to its response."""
        if not self._authorized(authorization):
            challenge = (("WWW-Authenticate", 'Basic realm="envsync-test-index"'),)
            return Response(status=401, body=b"authentication required\n", headers=challenge)
        route = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
        if self.file_delay and route.startswith("/files/"):
            time.sleep(self.file_delay)
        if route == "/simple":
            return _redirect("/simple/")
        if route == "/simple/":
            projects = sorted({d.project for d in self.files()})
            return render_index(projects, as_json=wants_json(accept))
        if route.startswith("/simple/"):
            return self._project(route.removeprefix("/simple/"), accept, if_none_match)
        if route.startswith("/files/"):
            return self._file(route.removeprefix("/files/"), ranged)
        return _not_found(route)

    def _project(self, name: str, accept: str | None, if_none_match: str | None) -> Response:
        bare = name.rstrip("/")
        if not bare or "/" in bare:
            return _not_found(name)
        if bare != normalize(bare) or not name.endswith("/"):
            return _redirect(f"/simple/{normalize(bare)}/")
        dists = [d for d in self.files() if d.project == bare]
        if not dists:
            return _not_found(bare)
        page = render_project(
            bare, dists, as_json=wants_json(accept), offer_metadata=self.offer_metadata
        )
        if self.page_cache_control is None:
            return page
        etag = f'"{hashlib.sha256(page.body).hexdigest()[:16]}"'
        headers = (("Cache-Control", self.page_cache_control), ("ETag", etag))
        if if_none_match == etag:
            return Response(status=304, headers=headers)
        return dataclasses.replace(page, headers=(*page.headers, *headers))

    def _file(self, filename: str, ranged: str | None) -> Response:
        wanted = filename.removesuffix(".metadata")
        dist = next((d for d in self.files() if d.filename == wanted), None)
        if dist is None:
            return _not_found(filename)
        if filename.endswith(".metadata"):
            if dist.metadata is None or not self.serve_metadata_files:
                return _not_found(filename)
            return _octets(dist.metadata)
        data = (self.root / dist.filename).read_bytes()
        if not self.accept_ranges:
            return _octets(data)
        if ranged is None:
            return _octets(data, _ACCEPTS_RANGES)
        return _partial(data, ranged)
