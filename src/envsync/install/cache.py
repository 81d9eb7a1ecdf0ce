"""A content-addressed store of wheels, shared by every project of the user. FILES + NETWORK.

Layout under ``cache_dir()``::

    wheels/<sha256[:2]>/<sha256>/<filename>   a downloaded file, named by the lock's hash
    unpacked/<sha256>/files/...               the same wheel unpacked, for hard-linking
    unpacked/<sha256>/manifest.json           each unpacked file's hash, size, mode and mtime
    vcs/<key>/<filename>                      a git commit's wheel, built once (see vcs)
    tmp/                                      downloads in progress (same filesystem: atomic)
    pages/, probes/, lock-state/              index pages, interpreter answers, lock states

A file is trusted only while it still hashes to its name: a cached wheel is re-hashed on every
use, and a corrupted one is discarded and downloaded again. Unpacked files are hard-linked into
venvs, so an edit in a venv edits the cache too: a file whose size, mode or mtime no longer
matches the manifest makes the whole tree be unpacked again (``apply --verify`` re-hashes
every byte too). Every entry appears by one rename,
so a crash or a second envsync running at the same time never leaves a half-written entry.

Downloading and checking a file is ``download``'s job, unpacking one ``unpack``'s, and
unpacking a batch in helper processes ``unpackworkers``'s; this module decides where each
entry lives, when it is still good, and how it appears and goes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from envsync.errors import EnvsyncError, InstallError, printable
from envsync.install import unpack
from envsync.system import removal
from envsync.system.cachedir import cache_root
from envsync.system.hashing import hash_file

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from envsync.core.lockfile import Artifact
    from envsync.index.connections import Connections
    from envsync.install.download import UpstreamLookup
    from envsync.install.unpack import Tree

__all__ = ["SUBFOLDERS", "Cache", "cache_dir"]

_LOG = logging.getLogger("envsync.install.cache")

#: Every folder envsync keeps in its cache (``envsync cache clean`` removes only these).
SUBFOLDERS = frozenset(
    {"wheels", "unpacked", "tmp", "pages", "probes", "lock-state", "vcs", "replay"}
)


def cache_dir() -> Path:
    """``$ENVSYNC_CACHE_DIR``, else ``$XDG_CACHE_HOME/envsync``, else ``~/.cache/envsync``."""
    return Path(cache_root())


@dataclass(frozen=True, slots=True)
class Cache:
    """The cache at *root* (``cache_dir()`` by default)."""

    root: Path
    """The cache folder."""

    @classmethod
    def default(cls) -> Cache:
        """The user's cache."""
        return cls(cache_dir())

    def wheel_path(self, sha256: str, filename: str) -> Path:
        """Where the file with this hash and name is kept."""
        return self.root / "wheels" / sha256[:2] / sha256 / filename

    # -- downloaded files -------------------------------------------------------------------

    def fetch(
        self, artifact: Artifact, lookup: UpstreamLookup, connections: Connections | None = None
    ) -> Path:
        """The cached file of *artifact*, downloaded and checked against its sha256 if need be.

        A cached file that no longer has its hash is discarded and fetched again. A download
        cut short is tried again (see ``retry``); one that arrived whole but whose hash differs
        from the lock's raises HashMismatchError. Neither leaves anything behind.
        """
        # The network side is imported where it is used: the helper processes that unpack
        # (unpackworkers) import this module and never download (http.client, ~45 ms each).
        from envsync.install.download import download_checked, identity  # noqa: PLC0415

        sha256, filename = identity(artifact)
        path = self.wheel_path(sha256, filename)
        if path.is_file():
            if hash_file(path) == sha256:
                return path
            _LOG.warning("discarding %s from the cache: its content changed", path)
            removal.delete(path, within=self._owned())
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=self.root / "tmp", prefix=f"{filename}.")
        try:
            with os.fdopen(handle, "wb") as out:
                download_checked(artifact, out, lookup, connections)
            path.parent.mkdir(parents=True, exist_ok=True)
            removal.move(partial, path, within=self._owned())
        finally:
            removal.delete(partial, within=self._owned())
        return path

    # -- unpacked wheels --------------------------------------------------------------------

    def tree(self, sha256: str, *, rehash: bool = False) -> Tree | None:
        """The wheel with this hash as unpacked earlier, if every file is as it was unpacked.

        Usually a file's size, mode and mtime vouch for it. With *rehash* (``--verify``)
        every byte is hashed too, and an entry with a file changed in place (bit rot, an
        edit that kept the mtime) is discarded, so that it is unpacked again from the wheel.
        """
        folder = self.root / "unpacked" / sha256
        tree = unpack.load(folder)
        if tree is not None and rehash and (changed := unpack.changed_files(tree)):
            _LOG.warning(
                "unpacking %s again: %s changed in the cache",
                tree.wheel,
                printable(changed[0], one_line=True),
            )
            self._discard(folder)
            return None
        return tree

    def unpacked(self, wheel: Path, sha256: str) -> Tree:
        """*wheel* (whose hash is *sha256*) unpacked once in the cache, checked on every use."""
        target = self.root / "unpacked" / sha256
        target.parent.mkdir(parents=True, exist_ok=True)
        tree = unpack.load(target)
        if tree is not None:
            return tree
        if target.exists():
            _LOG.warning("unpacking %s again: a file of its cached copy changed", wheel.name)
            self._discard(target)
        building = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
        try:
            unpack.extract(wheel, building, unpack.Limits.from_environment())
            removal.move(building, target, within=self._owned())
        except OSError:
            if unpack.load(target) is None:  # not a lost race with another envsync: a real failure
                raise
        finally:
            with contextlib.suppress(OSError):
                removal.delete(building, within=self._owned())
        tree = unpack.load(target)
        if tree is None:
            raise InstallError(f"could not unpack {wheel.name} into the cache at {target}")
        return tree

    def unpack_quietly(self, wheel: Path, sha256: str) -> None:
        """``unpacked``, for a helper process: a failure is left to the caller to find again.

        The caller unpacks a wheel whose entry is missing itself, and reports its error.
        """
        with contextlib.suppress(Exception):
            self.unpacked(wheel, sha256)

    def fetch_and_unpack(
        self,
        artifacts: Sequence[Artifact],
        lookup: UpstreamLookup,
        done: Callable[[], None] = lambda: None,
        connections: Connections | None = None,
    ) -> list[Tree]:
        """Each artifact downloaded, checked and unpacked; *done* is called as each is ready.

        A batch is unpacked by helper processes while the downloads run (``unpackworkers``).
        """
        from envsync.install import unpackworkers  # noqa: PLC0415 - see fetch

        return unpackworkers.fetch_and_unpack(self, artifacts, lookup, done, connections)

    # -- removing ---------------------------------------------------------------------------

    def remove(self, path: Path) -> None:
        """Delete *path*, a file or folder inside this cache; symlinks are removed, not followed.

        The one way ``envsync cache`` deletes, through the guarded deleter: a path outside the
        cache, or reached through a symlinked folder (which could lead out of it), is refused.
        """
        owned = self._owned()
        if not owned.contains(path):
            raise EnvsyncError(f"envsync does not delete {path}: it is not inside {self.root}")
        if path.is_symlink() or not path.is_dir():
            removal.delete(path, within=owned)
        else:
            self._discard(path)

    def remove_root(self) -> None:
        """Delete the cache folder itself, once ``remove`` has emptied it."""
        if not removal.delete_empty_root(self._owned()):
            raise EnvsyncError(f"envsync did not delete {self.root}: it is not empty")

    def _discard(self, folder: Path) -> None:
        """Move *folder* out of the way (one rename), then delete it."""
        trash = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".trash-"))
        owned = self._owned()
        removal.move(folder, trash / "old", within=owned)  # missing: another envsync did it
        with contextlib.suppress(OSError):
            removal.delete(trash, within=owned)

    def _owned(self) -> removal.Owned:
        """The cache folder, as the folder whose contents envsync may delete."""
        return removal.Owned.cache(self.root)
