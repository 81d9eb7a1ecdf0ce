"""Project pages of package indexes, kept in envsync's cache as HTTP allows. FILES.

Locking lists every file of every pinned version, one index page per project, right after
pip-compile (or uv) read the same pages through its own HTTP cache. Keeping them here too,
for as long as the index's ``Cache-Control`` allows (``max-age``: ten minutes on the
public index), saves a request per project on every relock; a stale page with an ``ETag``
or ``Last-Modified`` is revalidated with a conditional request. ``no-store`` pages are
never kept, ``no-cache`` ones always revalidated, and a page without freshness
information is fetched again every time.

Pages live under ``<cache>/pages/``, keyed by URL, the ``Accept`` header and the user name
the index was asked with (never the password). Files are replaced whole (write, then
rename) and checked against the hash recorded with them, so a torn or edited entry is a
miss, never a wrong page. Only the standard library: no network here, simpleapi asks.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from envsync.system import removal
from envsync.system.cachedir import cache_root

__all__ = ["CachedPage", "Headers", "freshness", "load", "refreshed", "store"]


class Headers(Protocol):
    """Response headers, looked up without regard to case (http.client's, email's)."""

    def get(self, name: str, default: None = None, /) -> str | None:
        """The header's value, or None."""
        ...


_FORMAT = 1
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True, slots=True)
class CachedPage:
    """A page as the index last served it, and how long that answer stays good."""

    body: bytes
    content_type: str
    url: str
    """Where it was read from, after redirects."""
    etag: str | None
    last_modified: str | None
    fresh_until: float
    """Seconds since the epoch; 0 when it must be revalidated before use."""

    def is_fresh(self, now: float | None = None) -> bool:
        """Whether it may be used without asking the index."""
        return (time.time() if now is None else now) < self.fresh_until

    def validators(self) -> dict[str, str]:
        """Headers for a conditional request: the index answers 304 if the page is the same."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


def freshness(headers: Headers) -> float | None:
    """Seconds a response stays fresh under HTTP caching rules; None: do not keep it.

    Only what an index's pages use: ``max-age`` less ``Age``; ``no-store`` keeps nothing;
    ``no-cache`` keeps but revalidates every time. (The cache is the user's own, so
    ``private`` pages may be kept, as a browser keeps them.)
    """
    control = headers.get("Cache-Control") or ""
    directives = {d.strip().split("=", 1)[0].lower() for d in control.split(",") if d.strip()}
    if "no-store" in directives:
        return None
    if "no-cache" in directives:
        return 0.0
    match = _MAX_AGE.search(control)
    if match is None:
        return 0.0
    try:
        age = max(0.0, float(headers.get("Age") or 0))
    except ValueError:
        age = 0.0
    return max(0.0, int(match.group(1)) - age)


def load(url: str, accept: str, user: str | None) -> CachedPage | None:
    """The page kept for this request, fresh or not; None if there is none (or it is torn)."""
    meta_path, body_path = _paths(url, accept, user)
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
        body = body_path.read_bytes()
        if meta["format"] != _FORMAT or meta["sha256"] != hashlib.sha256(body).hexdigest():
            return None
        return CachedPage(
            body=body,
            content_type=str(meta["content_type"]),
            url=str(meta["url"]),
            etag=meta.get("etag"),
            last_modified=meta.get("last_modified"),
            fresh_until=float(meta["fresh_until"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(
    url: str, accept: str, user: str | None, page: CachedPage, headers: Headers
) -> CachedPage:
    """Keep *page* (just served with *headers*) as long as they allow; return it as kept."""
    lifetime = freshness(headers)
    kept = refreshed(page, headers)
    if lifetime is None or not (lifetime or kept.validators()):
        return kept  # not to be kept, or nothing to gain from keeping it
    with contextlib.suppress(OSError):  # the cache only saves time
        meta_path, body_path = _paths(url, accept, user)
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        _replace(body_path, kept.body)
        meta = {
            "format": _FORMAT,
            "sha256": hashlib.sha256(kept.body).hexdigest(),
            "content_type": kept.content_type,
            "url": kept.url,
            "etag": kept.etag,
            "last_modified": kept.last_modified,
            "fresh_until": kept.fresh_until,
        }
        _replace(meta_path, json.dumps(meta).encode())
    return kept


def refreshed(page: CachedPage, headers: Headers) -> CachedPage:
    """*page* with the freshness and validators of a new response (a 200, or a 304 for it)."""
    lifetime = freshness(headers) or 0.0
    return CachedPage(
        body=page.body,
        content_type=page.content_type,
        url=page.url,
        etag=headers.get("ETag") or page.etag,
        last_modified=headers.get("Last-Modified") or page.last_modified,
        fresh_until=time.time() + lifetime if lifetime else 0.0,
    )


def _paths(url: str, accept: str, user: str | None) -> tuple[Path, Path]:
    key = hashlib.sha256(json.dumps([_FORMAT, url, accept, user]).encode()).hexdigest()[:40]
    folder = Path(cache_root(), "pages", key[:2])
    return folder / f"{key}.json", folder / f"{key}.body"


def _replace(path: Path, data: bytes) -> None:
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    owned = removal.Owned.cache(cache_root())
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        removal.move(partial, path, within=owned)
    finally:
        removal.delete(partial, within=owned)
