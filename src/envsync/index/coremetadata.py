"""A wheel's core metadata as the index offers it beside the file (PEP 658). NETWORK.

The lock records, per package, the Requires-Dist lines that pulled in the other locked
packages (``envsync why`` shows them). They come from the metadata file the index serves at
``<wheel url>.metadata``, checked against the sha256 its page gives: the same file for
every resolver and every target, read without building or running anything. Where the
page vouches for no metadata file, the file is asked for anyway, and where the mirror serves
none, the wheel's own METADATA is read through a few HTTP ranges of it (``lazywheel``):
unverified either way, so those lines serve only the texts.
"""

from __future__ import annotations

import email.parser
import io
import logging
import urllib.error
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement

from envsync.errors import HashMismatchError, IndexUnreachableError
from envsync.index import lazywheel, simpleapi
from envsync.system.process import redact

if TYPE_CHECKING:
    from envsync.index.connections import Connections
    from envsync.index.credentials import Login

__all__ = ["requires_dist"]

_LOG = logging.getLogger("envsync.index.coremetadata")
_NOT_FOUND = 404


def requires_dist(
    file: simpleapi.IndexFile, login: Login | None = None, connections: Connections | None = None
) -> tuple[Requirement, ...] | None:
    """The Requires-Dist of the wheel *file*, from its PEP 658 metadata file.

    None when the index has no such file (404) and, where the page vouches for none, no
    ranges of the wheel to read it from either (nothing recorded, nothing lost: the edges
    are still in the lock). An unreadable line is skipped (pip would refuse the wheel before
    envsync saw it). A page that offers no metadata file is asked anyway (``_unoffered``);
    where that answers nothing, a wheel's own METADATA is read through HTTP ranges. Every
    request on *connections* where given.
    """
    if file.core_metadata is None:
        body = _unoffered(f"{file.url}.metadata", login, connections)
        if body is None and file.filename.endswith(".whl"):
            body = lazywheel.wheel_metadata(file.url, login, connections)
    else:
        body = _fetch(f"{file.url}.metadata", file.core_metadata, login, connections)
    if body is None:
        return None
    headers = email.parser.BytesHeaderParser().parsebytes(body)
    lines = (_requirement(str(line), file) for line in headers.get_all("Requires-Dist") or ())
    return tuple(r for r in lines if r is not None)


def _requirement(line: str, file: simpleapi.IndexFile) -> Requirement | None:
    try:
        return Requirement(line)
    except InvalidRequirement:
        _LOG.debug("%s: skipped the unreadable Requires-Dist %r", file.filename, line)
        return None


def _fetch(
    url: str, sha256: str, login: Login | None, connections: Connections | None
) -> bytes | None:
    """The file at *url*, checked against *sha256*; None when the index has none (404)."""
    out = io.BytesIO()
    try:
        got = simpleapi.download(url, out, login, connections)
    except urllib.error.HTTPError as exc:
        if exc.code == _NOT_FOUND:
            return None
        raise _unreachable(url, exc) from exc
    except FileNotFoundError:  # a file:// index without the file
        return None
    except (urllib.error.URLError, OSError) as exc:
        raise _unreachable(url, exc) from exc
    if got.lower() != sha256.lower():
        msg = redact(f"the metadata file {url} does not match its sha256 on the index page")
        raise HashMismatchError(msg, hint="the index serves a broken file: tell its operators")
    return out.getvalue()


def _unoffered(url: str, login: Login | None, connections: Connections | None) -> bytes | None:
    """The metadata file at *url* that the page did not offer; None on any failure.

    Some mirrors serve the file beside each wheel and leave PEP 658's offer (with its
    sha256) out of the pages they pass on. Without a sha256 nothing vouches for it, so it
    is used only for what is informational (the texts `envsync why` shows, never what is
    installed), and its absence, a refusal or a broken answer costs nothing but those texts.
    """
    if not url.startswith(("https:", "http:")):
        return None
    out = io.BytesIO()
    try:
        simpleapi.download(url, out, login, connections)
    except (urllib.error.URLError, OSError, IndexUnreachableError) as exc:
        _LOG.debug("%s: no metadata file (%s)", redact(url), exc)
        return None
    return out.getvalue()


def _unreachable(url: str, exc: BaseException) -> IndexUnreachableError:
    return IndexUnreachableError(
        redact(f"cannot read the metadata file {url}: {exc}"),
        hint="check [index] url in env.toml and your network",
    )
