"""Create or replace a virtual environment. The only module that does either.

New venvs get no pip: envsync installs with its own pip through ``pip --python <venv>``,
which takes a fraction of the time ``ensurepip`` needs and leaves nothing in the venv that
the lock did not ask for. The venv is made by the interpreter's own ``venv`` module: in a new
process (``python -m venv``), or, when that interpreter is the one running envsync, in this
process, which saves the 40 ms of starting it (the same module, the same result; only the
``command`` line of pyvenv.cfg names envsync's interpreter path).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import sys
from typing import TYPE_CHECKING

from envsync._subprocess import clean_env, run
from envsync.errors import VenvError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

    from envsync.interpreters import Interpreter

__all__ = [
    "create_venv",
    "is_venv",
    "new_venv",
    "recreate_venv",
    "remove_stray_files",
    "venv_python",
]

_LOG = logging.getLogger("envsync.venv")


def venv_python(root: Path) -> Path:
    """Return the venv's interpreter: ``bin/python``, or ``Scripts/python.exe`` on Windows."""
    if os.name == "nt":
        return root / "Scripts" / "python.exe"
    return root / "bin" / "python"


def is_venv(root: Path) -> bool:
    """Tell whether *root* holds a virtual environment (it has a ``pyvenv.cfg``)."""
    return (root / "pyvenv.cfg").is_file()


def create_venv(root: Path, interpreter: Interpreter) -> None:
    """Create a venv at *root* with *interpreter*, without pip (see the module docstring).

    *root* must not exist. If creation fails part way, the partial folder is removed and a
    ``VenvError`` carries the tool's output.
    """
    if root.exists() or root.is_symlink():
        raise VenvError(f"cannot create a venv at {root}: the path already exists")
    argv = [str(interpreter.executable), "-I", "-m", "venv", "--without-pip", str(root)]
    try:
        if _is_running(interpreter):
            _create_here(root, interpreter)
        else:
            run(argv, env=clean_env(), error=lambda out: _creation_failed(root, interpreter, out))
        _check_created(root, interpreter)
    except BaseException:
        _remove(root)
        raise


def _is_running(interpreter: Interpreter) -> bool:
    """Whether *interpreter* is the one running envsync (the base, when envsync is in a venv)."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    running = ".".join(map(str, sys.version_info[:3]))
    try:
        same = interpreter.executable.samefile(base)
    except OSError:
        return False
    return same and sys.version_info.releaselevel == "final" and str(interpreter.version) == running


def _create_here(root: Path, interpreter: Interpreter) -> None:
    """``python -m venv --without-pip root``, run in this process."""
    import venv  # noqa: PLC0415 - the standard library's; needed only here

    try:
        venv.EnvBuilder(symlinks=os.name != "nt", with_pip=False).create(os.fspath(root))
    except (OSError, ValueError) as exc:
        raise _creation_failed(root, interpreter, str(exc)) from exc


def _check_created(root: Path, interpreter: Interpreter) -> None:
    """Raise if ``venv`` exited 0 without making the interpreter (seen with broken builds)."""
    if not venv_python(root).exists():
        raise _creation_failed(root, interpreter, f"{venv_python(root)} was not created")


def recreate_venv(root: Path, interpreter: Interpreter) -> None:
    """Replace the venv at *root* with a fresh one made by *interpreter*.

    The old venv is moved aside first and only deleted once the new one exists; if creation
    fails, the old one is moved back. The new venv is built at *root* itself rather than
    beside it, because venv writes its absolute path into the activation scripts.
    """
    with new_venv(root, interpreter, replace=True):
        pass


@contextlib.contextmanager
def new_venv(root: Path, interpreter: Interpreter, *, replace: bool) -> Iterator[None]:
    """Create (or, with *replace*, recreate) the venv at *root* for the ``with`` block.

    If the block fails, the new venv is removed and the old one, if any, put back: a venv
    that apply made and then could not fill never replaces a working one.
    """
    old = _move_aside(root) if replace and root.exists() else None
    try:
        create_venv(root, interpreter)
        yield
    except BaseException:
        _remove(root)
        if old is not None:
            old.rename(root)
        raise
    if old is not None:
        _remove(old)


def _move_aside(root: Path) -> Path:
    old = root.with_name(f".{root.name}.old-{secrets.token_hex(4)}")
    try:
        root.rename(old)
    except OSError as exc:
        raise VenvError(f"cannot move {root} aside to replace it: {exc}") from exc
    return old


def _creation_failed(root: Path, interpreter: Interpreter, output: str) -> VenvError:
    """Build the error for a failed ``python -m venv``."""
    detail = f":\n{output}" if output else ""
    return VenvError(
        f"could not create a venv at {root} with {interpreter.executable}{detail}",
        hint="check that the interpreter works and includes the venv module "
        "(some Linux distributions ship it separately, e.g. python3-venv)",
    )


def _remove(path: Path) -> None:
    """Delete *path* if it exists; a leftover is logged, never fatal."""
    if path.is_symlink() or path.is_file():
        with contextlib.suppress(OSError):
            path.unlink()
    elif path.exists():
        # Best effort: this also runs while another error is on its way to the user.
        shutil.rmtree(path, ignore_errors=True)
    if path.exists():
        _LOG.warning("could not remove %s completely", path)


def remove_stray_files(site_packages: Iterable[Path], paths: Iterable[str]) -> None:
    """Delete files that no RECORD lists (``drift`` calls them unrecorded).

    pip's uninstall removes only recorded files, so without this a package reinstalled by
    ``apply --verify`` would keep the stray file and never verify clean.
    """
    bases = [base.resolve() for base in site_packages]
    for relative in paths:
        for base in bases:
            target = (base / relative).resolve()
            if target.is_relative_to(base) and target.is_file():
                target.unlink()
