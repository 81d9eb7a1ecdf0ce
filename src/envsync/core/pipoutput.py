"""What went wrong, read from pip's (or pip-compile's) output. PURE text matching.

pip reports failures only as text; resolver and installer each turn the kind found here
into their own message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "Failure",
    "NameMismatch",
    "classify",
    "cut_off",
    "missing_requirement",
    "name_mismatch",
    "without_tracebacks",
]

Failure = Literal[
    "hash", "name-mismatch", "no-version", "unreachable", "build", "conflict", "other"
]

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
#: A distribution that calls itself another project than the one asked for. pip says so as
#: an exception that escapes pip-compile as a traceback (a wheel's .dist-info folder), or as
#: MetadataInconsistent (its METADATA Name); uv in its own words.
_NAME_MISMATCH = (  # (pattern, whether it names a .dist-info folder)
    (
        re.compile(
            r"(?P<wanted>\S+) has an invalid wheel, \.dist-info directory "
            r"'(?P<found>[^'\n]+)' does not start with '[^'\n]*'"
        ),
        True,
    ),
    (
        re.compile(
            r"The \.dist-info directory `(?P<found>[^`\n]+)` does not start with the "
            r"normalized package name: (?P<wanted>\S+)"
        ),
        True,
    ),
    (
        re.compile(
            r"[Rr]equested (?P<wanted>\S+) from \S+.*? has inconsistent [Nn]ame: "
            r"expected '[^'\n]*', but metadata has '(?P<found>[^'\n]*)'"
        ),
        False,
    ),
    (
        re.compile(
            r"[Pp]ackage metadata name `(?P<found>[^`\n]+)` does not match given name "
            r"`(?P<wanted>[^`\n]+)`"
        ),
        False,
    ),
)
_BUILD = ("metadata-generation-failed", "Failed to build", "subprocess-exited-with-error")


@dataclass(frozen=True, kw_only=True, slots=True)
class NameMismatch:
    """A distribution whose own name is not the requirement's."""

    wanted: str
    """The project asked for, as pip wrote it."""
    found: str
    """What the distribution calls itself: its .dist-info folder, or its METADATA Name."""
    folder: bool
    """Whether *found* is a .dist-info folder (else a METADATA Name)."""


def classify(output: str) -> Failure:
    """The kind of failure *output* reports, most specific first."""
    return next((kind for kind, found in _KINDS if found(output)), "other")


def _has_any(markers: tuple[str, ...]) -> Callable[[str], bool]:
    return lambda output: any(marker in output for marker in markers)


# Most specific first: a build or a name mismatch may also mention a conflict.
_KINDS: tuple[tuple[Failure, Callable[[str], bool]], ...] = (
    ("hash", lambda output: _HASH.search(output) is not None),
    ("name-mismatch", lambda output: name_mismatch(output) is not None),
    ("no-version", lambda output: _NO_VERSION.search(output) is not None),
    ("build", _has_any(_BUILD)),
    ("unreachable", _has_any((*_UNREACHABLE, *_CUT_OFF))),
    ("conflict", lambda output: "ResolutionImpossible" in output or "conflict" in output.lower()),
)


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


def name_mismatch(output: str) -> NameMismatch | None:
    """The distribution *output* says calls itself another project, if it says so."""
    for pattern, folder in _NAME_MISMATCH:
        match = pattern.search(output)
        if match:
            found = match["found"]
            if folder and not found.endswith(".dist-info"):  # uv leaves the suffix out
                found += ".dist-info"
            return NameMismatch(wanted=match["wanted"], found=found, folder=folder)
    return None
