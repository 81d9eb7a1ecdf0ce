"""What interpreters said about themselves, kept across runs in envsync's cache folder.

Asking an interpreter (its version; its paths, markers and tags) means starting it: 20 to 50 ms
each time. Its answers change only when the interpreter does, so they are kept under
``<cache>/probes/``, keyed by the interpreter file's identity (device, inode, size, mtime,
ctime: a reinstall or upgrade changes them), by what the caller adds to the key (a venv's
``pyvenv.cfg``, the probe's own code), and by envsync's and packaging's versions (the tags
come from packaging).
Anything unreadable is a miss; a failed write is ignored: the cache only saves time.

Only the standard library is used, and pathlib and tempfile only where a probe is kept or
looked up: the replay path asks ``identity`` before anything else is imported.
"""

# ruff: noqa: PTH116 - os.stat, not pathlib: ``identity`` runs on the start-up path
from __future__ import annotations

import hashlib
import json
import os

from envsync.system import removal
from envsync.system.cachedir import cache_root

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

__all__ = ["identity", "load", "store"]

_FORMAT = 1


def identity(path: str | os.PathLike[str]) -> list[int] | None:
    """The file's (device, inode, size, mtime, ctime), following links; None if unreadable."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return [found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns]


def load(kind: str, python: str | os.PathLike[str], *extra: object) -> Any | None:  # noqa: ANN401 - JSON
    """The answer stored for *kind* of *python* (and *extra*), or None."""
    path = _path(kind, python, extra)
    if path is None:
        return None
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def store(kind: str, python: Path, answer: object, *extra: object) -> None:
    """Keep *answer* for *kind* of *python* (and *extra*); written whole or not at all."""
    path = _path(kind, python, extra)
    if path is None:
        return
    try:
        # 10 ms, paid only by a probe that ran or a new venv described from its base's answer
        import tempfile  # noqa: PLC0415

        path.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        owned = removal.Owned.cache(cache_root())
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as fh:
                json.dump(answer, fh)
            removal.move(partial, path, within=owned)
        finally:
            removal.delete(partial, within=owned)
    except OSError:
        return


def _path(kind: str, python: str | os.PathLike[str], extra: tuple[object, ...]) -> Path | None:
    found = identity(python)
    if found is None:
        return None
    key = json.dumps([_FORMAT, _versions(), kind, os.fspath(python), found, list(extra)])
    name = hashlib.sha256(key.encode()).hexdigest()[:40]
    from pathlib import Path  # noqa: PLC0415 - see the module's docstring

    return Path(cache_root(), "probes", f"{kind}-{name}.json")


def _versions() -> list[str]:
    """The versions of envsync and packaging: a new release may ask and answer differently."""
    import packaging  # noqa: PLC0415 - loaded already wherever a probe runs

    from envsync import __version__  # noqa: PLC0415

    return [__version__, packaging.__version__]
