"""Fetch a locked file and check it against the lock's sha256, with errors for the user. NETWORK.

The bytes are copied and hashed by ``simpleapi.download``, the one download in envsync (the
resolver's ``hash_url`` uses it too); this module adds what installing needs: the index a
URL belongs to (for its credentials), and errors that name the file, the index and the fix.
"""

from __future__ import annotations

import http.client
import urllib.error
from typing import IO, TYPE_CHECKING, TypeAlias
from urllib.parse import urlsplit

from envsync.errors import HashMismatchError, IndexAuthError, IndexUnreachableError, InstallError
from envsync.index import credentials, simpleapi
from envsync.system.process import redact

if TYPE_CHECKING:
    from collections.abc import Callable

    from envsync.core.lockfile import Artifact
    from envsync.index.connections import Connections
    from envsync.index.credentials import Upstream

__all__ = ["UpstreamLookup", "download_checked", "identity"]

#: Finds the index a URL belongs to (for its credentials and for messages), or None.
UpstreamLookup: TypeAlias = "Callable[[str], Upstream | None]"

_REFUSED = frozenset({401, 403})


def identity(artifact: Artifact) -> tuple[str, str]:
    """The sha256 (lower case) and file name the lock gives *artifact*: what it is known by."""
    if not artifact.sha256:
        raise InstallError(f"{artifact.url} has no sha256 in the lock: it cannot be cached")
    return artifact.sha256.lower(), artifact.file_name()


def download_checked(
    artifact: Artifact,
    out: IO[bytes],
    lookup: UpstreamLookup,
    connections: Connections | None = None,
) -> None:
    """Copy *artifact* into *out*; raise HashMismatchError unless it has the lock's sha256.

    A download cut short is tried again (see ``retry``); one that arrived whole with other
    bytes than were locked is refused, and the caller throws *out* away. On *connections*
    (the run's, kept open) where given.
    """
    sha256, filename = identity(artifact)
    found = _download(artifact.url, out, lookup, connections)
    if found != sha256:
        raise HashMismatchError(
            f"{filename} does not match the hash in pylock.toml: expected sha256 {sha256}, "
            f"downloaded {found} (from {redact(artifact.url)})",
            hint="the index served different bytes than were locked; if that is expected, "
            "run `envsync lock --upgrade-package NAME`",
        )


def _download(
    url: str, out: IO[bytes], lookup: UpstreamLookup, connections: Connections | None
) -> str:
    """Copy *url* into *out* with its index's credentials; the hex sha256 of what was copied."""
    where = None if urlsplit(url).scheme == "file" else lookup(url)
    try:
        return simpleapi.download(url, out, where.login if where else None, connections)
    except urllib.error.HTTPError as exc:  # closed by retry.call: the connection is not held
        if exc.code in _REFUSED:
            raise _refused(url, where, exc.code) from None
        raise _unreachable(url, exc) from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise _unreachable(url, exc) from exc


def _refused(url: str, where: Upstream | None, status: int) -> IndexAuthError:
    if where is not None:
        return credentials.refused(where, status)
    return IndexAuthError(
        f"{redact(url)} refused the download (HTTP {status})",
        hint="give envsync the index's credentials: ~/.netrc or the ENVSYNC_INDEX_* variables",
    )


def _unreachable(url: str, exc: BaseException) -> IndexUnreachableError:
    return IndexUnreachableError(
        redact(f"cannot download {url}: {exc}"),
        hint="check [index] url in env.toml and your network",
    )
