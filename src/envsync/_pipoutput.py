"""What went wrong, read from pip's (or pip-compile's) output. PURE text matching.

pip reports failures only as text; resolver and installer each turn the kind found here
into their own message.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = ["Failure", "classify", "cut_off", "missing_requirement", "without_tracebacks"]

Failure = Literal["hash", "no-version", "unreachable", "build", "conflict", "other"]

_HASH = re.compile(r"THESE PACKAGES DO NOT MATCH THE HASHES|Expected sha256 \S+\s+Got\s+\S+")
_NO_VERSION = re.compile(
    r"(?:Could not find a version that satisfies the requirement|"
    r"No matching distribution found for) (?P<req>\S+)"
)
_UNREACHABLE = (
    "Failed to establish a new connection",
    "Connection refused",
    "Max retries exceeded",  # after pip's retries: refused, timed out, or 5xx ("too many 503")
    "NewConnectionError",
    "Could not fetch URL",
    "Name or service not known",
    "Temporary failure in name resolution",
    "Could not install packages due to an OSError: HTTPConnectionPool",
    "Read timed out",
    "RemoteDisconnected",
    "Connection reset by peer",
    "connection-timeout",  # pip >= 25's error codes: "error: connection-timeout"
    "connection-failed",
    "incomplete-download",  # after resuming a download as often as pip was told
    "ConnectionTimeoutError",  # the same, escaping pip-compile as a traceback
    "ConnectionFailedError",
    "IncompleteDownloadError",
    "Request failed after",  # uv, after its retries
    "Failed to fetch:",  # uv
)
# pip retries a request that fails before its answer starts, but crashes with a traceback
# when an answer stops short (an index page; a wheel only when resuming is off).
_CUT_OFF = ("IncompleteRead", "ChunkedEncodingError", "Connection broken:")
_CHAINED = frozenset(
    {
        "The above exception was the direct cause of the following exception:",
        "During handling of the above exception, another exception occurred:",
    }
)
_BUILD = ("metadata-generation-failed", "Failed to build", "subprocess-exited-with-error")


def classify(output: str) -> Failure:
    """The kind of failure *output* reports, most specific first."""
    if _HASH.search(output):
        return "hash"
    if _NO_VERSION.search(output):
        return "no-version"
    if any(marker in output for marker in _BUILD):
        return "build"
    if any(marker in output for marker in (*_UNREACHABLE, *_CUT_OFF)):
        return "unreachable"
    if "ResolutionImpossible" in output or "conflict" in output.lower():
        return "conflict"
    return "other"


def cut_off(output: str) -> bool:
    """Whether *output* shows a transfer that stopped short, which pip does not retry."""
    return any(marker in output for marker in _CUT_OFF)


def without_tracebacks(output: str) -> str:
    """*output* with each Python traceback cut down to its last line, the exception.

    pip-compile lets some of pip's network errors escape as tracebacks: the frames mean
    nothing to a user, and would push pip's own "Retrying ... /simple/name/" lines out of
    the few lines a message shows.
    """
    kept: list[str] = []
    inside = False
    for line in output.splitlines():
        if line.lstrip().startswith("Traceback (most recent call last)"):
            inside = True
        elif line.strip() in _CHAINED:
            continue  # between two tracebacks of one chain
        elif not (inside and line[:1].isspace()):
            inside = False
            kept.append(line)
    return "\n".join(kept)


def missing_requirement(output: str) -> str:
    """The requirement pip found no version for (``?`` if it cannot be found)."""
    match = _NO_VERSION.search(output)
    return match["req"] if match else "?"
