"""``envsync --help``'s text, answered before argparse and the commands are imported.

argparse's own output for this parser, kept as text: building it costs argparse, textwrap and
re (~15 ms, more than Python's own start-up). It is the same at every terminal width from
``MIN_COLUMNS`` up; narrower terminals get argparse itself. A test holds the text equal to
argparse's at every width it claims, so a changed command or help line fails until this is
written again (the test prints the new text).
"""

from __future__ import annotations

import os
import sys

__all__ = ["HELP", "MIN_COLUMNS", "columns"]

MIN_COLUMNS = 54
"""The narrowest terminal at which argparse prints exactly ``HELP``."""

HELP = """\
usage: envsync [-h] [--version] COMMAND ...

Make a virtual environment match env.toml exactly, through pylock.toml.

project (env.toml):
  init     write a starter env.toml, or one made from a requirements file or
           pyproject.toml
  add      add requirements to env.toml (comments and formatting kept), then
           lock and apply
  remove   remove requirements from env.toml, then lock and apply

environment (the venvs):
  apply    lock if needed, create the venv if needed, and make it match the
           lock exactly
  plan     show what apply would change (venv, lock, packages); changes nothing
  check    exit 0 if pylock.toml is fresh and the venv equals it, 2 if not, 1
           on error
  run      run a command in the environment (synced first), as if it were
           activated
  envs     list env.toml's environments with their venv, Python, groups and
           state (reads only)

lock (pylock.toml):
  lock     resolve env.toml into pylock.toml (a fresh lock is kept as it is)
  upgrade  lock again with some packages (or all) unpinned, then apply
  export   write what pylock.toml installs here as a requirements file with
           hashes, or an SBOM

inspection and upkeep:
  why      show why pylock.toml installs a package: each path from env.toml,
           with its requirements
  tree     show what pylock.toml installs as a tree (--depth N, --invert), from
           the lock alone
  cache    look after the wheel cache: dir, verify [--fix], prune [--all],
           clean

positional arguments:
  COMMAND     one of the commands above

options:
  -h, --help  show this help message and exit
  --version   show program's version number and exit

exit codes: 0 ok; 1 error; 2 out of sync (check, plan --detailed-exitcode); 64
bad command line; 127 run: command not found; 130 interrupted; 143 terminated
"""


def columns() -> int:
    """The terminal width argparse's help formatter sees, by shutil's rule, without shutil.

    ``shutil.get_terminal_size``: COLUMNS if a positive number, else the width of stdout's
    terminal, else 80.
    """
    try:
        found = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        found = 0
    if found > 0:
        return found
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80
