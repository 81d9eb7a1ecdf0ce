"""The probe an interpreter runs to say what it is, its command line and its cache key. VENV.

``environment`` runs it (and reads its answer); ``earlyprobe`` starts it before the full path
loads. Only what both need, and nothing heavy: the start-up path imports this.
"""

# ruff: noqa: PTH118 - os.path: the start-up path
from __future__ import annotations

import os
import sys
from importlib.util import MAGIC_NUMBER

from envsync.system.shims import pycache_dir, shim_dir
from envsync.venv import probecache

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from typing import Any

__all__ = ["SCRIPT", "VENV_HERE", "argv", "kept", "venv_identity"]

# Runs inside the venv's interpreter: argv[1] holds only `packaging`, argv[2] takes bytecode.
# Kept to syntax any Python 3 parses, so a too-old one still answers with a readable error.
# An interpreter that reads the bytecode envsync's own reads (argv[4]) uses what envsync's
# own imports keep beside packaging: with an empty cache, compiling packaging into argv[2]
# took the probe from 70 to 200 ms, on the path of every first apply.
SCRIPT = """\
import json, os, sys, sysconfig
from importlib.util import MAGIC_NUMBER
sys.path.insert(0, sys.argv[1])
if "%s:%s" % (sys.implementation.cache_tag, MAGIC_NUMBER.hex()) != sys.argv[4]:
    sys.pycache_prefix = sys.argv[2]
try:
    from packaging import markers, tags
except Exception as exc:
    print(json.dumps({"error": "%s: %s" % (type(exc).__name__, exc), "python": sys.version}))
    raise SystemExit(0)
base = getattr(sys, "_base_executable", None) or sys.executable
if base == sys.executable:
    # Before 3.11, POSIX venvs report themselves; their python links to the base.
    base = os.path.realpath(sys.executable)
paths = sysconfig.get_paths()
# Where a venv made from this interpreter puts files, with a placeholder for its folder: the
# venv module asks sysconfig the same way (3.11+), and before 3.11 a venv used posix_prefix.
names = sysconfig.get_scheme_names()
scheme = "venv" if "venv" in names else ("nt" if os.name == "nt" else "posix_prefix")
here = sys.argv[3]
venv_paths = sysconfig.get_paths(scheme, vars={
    "base": here, "platbase": here, "installed_base": here, "installed_platbase": here,
})
print(json.dumps({
    "purelib": paths["purelib"],
    "platlib": paths["platlib"],
    "scripts": paths["scripts"],
    "data": paths["data"],
    "markers": markers.default_environment(),
    "tags": [str(tag) for tag in tags.sys_tags()],
    "base_executable": base,
    "venv_paths": {key: venv_paths[key] for key in ("purelib", "platlib", "scripts", "data")},
}))
"""

#: The bytecode this interpreter reads: its cache tag and magic number (see SCRIPT).
_BYTECODE = f"{sys.implementation.cache_tag}:{MAGIC_NUMBER.hex()}"
#: Stands for the venv's folder in the probe's ``venv_paths``.
VENV_HERE = "/@envsync-venv@"


def argv(python: str) -> list[str]:
    """The command line that probes *python*: the same wherever it is started from."""
    shim, bytecode = str(shim_dir(["packaging"])), str(pycache_dir())
    return [python, "-I", "-c", SCRIPT, shim, bytecode, VENV_HERE, _BYTECODE]


def venv_identity(root: str) -> tuple[object, ...]:
    """What a venv's stored probe is kept under besides its interpreter: made again, it differs."""
    return (root, probecache.identity(os.path.join(root, "pyvenv.cfg")), SCRIPT)


def kept(python: str | os.PathLike[str], extra: tuple[object, ...]) -> dict[str, Any] | None:
    """The answer ``probecache`` keeps for *python* under *extra* (``venv_identity``).

    None when none is kept, or what is kept is an error: the probe is to be run.
    """
    stored = probecache.load("venv", python, *extra)
    return stored if isinstance(stored, dict) and "error" not in stored else None
