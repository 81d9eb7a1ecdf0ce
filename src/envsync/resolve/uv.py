"""The uv backend: ``uv pip compile`` in place of pip-compile. SUBPROCESS + NETWORK.

uv resolves for ``--python`` itself, so no shim is needed; it reads the same input files and
writes the same output format, and everything after the compile step (file listing, local
versions, the lock) is shared with the pip-tools backend. For a foreign lock target, uv
resolves for the target's platform and Python version itself (``--python-platform``), with
macOS wheels no newer than envsync's floor (``MACOSX_DEPLOYMENT_TARGET``, which uv reads).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from envsync.core.targets import MACOS_FLOOR
from envsync.errors import ResolutionError
from envsync.resolve.foreign import target_of
from envsync.resolve.piptools import PipToolsResolver, shared_args
from envsync.system.process import Runner, run

if TYPE_CHECKING:
    from collections.abc import Sequence

    from envsync.index.pipaccess import PipAccess
    from envsync.index.routes import Routes
    from envsync.resolve.protocol import ResolveRequest

__all__ = ["UvResolver", "find_uv"]


class UvResolver(PipToolsResolver):
    """Resolves with ``uv pip compile``: the same inputs, the same output format, much faster.

    uv resolves for ``--python`` itself, so no shim is needed; everything after the compile
    step (file listing, local versions, the lock) is shared with pip-tools.
    """

    _FOREIGN_BY_PIP: ClassVar[bool] = False  # uv resolves for any platform it names
    BATCHES_FOREIGN: ClassVar[bool] = False  # and in a few milliseconds: nothing to share
    _TOOL: ClassVar[str] = "uv pip compile"

    def __init__(self, *, uv: Path, runner: Runner = run) -> None:
        super().__init__(runner=runner)
        self._uv = uv

    def _compile(
        self,
        work: Path,
        inputs: Sequence[str],
        request: ResolveRequest,
        access: PipAccess,
        routes: Routes,
    ) -> None:
        """Run uv; for a foreign macOS target, with envsync's floor as uv's macOS version."""
        if request.foreign and target_of(request).platform.sys_platform == "darwin":
            floor = ".".join(map(str, MACOS_FLOOR))
            access = replace(access, env={**access.env, "MACOSX_DEPLOYMENT_TARGET": floor})
        super()._compile(work, inputs, request, access, routes)

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
        if request.foreign:
            argv += _target_args(request)
        return argv


def _target_args(request: ResolveRequest) -> list[str]:
    """The options that make uv resolve for the request's target, not ``--python`` itself."""
    target = target_of(request)
    if target.platform.uv is None:
        raise ResolutionError(
            f"uv cannot resolve for {target}: uv has no name for the platform "
            f"{target.platform.name}",
            hint='resolve on such a machine, or set resolver = "pip-tools" in env.toml',
        )
    return [f"--python-platform={target.platform.uv}", f"--python-version={target.python}"]


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
