"""Read project pages of PEP 503 / PEP 691 simple indexes and find-links folders. NETWORK.

pip-compile decides *which* versions; this module lists *every file* of those versions with
its hash, so the lock covers all platforms an index publishes, not only this machine's. It also
fetches the pages the routing proxy serves to pip. Requests carry an index's credentials (found by
``credentials``) as basic auth; a 401 or 403 becomes an error naming the index. Every request
is retried as ``retry`` says (timeouts, dropped connections, 5xx, cut-off answers).
"""

from __future__ import annotations

import base64
import errno
import http.client
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from envsync.errors import IndexUnreachableError
from envsync.index import pagecache, pageformat, retry
from envsync.index.connections import opener
from envsync.index.credentials import refused
from envsync.system.hashing import copy_hashing, hash_file
from envsync.system.process import redact

if TYPE_CHECKING:
    from email.message import Message

    from packaging.version import Version

    from envsync.index.connections import Connections, Open
    from envsync.index.credentials import Login, Upstream

__all__ = [
    "IndexFile",
    "Page",
    "build_request",
    "default_index_url",
    "download",
    "fetch_page",
    "files_for",
    "files_for_page",
    "files_in_folder",
    "hash_file",
    "hash_url",
    "local_path",
    "probe_index",
]

_LOG = logging.getLogger("envsync.index.simpleapi")
_ACCEPT = f"{pageformat.JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
_REFUSED = frozenset({401, 403})
_NOT_FOUND = 404
_NOT_MODIFIED = 304


@dataclass(frozen=True, kw_only=True, slots=True)
class IndexFile:
    """One distribution file listed by an index or find-links location."""

    filename: str
    """File name, such as ``alpha-1.0-py3-none-any.whl``."""
    url: str
    """Absolute URL (a find-links page's may hold its credentials: strip before writing)."""
    sha256: str | None
    """Hex sha256 from the page, if it gave one."""
    requires_python: str | None = None
    """data-requires-python / requires-python, if given."""
    size: int | None = None
    """Size in bytes, if given (PEP 700)."""
    core_metadata: str | None = None
    """Hex sha256 of the file's core metadata at ``<url>.metadata`` (PEP 658 / 714), if the
    page offers it with a sha256; None otherwise (an offer without a hash cannot be checked)."""

    def version(self) -> Version | None:
        """The version in the file name, or None if it is not a distribution file."""
        parsed = self._parsed()
        return parsed[1] if parsed else None

    def project(self) -> str | None:
        """The normalized project name in the file name."""
        parsed = self._parsed()
        return parsed[0] if parsed else None

    def _parsed(self) -> tuple[str, Version] | None:
        try:
            if self.filename.endswith(".whl"):
                return parse_wheel_filename(self.filename)[:2]
            return parse_sdist_filename(self.filename)
        except (InvalidWheelFilename, InvalidSdistFilename):
            return None


@dataclass(frozen=True, kw_only=True, slots=True)
class Page:
    """A project page as an index served it."""

    body: bytes
    """The page itself."""
    content_type: str
    """Its Content-Type: PEP 691 JSON, or HTML."""
    url: str
    """Where it was finally read from (after redirects): relative links are relative to it."""

    def is_json(self) -> bool:
        """Whether the page is PEP 691 JSON."""
        return self.content_type.startswith(pageformat.JSON_TYPE)


def build_request(
    url: str, accept: str | None = None, login: Login | None = None
) -> urllib.request.Request:
    """A request for *url* with *login* (or the URL's ``user:pass@``) as Basic auth."""
    parts = urlsplit(url)
    headers = {"User-Agent": "envsync"}
    if accept:
        headers["Accept"] = accept
    if "@" in parts.netloc:
        userinfo, host = parts.netloc.rsplit("@", 1)
        user, _, password = userinfo.partition(":")
        login = login or (unquote(user), unquote(password))
        url = urlunsplit(parts._replace(netloc=host))
    if login is not None:
        token = base64.b64encode(":".join(login).encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return urllib.request.Request(url, headers=headers)  # noqa: S310 - http(s) checked by spec


_CANNOT_REACH = "cannot reach the package index"
#: What a network failure that retrying cannot help looks like (an unknown host, say).
_NETWORK_ERRORS = (urllib.error.URLError, OSError, http.client.HTTPException)


def _unreachable(url: str, exc: BaseException) -> IndexUnreachableError:
    return IndexUnreachableError(
        redact(f"{_CANNOT_REACH} {url}: {exc}"),
        hint="check [index] url in env.toml and your network; "
        "credentials belong in the URL's user:password part or your netrc",
    )


def _connect(open_: Open, request: urllib.request.Request, timeout: float) -> None:
    """One GET whose answer is not read: a public index's root page runs to megabytes."""
    with open_(request, timeout):
        pass


def _read(
    open_: Open, request: urllib.request.Request, timeout: float
) -> tuple[bytes, str, Message]:
    """One GET: the whole body, the final URL and the headers (IncompleteRead if cut off)."""
    with open_(request, timeout) as resp:
        return resp.read(), resp.geturl(), resp.headers


def probe_index(where: Upstream, connections: Connections | None = None) -> None:
    """Fail fast when the index cannot be connected to, or refuses us (401/403)."""
    url = where.url
    if urlsplit(url).scheme == "file":
        if not Path(urllib.request.url2pathname(urlsplit(url).path)).exists():
            raise _unreachable(url, FileNotFoundError("no such folder"))
        return
    request = build_request(url, login=where.login)
    try:
        retry.call(
            lambda timeout: _connect(opener(connections), request, timeout),
            url=url,
            doing=_CANNOT_REACH,
        )
    except urllib.error.HTTPError as exc:
        if exc.code in _REFUSED:
            raise refused(where, exc.code) from None
        return  # it answered: a 404 on the root is no reason to stop here
    except _NETWORK_ERRORS as exc:
        raise _unreachable(url, exc) from exc


def fetch_page(
    where: Upstream, project: str, connections: Connections | None = None
) -> Page | None:
    """The index's page for *project*; None when the index does not know it.

    Served from envsync's cache while the index's Cache-Control says it is fresh, and
    revalidated with a conditional request once it is not (see ``pagecache``). Read on
    *connections* where given, else on a connection of its own.
    """
    page_url = urljoin(where.url.rstrip("/") + "/", f"{canonicalize_name(project)}/")
    if urlsplit(page_url).scheme == "file":
        return _local_page(page_url)
    user = where.login[0] if where.login else None
    kept = pagecache.load(page_url, _ACCEPT, user)
    if kept is not None and kept.is_fresh():
        return _as_page(kept)
    request = build_request(page_url, _ACCEPT, where.login)
    for header, value in (kept.validators() if kept else {}).items():
        request.add_header(header, value)
    try:
        body, final, headers = retry.call(
            lambda timeout: _read(opener(connections), request, timeout),
            url=page_url,
            doing=_CANNOT_REACH,
        )
    except urllib.error.HTTPError as exc:
        if exc.code == _NOT_MODIFIED and kept is not None:
            return _as_page(pagecache.store(page_url, _ACCEPT, user, kept, exc.headers))
        if exc.code == _NOT_FOUND:  # the project is not on this index
            return None
        if exc.code in _REFUSED:
            raise refused(where, exc.code) from None
        raise _unreachable(where.url, exc) from exc
    except _NETWORK_ERRORS as exc:
        raise _unreachable(where.url, exc) from exc
    served = pagecache.CachedPage(
        body=body,
        content_type=headers.get("Content-Type", ""),
        url=final,
        etag=None,
        last_modified=None,
        fresh_until=0.0,
    )
    return _as_page(pagecache.store(page_url, _ACCEPT, user, served, headers))


def _as_page(kept: pagecache.CachedPage) -> Page:
    return Page(body=kept.body, content_type=kept.content_type, url=kept.url)


def _local_page(page_url: str) -> Page | None:
    """A project page of a file:// index: the folder's index.html.

    None when there is none, a project name too long for the file system included: no
    folder can hold it, so the index does not know that project.
    """
    page = local_path(page_url) / "index.html"
    try:
        if not page.is_file():
            return None
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            return None
        raise _unreachable(page_url, exc) from exc
    return Page(body=page.read_bytes(), content_type="text/html", url=page_url)


def files_for(
    where: Upstream, project: str, connections: Connections | None = None
) -> list[IndexFile]:
    """Every file the index lists for *project*; [] when the index does not know it."""
    page = fetch_page(where, project, connections)
    if page is None:
        return []
    if page.is_json():
        return _parse_json(page.body, page.url)
    return _parse_html(page.body.decode("utf-8", "replace"), page.url)


def files_for_page(page_url: str, connections: Connections | None = None) -> list[IndexFile]:
    """Every file linked from a find-links HTML page."""
    request = build_request(page_url)
    try:
        body, final, _ = retry.call(
            lambda timeout: _read(opener(connections), request, timeout),
            url=page_url,
            doing="cannot read the find-links page",
        )
    except _NETWORK_ERRORS as exc:
        raise _unreachable(page_url, exc) from exc
    return _parse_html(body.decode("utf-8", "replace"), _with_userinfo(final, page_url))


def _with_userinfo(url: str, original: str) -> str:
    # urllib drops the userinfo we moved into a header; file links need it back to download.
    userinfo = urlsplit(original).netloc.rpartition("@")[0]
    parts = urlsplit(url)
    if not userinfo or "@" in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))


def _parse_json(body: bytes, page_url: str) -> list[IndexFile]:
    data = json.loads(body)
    out = []
    for entry in data.get("files", []):
        hashes = entry.get("hashes") or {}
        out.append(
            IndexFile(
                filename=entry["filename"],
                url=urljoin(page_url, entry["url"]),
                sha256=hashes.get("sha256"),
                requires_python=entry.get("requires-python"),
                size=entry.get("size"),
                core_metadata=_metadata_sha256(
                    entry.get("core-metadata", entry.get("dist-info-metadata"))
                ),
            )
        )
    return out


def _parse_html(text: str, page_url: str) -> list[IndexFile]:
    out = []
    for link in pageformat.anchors(text, page_url):
        parts = urlsplit(link.href)
        filename = unquote(parts.path.rsplit("/", 1)[-1])
        algo, _, digest = parts.fragment.partition("=")
        out.append(
            IndexFile(
                filename=filename,
                url=urlunsplit(parts._replace(fragment="")),
                sha256=digest if algo == "sha256" and digest else None,
                requires_python=link.get("data-requires-python"),
                core_metadata=_metadata_sha256(
                    link.get("data-core-metadata") or link.get("data-dist-info-metadata")
                ),
            )
        )
    return out


def _metadata_sha256(offer: object) -> str | None:
    """The sha256 a page gives for a file's core metadata: PEP 691's table, PEP 658's text."""
    if isinstance(offer, dict):
        digest = offer.get("sha256")
        return digest if isinstance(digest, str) and digest else None
    if isinstance(offer, str):
        algo, _, digest = offer.partition("=")
        return digest if algo == "sha256" and digest else None
    return None


def files_in_folder(folder: Path) -> list[IndexFile]:
    """Distribution files in a local find-links folder, hashed on the spot."""
    if not folder.is_dir():
        return []
    return [
        IndexFile(filename=p.name, url=p.as_uri(), sha256=hash_file(p), size=p.stat().st_size)
        for p in sorted(folder.iterdir())
        if p.name.endswith((".whl", ".tar.gz", ".zip"))
    ]


def hash_url(url: str, login: Login | None = None, connections: Connections | None = None) -> str:
    """Hex sha256 of a file fetched from *url* (for indexes that publish no hashes)."""
    if urlsplit(url).scheme == "file":
        return hash_file(local_path(url))
    try:
        return download(url, None, login, connections)
    except _NETWORK_ERRORS as exc:
        raise _unreachable(url, exc) from exc


def download(
    url: str,
    out: IO[bytes] | None,
    login: Login | None = None,
    connections: Connections | None = None,
) -> str:
    """Copy the file at *url* into *out* (or nowhere), hashing it: the hex sha256 of its bytes.

    A file:// URL is read from disk. Anything else is fetched with *login* and retried as
    ``retry`` says, *out* emptied before each try: a body cut short of its Content-Length
    is fetched again, not hashed. Failures are raised as they come (OSError, urllib's
    errors, IndexUnreachableError once retrying gave up), for the caller to word.
    """
    if urlsplit(url).scheme == "file":
        with local_path(url).open("rb") as source:
            return copy_hashing(source, out)[0].hexdigest()
    request = build_request(url, login=login)
    return retry.call(
        lambda timeout: _download_once(opener(connections), request, out, timeout),
        url=url,
        doing="cannot download",
    )


def _download_once(
    open_: Open, request: urllib.request.Request, out: IO[bytes] | None, timeout: float
) -> str:
    """One try at copying the answer to *request* into *out* (emptied first); its sha256."""
    if out is not None:
        out.seek(0)
        out.truncate()
    with open_(request, timeout) as response:
        digest, received = copy_hashing(response, out)
        # Counted, not trusted to read(): a file cut short must be fetched again, not
        # reported as a hash mismatch.
        retry.check_complete(response.headers.get("Content-Length"), received)
    return digest.hexdigest()


def local_path(url: str) -> Path:
    """The filesystem path of a file:// URL."""
    return Path(urllib.request.url2pathname(urlsplit(url).path))


def default_index_url() -> str:
    """Pip's built-in default index, used when env.toml names none.

    The one read of a pip internal in envsync: pip exposes no public way to ask for it, and
    pip's own value is the only honest meaning of "the default index".
    """
    from pip._internal.models.index import PyPI  # noqa: PLC0415 - fenced, lazy, rarely needed

    return str(PyPI.simple_url)
