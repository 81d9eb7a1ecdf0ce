"""Whether a stream gets colour: one answer for the full command line and the fast paths.

Only ``os``: the fast paths ask before anything else is imported.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (5 ms): start-up path

if TYPE_CHECKING:
    from typing import TextIO

__all__ = ["use_color"]


def use_color(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
