"""The pip backend: envsync's own pip, pointed at the venv. SUBPROCESS.

pip runs against the target venv via ``pip --python``, so venvs need no pip of their own. It
is handed the exact artifacts with ``--no-deps --require-hashes`` (see protocol). The locked
URLs carry no credentials: pip gets those of the indexes' hosts through a private netrc file
(see index.pipaccess.pip_access).
"""

from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING

from envsync.core.pipoutput import classify
from envsync.install.protocol import RequirementsInstaller
from envsync.system.process import Runner, run

if TYPE_CHECKING:
    from pathlib import Path

    from envsync.install.protocol import InstallFailure

__all__ = ["PipInstaller"]

# pip's words for a download an index refused: "HTTP error 401 while getting URL" and
# requests' "401 Client Error: Unauthorized for url: URL".
_REFUSED = re.compile(r"HTTP error 40[13]\b|\b40[13] Client Error")


class PipInstaller(RequirementsInstaller):
    """Installs with pip (envsync's own, pointed at the venv with ``--python``)."""

    tool = "pip"
    hash_in_url = True  # pip's cache of built wheels is keyed by it (see requirement_line)

    def __init__(self, *, runner: Runner = run, pip_python: Path | None = None) -> None:
        super().__init__(runner=runner)
        self._pip = [os.fspath(pip_python or sys.executable), "-m", "pip"]

    def _install_argv(self, python: Path, extra: list[str]) -> list[str]:
        # No --force-reinstall: the dists being replaced are already out of the venv (the
        # transaction moved them aside), so pip never finds one "already satisfied".
        return [
            *self._pip,
            "--python",
            os.fspath(python),
            "install",
            "--no-deps",
            "--no-warn-script-location",
            "--no-warn-conflicts",
            "--root-user-action=ignore",
            *extra,
        ]

    def _failure(self, output: str) -> InstallFailure:
        if _REFUSED.search(output):
            return "refused"
        kind = classify(output)
        return kind if kind in ("hash", "build", "unreachable") else "other"
