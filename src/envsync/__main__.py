"""``python -m envsync``."""

from __future__ import annotations

from envsync.cli import main

raise SystemExit(main())
