"""Compiling installed modules to bytecode in the venv's own interpreter. SUBPROCESS.

Only on request (``compile-bytecode = true``): Python compiles modules on first import
anyway. One process per CPU, each given an equal share of the files, because compiling is
CPU-bound and one process per file would cost more in start-up than the compiling. The
``.pyc`` files are added to their dists' RECORD, as pip adds them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, cast

from envsync.errors import EnvsyncError, InstallError
from envsync.system import removal
from envsync.system.parallel import parallel
from envsync.system.process import Runner, clean_env
from envsync.venv.distinfo import inside

if TYPE_CHECKING:
    from collections.abc import Sequence

    from envsync.install.destination import Destination
    from envsync.venv.environment import VenvInfo

__all__ = ["compile_installed"]

# Runs in the venv's interpreter: compile the files listed in argv[1]; print each one's .pyc
# (null when it did not compile: pip skips those too).
_COMPILE = """\
import compileall, importlib.util, json, sys, warnings
warnings.simplefilter("ignore")
with open(sys.argv[1]) as fh:
    paths = json.load(fh)
print(json.dumps([
    importlib.util.cache_from_source(p) if compileall.compile_file(p, force=True, quiet=2)
    else None
    for p in paths
]))
"""


def compile_installed(venv: VenvInfo, done: Sequence[Destination], runner: Runner) -> None:
    """Compile every module *done* installed in site-packages; record each .pyc with its dist."""
    libs = [os.fspath(lib) for lib in dict.fromkeys((venv.purelib, venv.platlib))]
    owners = {
        path: dest
        for dest in done
        for path in dest.written
        if path.endswith(".py") and any(inside(lib, path) for lib in libs)
    }
    if not owners:
        return
    shares = _shares(sorted(owners), os.cpu_count() or 1)
    with removal.temporary_folder("envsync-compile-") as folder:
        compiled = parallel(
            lambda share: _compile_share(venv, runner, Path(folder), *share), enumerate(shares)
        )
    written: dict[int, list[str]] = {}
    for share, pycs in zip(shares, compiled, strict=True):
        for source, pyc in zip(share, pycs, strict=True):
            if pyc:  # None: it did not compile (pip skips those too)
                written.setdefault(id(owners[source]), []).append(pyc)
    for dest in done:
        dest.add_to_record(written.get(id(dest), []))


def _shares(items: Sequence[str], count: int) -> list[Sequence[str]]:
    """*items* dealt round-robin into at most *count* non-empty shares."""
    return [share for share in (items[start::count] for start in range(count)) if share]


def _compile_share(
    venv: VenvInfo, runner: Runner, folder: Path, number: int, sources: Sequence[str]
) -> list[str | None]:
    """Compile one share of the files in one process; each one's .pyc, or None."""
    listing = folder / f"files-{number}.json"
    listing.write_text(json.dumps(list(sources)), "utf-8")
    argv = [os.fspath(venv.python), "-I", "-c", _COMPILE, os.fspath(listing)]
    proc = runner(argv, error=_compile_failed, env=clean_env())
    return cast("list[str | None]", json.loads(proc.stdout))


def _compile_failed(output: str) -> EnvsyncError:
    return InstallError(f"could not compile the installed modules to bytecode:\n{output}")
