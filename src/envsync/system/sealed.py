"""JSON kept in envsync's cache under its own sha256: a torn or changed file reads as none.

For what the fast paths trust without parsing the lock (``usecases.quickremove``,
``usecases.headstart``): the first line is the sha256 of the rest, which is the JSON. The
file is written atomically. Only the standard library at import: the start-up path.
"""

# ruff: noqa: PTH103, PTH120, PTH123 - os.path: the start-up path
from __future__ import annotations

import hashlib
import json
import os

__all__ = ["read", "write"]


def read(path: str) -> object | None:
    """The JSON at *path*, when its own hash vouches for it; None when missing or not."""
    try:
        with open(path, encoding="utf-8") as fh:
            digest, _, body = fh.read().partition("\n")
        if hashlib.sha256(body.encode("utf-8")).hexdigest() != digest:
            return None  # torn or changed: not what a run wrote
        found: object = json.loads(body)
    except (OSError, ValueError):
        return None
    return found


def write(path: str, data: object, *, fault: str) -> None:
    """Write *data* to *path* atomically, after its sha256 (*fault*: the fault point's name)."""
    from envsync.system import atomic  # noqa: PLC0415 - only a run that keeps one writes

    os.makedirs(os.path.dirname(path), exist_ok=True)
    body = json.dumps(data)
    text = f"{hashlib.sha256(body.encode('utf-8')).hexdigest()}\n{body}"
    atomic.write_text(path, text, fault=fault)
