"""Other tools' dependency files -> env.toml text, for ``envsync init``. PURE.

Two sources are understood: pip requirements files (with ``-r`` includes, ``-e`` folders and
index options) and pyproject.toml (``[project]`` and PEP 735 ``[dependency-groups]``). Every
file is read by the caller: requirements files reach the files they name through a
``Reader``, so this module only parses, merges and renders.
"""

from __future__ import annotations

from envsync.core.importers._model import Imported, ImportSourceError, LocalSource, Reader
from envsync.core.importers._pyproject import from_pyproject
from envsync.core.importers._render import render, template
from envsync.core.importers._requirements import from_requirements

__all__ = [
    "ImportSourceError",
    "Imported",
    "LocalSource",
    "Reader",
    "from_pyproject",
    "from_requirements",
    "render",
    "template",
]
