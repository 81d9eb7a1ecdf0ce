"""The command line. ``main(argv)`` is the entry point (console script ``envsync``)."""

from __future__ import annotations

from envsync.cli._main import main

__all__ = ["main"]
