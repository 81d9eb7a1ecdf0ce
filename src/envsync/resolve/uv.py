"""The uv backend: ``uv pip compile`` in place of pip-compile. SUBPROCESS + NETWORK.

uv resolves for ``--python`` itself, so no shim is needed; it reads the same input files and
writes the same output format, and everything after the compile step (file listing, local
versions, the lock) is shared with the pip-tools backend.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from envsync.resolve.piptools import PipToolsResolver, shared_args
from envsync.system.process import Runner, run

if TYPE_CHECKING:
    from collections.abc import Sequence

    from envsync.index.pipaccess import PipAccess
    from envsync.resolve.protocol import ResolveRequest

__all__ = ["UvResolver", "find_uv"]


class UvResolver(PipToolsResolver):
    """Resolves with ``uv pip compile``: the same inputs, the same output format, much faster.

    uv resolves for ``--python`` itself, so no shim is needed; everything after the compile
    step (file listing, local versions, the lock) is shared with pip-tools.
    """

    def __init__(self, *, uv: Path, runner: Runner = run) -> None:
        super().__init__(runner=runner)
        self._uv = uv

    def _compile_argv(
        self, inputs: Sequence[str], request: ResolveRequest, access: PipAccess
    ) -> list[str]:
        argv = [
            os.fspath(self._uv),
            "pip",
            "compile",
            f"--python={request.python}",
            "--no-header",
            "--annotation-style=line",
            *shared_args(inputs, request, access),
        ]
        if not request.build:
            argv.append("--no-build")
        return argv


def find_uv() -> Path | None:
    """Uv on PATH, or the binary of an installed ``uv`` Python package."""
    found = shutil.which("uv")
    if found:
        return Path(found)
    try:
        from uv import find_uv_bin  # noqa: PLC0415 - optional: only when resolver = "uv"
    except ImportError:
        return None
    try:
        return Path(find_uv_bin())
    except FileNotFoundError:
        return None
