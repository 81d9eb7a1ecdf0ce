"""Putting a cached file into a venv: a hard link, a copy-on-write clone, or a copy. FILES.

``[env] link-mode`` chooses. Hard links share the cache's file with every venv linked from
it; clones and copies give each venv its own. Hard links and clones fall back to copies
where the filesystem cannot make them.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sys
from typing import TYPE_CHECKING

from envsync.errors import InstallError
from envsync.system import removal

if TYPE_CHECKING:
    from collections.abc import Callable

    from envsync.core.spec import LinkMode

__all__ = ["Linker"]

_LOG = logging.getLogger("envsync.install.linking")


class Linker:
    """Puts cache files into one venv as ``[env] link-mode`` says: hard links, clones or copies.

    Hard links and clones fall back to copies, for good, at the first file the filesystem
    refuses (another filesystem than the cache's, or one without hard links or reflinks).
    It remembers the folders it checked and made, so each is done once, not once per file.
    A folder reached through a link that leads out of the venv is refused: envsync writes
    only inside the venv, and replaces a file only through the guarded deleter.
    """

    def __init__(self, owned: removal.Owned, mode: LinkMode = "hardlink") -> None:
        self.owned = owned
        makers: dict[LinkMode, Callable[[str, str], object] | None] = {
            "hardlink": _hardlink,
            "clone": self._clone,
            "copy": None,
        }
        self._make = makers[mode]
        self._mode = mode
        self._folders: set[str] = set()

    def folder_for(self, target: str) -> None:
        """Make sure *target*'s folder exists, inside the venv."""
        folder = os.path.dirname(target)  # noqa: PTH120 - strings: this runs once per file
        if folder not in self._folders:
            if not self.owned.contains(target):
                raise InstallError(
                    f"refusing to write {target}: a folder on its way is a link that leads "
                    f"out of the venv {self.owned.root}",
                    hint="replace that link with a folder (or remove it) and run again",
                )
            os.makedirs(folder, exist_ok=True)  # noqa: PTH103 - exist_ok: threads may race
            self._folders.add(folder)

    def place(self, source: str, target: str) -> None:
        """Make *target* a file with *source*'s content and mode, replacing what is there."""
        if self._make is not None:
            try:
                self.replacing(self._make, source, target)
            except OSError as exc:  # another filesystem, or one without links or reflinks
                _LOG.debug("copying instead of the link mode %s (%s)", self._mode, exc)
                self._make = None
            else:
                return
        self.replacing(shutil.copy, source, target)

    def replacing(self, make: Callable[[str, str], object], source: str, target: str) -> None:
        """``make(source, target)``; a file already at *target* is removed first, as pip does.

        Removing (never opening for write) matters: the old file may be a hard link into the
        cache. Trying first saves a system call per file in the usual case, a fresh target.
        """
        try:
            make(source, target)
        except FileExistsError:
            removal.delete(target, within=self.owned)
            make(source, target)

    def _clone(self, source: str, target: str) -> None:
        """Make *target* a copy-on-write clone of *source*; OSError where there are none."""
        if sys.platform != "linux":
            raise OSError(errno.EOPNOTSUPP, "reflinks are used on Linux only")
        import fcntl  # noqa: PLC0415 - POSIX only, and only for link-mode = "clone"

        with open(source, "rb") as src:  # noqa: PTH123 - strings: this runs once per file
            handle = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                fcntl.ioctl(handle, _FICLONE, src.fileno())
            except OSError:
                removal.delete(target, within=self.owned)  # the empty file just made
                raise
            finally:
                os.close(handle)
        shutil.copymode(source, target)


#: Linux's FICLONE ioctl (``_IOW(0x94, 9, int)``): the target shares the source's blocks
#: until either is written (btrfs, XFS, bcachefs, overlayfs over those).
_FICLONE = 0x40049409


def _hardlink(source: str, target: str) -> None:
    """``os.link``, looked up when called (so a stand-in for it, as in the tests, is used)."""
    os.link(source, target)
