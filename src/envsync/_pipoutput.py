"""What went wrong, read from pip's (or pip-compile's) output. PURE text matching.

pip reports failures only as text; resolver and installer each turn the kind found here
into their own message.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = ["Failure", "classify", "missing_requirement"]

Failure = Literal["hash", "no-version", "unreachable", "build", "conflict", "other"]

_HASH = re.compile(r"THESE PACKAGES DO NOT MATCH THE HASHES|Expected sha256 \S+\s+Got\s+\S+")
_NO_VERSION = re.compile(
    r"(?:Could not find a version that satisfies the requirement|"
    r"No matching distribution found for) (?P<req>\S+)"
)
_UNREACHABLE = (
    "Failed to establish a new connection",
    "Connection refused",
    "Max retries exceeded",
    "NewConnectionError",
    "Could not fetch URL",
    "Name or service not known",
    "Temporary failure in name resolution",
    "Could not install packages due to an OSError: HTTPConnectionPool",
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
    if any(marker in output for marker in _UNREACHABLE):
        return "unreachable"
    if "ResolutionImpossible" in output or "conflict" in output.lower():
        return "conflict"
    return "other"


def missing_requirement(output: str) -> str:
    """The requirement pip found no version for (``?`` if it cannot be found)."""
    match = _NO_VERSION.search(output)
    return match["req"] if match else "?"
