"""The uv installer backend: ``uv pip install`` into the venv. SUBPROCESS.

Like the pip backend, it never resolves: it is handed the exact artifacts the lock selected
and installs them with ``--no-deps --require-hashes``, pointed at the venv with ``--python``.
It touches only that venv (and uv's own cache); uv's configuration files and UV_* variables
are kept out (see process.clean_env), so env.toml is the only source of indexes.

The locked URLs carry no credentials: uv gets those of the indexes' hosts through a private
netrc file (``NETRC``, which uv reads as pip does). The index options only matter to an
sdist's build requirements, and go through the routing proxy when packages are pinned to
named indexes.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from envsync.install.protocol import RequirementsInstaller
from envsync.system.process import Runner, run

if TYPE_CHECKING:
    from pathlib import Path

    from envsync.core.spec import LinkMode
    from envsync.install.protocol import InstallFailure

__all__ = ["UvInstaller"]

# uv's words for a download an index refused: "HTTP status client error (401 Unauthorized)".
_REFUSED = re.compile(r"\b40[13] (?:Unauthorized|Forbidden)\b")
_HASH = "Hash mismatch for"
_BUILD = ("Failed to build", "The build backend returned an error")
_UNREACHABLE = (
    "Failed to fetch",
    "Failed to download",
    "error sending request",
    "Connection refused",
    "dns error",
)


class UvInstaller(RequirementsInstaller):
    """Installs with ``uv pip install`` (the uv binary given, pointed at the venv)."""

    tool = "uv"

    def __init__(
        self,
        *,
        uv: Path,
        compile_bytecode: bool = False,
        link_mode: LinkMode = "hardlink",
        runner: Runner = run,
    ) -> None:
        super().__init__(runner=runner)
        self._uv = os.fspath(uv)
        self._compile_bytecode = compile_bytecode
        self._link_mode = link_mode

    def _install_argv(self, python: Path, extra: list[str]) -> list[str]:
        return [
            self._uv,
            "pip",
            "install",
            f"--python={os.fspath(python)}",
            "--no-deps",
            # The dists being replaced are already out of the venv (the transaction moved
            # them aside); --reinstall is for uv's cache: it implies --refresh, so a local
            # folder at an unchanged version is built again, never taken from the cache.
            "--reinstall",
            # Errors are shown to the user and matched below: no escape codes, even where
            # FORCE_COLOR is set.
            "--color=never",
            *(["--compile-bytecode"] if self._compile_bytecode else []),
            # uv's own cache links the same ways, under the same names (hardlink is its default).
            *([f"--link-mode={self._link_mode}"] if self._link_mode != "hardlink" else []),
            *extra,
        ]

    def _failure(self, output: str) -> InstallFailure:
        if _REFUSED.search(output):
            return "refused"
        if _HASH in output:
            return "hash"
        if any(marker in output for marker in _BUILD):
            return "build"
        if any(marker in output for marker in _UNREACHABLE):
            return "unreachable"
        return "other"
