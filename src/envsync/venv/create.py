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
import sys
from typing import TYPE_CHECKING, TypeVar

from envsync import interrupt
from envsync.errors import VenvError
from envsync.system import faults, removal
from envsync.system.process import clean_env, run
from envsync.venv import safety

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from pathlib import Path

    from envsync.venv.interpreters import Interpreter

__all__ = [
    "check_replaceable",
    "create_venv",
    "is_venv",
    "new_venv",
    "remove_stray_files",
    "seed",
    "venv_python",
]

_LOG = logging.getLogger("envsync.venv.create")
_P = TypeVar("_P")


def venv_python(root: Path) -> Path:
    """Return the venv's interpreter: ``bin/python``, or ``Scripts/python.exe`` on Windows."""
    if os.name == "nt":
        return root / "Scripts" / "python.exe"
    return root / "bin" / "python"


def seed(root: Path) -> None:
    """Put pip into the venv at *root* with its own Python's ``ensurepip`` (``seed = true``).

    ensurepip installs the pip wheel bundled with that Python: no index, no network, the
    same pip ``python -m venv`` would have given (and, before Python 3.12, setuptools too).
    """
    python = venv_python(root)
    argv = [str(python), "-I", "-m", "ensurepip", "--default-pip"]

    def failed(output: str) -> VenvError:
        return VenvError(
            f"could not put pip into {root} with its Python's ensurepip: {output}",
            hint="install your distribution's ensurepip (python3-venv on Debian and Ubuntu), "
            "or set seed = false in env.toml and use `envsync run -- python -m ...`",
        )

    run(argv, env=clean_env(), error=failed)


def is_venv(root: Path) -> bool:
    """Tell whether *root* holds a virtual environment (it has a ``pyvenv.cfg``)."""
    return (root / "pyvenv.cfg").is_file()


def create_venv(root: Path, interpreter: Interpreter) -> Callable[[], None]:
    """Create a venv at *root* with *interpreter*, without pip (see the module docstring).

    *root* must not exist, or be an empty folder (a mount point, say). Returns the function
    that undoes the creation: it deletes what this call made, and only that. If creation
    fails part way, that is done at once and a ``VenvError`` carries the tool's output.
    """
    undo = None
    try:
        # The folder made and its undo noted, or neither. A signal held that long is raised
        # as the block ends, so that is inside the try too: else nobody would undo it.
        with interrupt.deferred():
            undo = _make_root(root)
            faults.reached("venv-folder")  # a signal held here comes as the block ends
        _fill(root, interpreter)
    except BaseException:
        if undo is not None:
            with interrupt.deferred():  # half an undo helps no one
                undo()
        raise
    return undo


def _fill(root: Path, interpreter: Interpreter) -> None:
    """Make the venv in the folder *root* (made for it, or empty)."""
    argv = [str(interpreter.executable), "-I", "-m", "venv", "--without-pip", str(root)]
    if _is_running(interpreter):
        _create_here(root, interpreter)
    else:
        run(argv, env=clean_env(), error=lambda out: _creation_failed(root, interpreter, out))
    _check_created(root, interpreter)


def _make_root(root: Path) -> Callable[[], None]:
    """Make *root* ours: create it, or take an empty folder; how to undo that."""
    if root.is_symlink() or (root.exists() and not root.is_dir()):
        raise _in_the_way(root, "it is a file or a link")
    if root.exists():
        inside = sorted(entry.name for entry in root.iterdir())
        if inside:
            raise _in_the_way(root, f"it is a folder that holds {safety.describe(inside)}")
        made = removal.Owned(root, "made")  # empty: whatever appears in it is this run's
        return lambda: _empty(made)
    root.parent.mkdir(parents=True, exist_ok=True)
    try:
        made = removal.make_folder(root)
    except FileExistsError as exc:  # appeared since we looked: someone else's
        raise _in_the_way(root, "it appeared while envsync was about to create it") from exc
    return lambda: _quietly(removal.delete_tree, made)


def _in_the_way(root: Path, what: str) -> VenvError:
    return VenvError(
        f"cannot create a venv at {root}: {what}, and envsync does not replace what it "
        "did not make",
        hint="move it away, or set venv in env.toml ([env] venv) to another path",
    )


def _empty(made: removal.Owned) -> None:
    """Delete what was created in a folder that was empty before (it stays, empty)."""
    try:
        with os.scandir(made.root) as entries:
            found = [entry.path for entry in entries]
    except OSError:
        return
    for path in found:
        _quietly(lambda target: removal.delete(target, within=made), path)


def _quietly(remove: Callable[[_P], None], what: _P) -> None:
    """Best effort: this runs while another error is on its way to the user."""
    try:
        remove(what)
    except OSError as exc:
        _LOG.warning("could not remove all of %s: %s", what, exc)


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


@contextlib.contextmanager
def new_venv(root: Path, interpreter: Interpreter, *, replace: bool) -> Iterator[None]:
    """Create (or, with *replace*, recreate) the venv at *root* for the ``with`` block.

    A venv is replaced only while it holds nothing but its layout and its packages' files:
    anything else is the user's, and is named in the error. The old venv is moved aside
    first and deleted only once the new one exists and the block succeeded; if the block
    fails, the new venv is removed and the old one put back. The new venv is built at *root*
    itself rather than beside it, because venv writes its absolute path into its scripts.
    """
    if replace and root.exists():
        check_replaceable(root)  # before anything moves: what is the user's stops it all
    old = undo = None
    try:
        # Each step and its undo noted together, or neither. A signal held that long is
        # raised as the block ends, so that is inside the try too: else nobody would undo
        # the new folder, nor put the old venv back.
        with interrupt.deferred():
            old = _move_aside(root) if replace and root.exists() else None
            undo = _make_root(root)
            faults.reached("venv-folder")  # a signal held here comes as the block ends
        _fill(root, interpreter)
        yield
    except BaseException:
        with interrupt.deferred():  # half an undo helps no one
            if undo is not None:
                undo()
            if old is not None:
                removal.put_back(old, root)
        raise
    if old is not None:
        _quietly(removal.delete_tree, old)


def check_replaceable(root: Path) -> None:
    """Refuse to replace the venv at *root* when it holds files that are not a venv's."""
    if not is_venv(root) or root.is_symlink():
        raise VenvError(
            f"{root} is not a venv envsync can replace (no pyvenv.cfg, or a link)",
            hint="move it away, or set venv in env.toml ([env] venv) to another path",
        )
    unknown = safety.unknown_files(root)
    if unknown:
        raise VenvError(
            f"{root} has to be made again, but it holds files that are not the venv's or "
            f"its packages': {safety.describe(unknown)}",
            hint="move those files out of the venv (envsync never deletes what it did not "
            "make), then run again",
        )


def _move_aside(root: Path) -> removal.Owned:
    try:
        return removal.move_aside(removal.Owned.venv(root))
    except OSError as exc:
        raise VenvError(f"cannot move {root} aside to replace it: {exc}") from exc


def _creation_failed(root: Path, interpreter: Interpreter, output: str) -> VenvError:
    """Build the error for a failed ``python -m venv``."""
    detail = f":\n{output}" if output else ""
    return VenvError(
        f"could not create a venv at {root} with {interpreter.executable}{detail}",
        hint="check that the interpreter works and includes the venv module "
        "(some Linux distributions ship it separately, e.g. python3-venv)",
    )


def remove_stray_files(root: Path, site_packages: Iterable[Path], paths: Iterable[str]) -> None:
    """Delete files that no RECORD lists (``drift`` calls them unrecorded) from the venv.

    pip's uninstall removes only recorded files, so without this a package reinstalled by
    ``apply --verify`` would keep the stray file and never verify clean. Links are removed,
    never followed.
    """
    owned = removal.Owned.venv(root)
    for relative in paths:
        for base in site_packages:
            target = base / relative
            if owned.contains(target) and (target.is_symlink() or target.is_file()):
                removal.delete(target, within=owned)
