"""Several indexes' pages for one project, merged into the one page the routing proxy serves.

Every link is made absolute, so that pip downloads each file straight from the index that
lists it. The merged page is PEP 691 JSON when pip asks for JSON and every page is JSON, and
PEP 503 HTML otherwise (a JSON entry then becomes an anchor with the same data attributes).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from envsync.index.pageformat import HTML_TYPE, JSON_TYPE, Anchor, anchors, html_page

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from envsync.index.simpleapi import Page

__all__ = ["merge"]


def merge(project: str, pages: Sequence[Page], *, as_json: bool) -> tuple[bytes, str]:
    """One page from the upstream *pages*, and its Content-Type.

    JSON when all pages are and pip asks for it, else HTML.
    """
    if as_json and all(page.is_json() for page in pages):
        files = [entry for page in pages for entry in _json_files(page)]
        document = {"meta": {"api-version": "1.0"}, "name": project, "files": files}
        return json.dumps(document).encode(), JSON_TYPE
    links = [link for page in pages for link in _anchors(page)]
    return html_page(f"Links for {project}", links), HTML_TYPE


def _json_files(page: Page) -> list[dict[str, Any]]:
    """The file entries of a PEP 691 page, their URLs made absolute."""
    entries = json.loads(page.body).get("files", [])
    return [{**entry, "url": urljoin(page.url, entry["url"])} for entry in entries]


def _anchors(page: Page) -> list[Anchor]:
    """The file links of a page as HTML anchors with absolute hrefs."""
    if page.is_json():
        return [
            Anchor(attrs=_json_attrs(entry), text=entry["filename"]) for entry in _json_files(page)
        ]
    return anchors(page.body.decode("utf-8", "replace"), page.url)


def _json_attrs(entry: Mapping[str, Any]) -> tuple[tuple[str, str | None], ...]:
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
    return tuple(attrs)
