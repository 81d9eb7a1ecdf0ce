"""``envsync init``: write a starter env.toml, or one made from requirements.txt or pyproject.toml.

The files are read here; ``envsync.importers`` does the parsing and rendering, and reaches
the files a requirements file names (``-r``, ``-e`` folders) through ``DiskReader``.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from envsync.core import importers
from envsync.errors import EXIT_OK, EnvsyncError
from envsync.usecases import project

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

if TYPE_CHECKING:
    import argparse

    from envsync.cli._context import Context

__all__ = ["DiskReader", "SpecExistsError", "configure", "run"]


class SpecExistsError(EnvsyncError):
    """init would overwrite an env.toml that is already there."""

    code = "spec-exists"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add init's options."""
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        metavar="FILE",
        help="import FILE: a pip requirements file, or a pyproject.toml "
        "(the project itself, editable; dependencies, extras as groups, [dependency-groups], "
        "requires-python)",
    )
    parser.add_argument(
        "--python",
        metavar="SPEC",
        help="the [env] python to write (default: requires-python from a pyproject.toml, "
        "else >=X.Y of the Python running envsync)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing env.toml")
    parser.add_argument(
        "--no-project",
        action="store_true",
        help="with --from pyproject.toml: leave the project itself out (by default it is a "
        "dependency, installed editable from its folder)",
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Write env.toml (never over an existing one without --force) and say so."""
    path: Path = args.spec
    if path.exists() and not args.force:
        msg = f"{path} already exists; init does not overwrite it"
        raise SpecExistsError(msg, hint="pass --force to replace it, or --spec to write elsewhere")
    target = path.absolute()
    text, warnings = _spec_text(args, target)
    for warning in warnings:
        ctx.warn(warning)
    target.parent.mkdir(parents=True, exist_ok=True)
    project.write_spec(target, text)
    origin = f" from {args.source}" if args.source else ""
    ctx.write(f"Wrote {path}{origin}. Run `envsync apply` to lock it and create the venv.")
    return EXIT_OK


def _spec_text(args: argparse.Namespace, target: Path) -> tuple[str, tuple[str, ...]]:
    """The env.toml text to write, and the warnings about what was dropped."""
    default = args.python or f">={sys.version_info.major}.{sys.version_info.minor}"
    source: Path | None = args.source
    if source is None:
        return importers.template(python=default, path=target), ()
    text = _read(source)
    reader = DiskReader(target.parent)
    if source.name == "pyproject.toml":
        # The project's own folder, as env.toml spells it, for its editable [sources] entry.
        folder = None if args.no_project else reader.path(".", within=str(source))
        imported = importers.from_pyproject(text, name=str(source), project=folder)
    else:
        imported = importers.from_requirements(text, name=str(source), reader=reader)
    python = args.python or imported.python or default
    return importers.render(imported, python=python, path=target), imported.warnings


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except FileNotFoundError:
        raise EnvsyncError(f"{path} was not found", hint="check the path given to --from") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        msg = f"cannot read {path}: line {line} is not UTF-8 ({exc.reason}: byte {exc.start})"
        raise EnvsyncError(msg, hint="save the file as UTF-8 and run init again") from None
    except OSError as exc:
        raise EnvsyncError(f"cannot read {path}: {exc}") from exc


class DiskReader:
    """``importers.Reader`` on this machine's files; paths are rewritten relative to *root*."""

    def __init__(self, root: Path) -> None:
        self.root = root
        """The folder env.toml goes in: what the paths written into it are relative to."""

    def read(self, reference: str, *, within: str) -> tuple[str, str]:
        """Read *reference*, a path relative to the file *within*."""
        path = _beside(reference, within)
        if "\0" in reference:  # open() would raise ValueError: no file has such a name
            raise FileNotFoundError(errno.ENOENT, "no file name holds a NUL character", reference)
        return str(path), path.read_text("utf-8")

    def path(self, reference: str, *, within: str) -> str:
        """*reference* relative to env.toml's folder (absolute paths stay absolute)."""
        if Path(reference).is_absolute():
            return reference
        folder = _beside(reference, within).absolute()
        return Path(os.path.relpath(folder, self.root)).as_posix()

    def project_name(self, reference: str, *, within: str) -> str | None:
        """``[project] name`` of the folder's pyproject.toml, if it can be read."""
        pyproject = _beside(reference, within) / "pyproject.toml"
        try:
            data = tomllib.loads(pyproject.read_text("utf-8"))
        # ValueError: not UTF-8, not TOML, a NUL in the path, a 5000-digit number.
        except (OSError, ValueError, RecursionError):
            return None
        project = data.get("project")
        name = project.get("name") if isinstance(project, dict) else None
        return name if isinstance(name, str) else None


def _beside(reference: str, within: str) -> Path:
    """*reference* taken relative to the folder of the file *within*, normalized."""
    return Path(os.path.normpath(Path(within).parent / reference))
