"""env.toml and pylock.toml on disk: read them, validate them, write the lock atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from envsync import lockfile
from envsync.errors import EnvsyncError, LockError, SpecError, SpecProblem
from envsync.spec import Spec, parse_spec

if TYPE_CHECKING:
    from packaging.pylock import Pylock

__all__ = ["load_spec", "lock_path", "read_lock", "write_atomic"]


def load_spec(path: Path) -> Spec:
    """Read and validate env.toml at *path*."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        msg = f"{path} was not found"
        raise EnvsyncError(msg, hint="write an env.toml (see README) or pass --spec") from None
    except (OSError, UnicodeDecodeError) as exc:
        problem = SpecProblem(key="", expected="a readable UTF-8 file", found=str(exc))
        raise SpecError(path, [problem]) from exc
    return parse_spec(text, path=path.absolute())


def lock_path(spec: Spec) -> Path:
    """pylock.toml beside env.toml."""
    return spec.root / lockfile.LOCK_NAME


def read_lock(path: Path) -> Pylock | None:
    """The lock at *path*, or None when there is none yet."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read {path}: {exc}"
        raise LockError(msg) from exc
    return lockfile.loads(text, path=path)


def write_atomic(path: Path, text: str) -> None:
    """Write *text* to *path* through a temporary file and a rename: never half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
