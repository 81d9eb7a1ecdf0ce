"""``python -m envsync``."""

from __future__ import annotations

from envsync.cli import main

# Guarded: processes that unpack wheels start by importing this module again (spawn).
if __name__ == "__main__":
    raise SystemExit(main())
