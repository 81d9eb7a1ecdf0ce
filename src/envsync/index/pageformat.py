"""The simple API's page formats: PEP 503 HTML anchors read and written, PEP 691's type. PURE.

Both readers of HTML pages use ``anchors``: simpleapi, which lists a project's files for the
lock, and the routing proxy, which merges pages for pip. Links come back absolute, resolved
as pip resolves them: against the page's URL, or the page's ``<base href>`` when it has one.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urljoin

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = ["HTML_TYPE", "JSON_TYPE", "Anchor", "anchors", "html_page"]

#: PEP 691's Content-Type for a JSON page.
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
#: The Content-Type of a PEP 503 HTML page.
HTML_TYPE = "text/html; charset=utf-8"

Attrs = tuple[tuple[str, str | None], ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Anchor:
    """One link of a page: ``<a href="..." data-...>text</a>``."""

    attrs: Attrs
    """Its attributes in page order, ``href`` made absolute."""
    text: str
    """The text between ``<a>`` and ``</a>`` (the file name, on an index page)."""

    def get(self, name: str) -> str | None:
        """The value of attribute *name*; None when it is absent or has no value."""
        return next((value for key, value in self.attrs if key == name), None)

    @property
    def href(self) -> str:
        """The absolute URL it links to."""
        return self.get("href") or ""

    def to_html(self) -> str:
        """The anchor written out again, values escaped."""
        shown = " ".join(k if v is None else f'{k}="{html.escape(v)}"' for k, v in self.attrs)
        return f"<a {shown}>{html.escape(self.text)}</a>"


def anchors(text: str, base: str) -> list[Anchor]:
    """The links (``<a>`` with an ``href``) of the HTML page *text* read from URL *base*."""
    parser = _Links(base)
    parser.feed(text)
    parser.close()
    return parser.found


def html_page(title: str, links: Iterable[Anchor]) -> bytes:
    """A PEP 503 page titled *title* that lists *links*."""
    head = (
        '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0">'
        f"<title>{html.escape(title)}</title></head><body>\n"
    )
    return (head + "<br>\n".join(a.to_html() for a in links) + "\n</body></html>\n").encode()


class _Links(HTMLParser):
    """Collects the anchors of a page; an anchor left open ends where the next one starts."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base
        self.found: list[Anchor] = []
        self._attrs: Attrs | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: Sequence[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "base" and href:
            self.base = urljoin(self.base, href)
        elif tag == "a":
            self._finish()
            if href:
                absolute = urljoin(self.base, href)
                self._attrs = tuple((k, absolute if k == "href" else v) for k, v in attrs)

    def handle_data(self, data: str) -> None:
        if self._attrs is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._finish()

    def close(self) -> None:
        """Finish the page, and an anchor it left open."""
        super().close()
        self._finish()

    def _finish(self) -> None:
        if self._attrs is not None:
            self.found.append(Anchor(attrs=self._attrs, text="".join(self._text)))
        self._attrs, self._text = None, []
