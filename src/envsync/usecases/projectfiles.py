"""env.toml and pylock.toml on disk: read them, validate them, replace them atomically.

Both are written through ``_atomic``: a temporary file beside the target, flushed to disk and
renamed over it, so a crash leaves the old file or the new one, never a mix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from envsync.core import lockfile
from envsync.core.spec import Spec, parse_spec
from envsync.errors import EnvsyncError, LockError, SpecError, SpecProblem
from envsync.system import atomic

if TYPE_CHECKING:
    from pathlib import Path

    from packaging.pylock import Pylock

__all__ = ["load_spec", "lock_path", "read_lock", "write_lock", "write_spec"]


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
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        msg = f"cannot read {path}: line {line} is not UTF-8 ({exc.reason}: byte {exc.start})"
        raise LockError(
            msg, hint="pylock.toml is UTF-8: run `envsync lock` to write it again"
        ) from exc
    except OSError as exc:
        raise LockError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return lockfile.loads(text, path=path)


def write_lock(path: Path, text: str) -> None:
    """Replace pylock.toml at *path* with *text*, whole or not at all."""
    atomic.write_text(path, text, fault="writing-lock")


def write_spec(path: Path, text: str) -> None:
    """Replace env.toml at *path* with *text*, whole or not at all."""
    atomic.write_text(path, text, fault="writing-spec")
