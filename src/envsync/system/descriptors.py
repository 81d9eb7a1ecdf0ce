"""Writing to a file descriptor until all of it is written. FILES.

``os.write`` may take only a part of what it is given (a pipe's buffer, a signal): the
unpacker writes each wheel member this way, and a replica's helper its answer. Only ``os``:
the replay path loads this.
"""

from __future__ import annotations

import os

__all__ = ["write_all"]


def write_all(out: int, data: bytes) -> None:
    """Write all of *data* to the file descriptor *out*.

    One call in the usual case; a part left over is written from a view, not copied again.
    """
    written = os.write(out, data)
    if written < len(data):
        view = memoryview(data)[written:]
        while view:
            view = view[os.write(out, view) :]
