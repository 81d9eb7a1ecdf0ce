"""pypa/installer's scheme destination, linking files from the cache into a venv. FILES.

``SchemeDictionaryDestination`` decides where each scheme's files go, writes console scripts
bound to the venv's interpreter, rewrites ``#!python`` shebangs and writes RECORD. envsync's
subclass changes how a file gets there: a cached file is linked (or cloned, or copied: see
linking), not streamed, and its RECORD row comes from the cache's manifest; a generated file
(a script, INSTALLER) replaces an old one by removing it first, never by writing through a
hard link into the cache; and nothing flips the process umask, so many wheels can install
at once.
"""

# Paths are strings: this runs once per file, where pathlib's parsing would cost more than
# the link itself.
# ruff: noqa: PTH100, PTH101, PTH116, PTH118, PTH123

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from installer.destinations import SchemeDictionaryDestination
from installer.records import Hash, RecordEntry
from installer.utils import copyfileobj_with_hashing

from envsync.system import faults, removal

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from _typeshed import WriteableBuffer
    from installer.utils import Scheme

    from envsync.install.linking import Linker
    from envsync.install.unpack import Member

__all__ = ["Destination", "LinkableStream"]


class LinkableStream(io.RawIOBase):
    """An unpacked file for ``installer``; the destination links its ``source`` instead.

    The file is opened only if something reads it (a script's shebang): most are linked
    unread, and an open per file would cost as much as the link.
    """

    def __init__(self, source: str, member: Member) -> None:
        super().__init__()
        self.source = source
        self.member = member
        self._file: io.FileIO | None = None

    def _opened(self) -> io.FileIO:
        if self._file is None:
            self._file = io.FileIO(self.source, "rb")
        return self._file

    def readable(self) -> bool:
        """Always: installer may read a script's shebang."""
        return True

    def seekable(self) -> bool:
        """Always: installer seeks back after reading a shebang."""
        return True

    def readinto(self, buffer: WriteableBuffer) -> int | None:
        """Read from the cached file, opening it now."""
        return self._opened().readinto(buffer)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Seek in the cached file, opening it now."""
        return self._opened().seek(offset, whence)

    def tell(self) -> int:
        """The position in the cached file, opening it now."""
        return self._opened().tell()

    def close(self) -> None:
        """Close the cached file if it was opened."""
        if self._file is not None:
            self._file.close()
        super().close()


class Destination(SchemeDictionaryDestination):
    """installer's scheme destination, linking cached files and safe to use from many threads."""

    def __init__(self, scheme: dict[str, str], interpreter: str, linker: Linker) -> None:
        # A file already there is replaced, as pip does (write_to_fs unlinks it first).
        super().__init__(scheme_dict=scheme, interpreter=interpreter, script_kind="posix")
        self.linker = linker
        self.written: list[str] = []
        self.record: Path | None = None
        self._bases: dict[str, str] = {}

    def write_to_fs(
        self, scheme: Scheme, path: str, stream: BinaryIO, is_executable: bool
    ) -> RecordEntry:
        """Link (or write) one file; its RECORD entry hashes what is now on disk."""
        if isinstance(stream, LinkableStream):
            return self.link(scheme, path, stream.source, stream.member)
        target = self.target(scheme, path)
        self.linker.folder_for(target)
        entry = self._write(path, target, stream, is_executable=is_executable)
        self.written.append(target)
        return entry

    def link(self, scheme: Scheme, path: str, source: str, member: Member) -> RecordEntry:
        """Link the cached file *source* to *path* in *scheme*; its RECORD row."""
        target = self.target(scheme, path)
        self.linker.folder_for(target)
        faults.reached("linking")
        self.linker.place(source, target)
        self.written.append(target)
        return RecordEntry(path, Hash("sha256", member.hash), member.size)

    def _write(
        self, path: str, target: str, stream: BinaryIO, *, is_executable: bool
    ) -> RecordEntry:
        """Write a generated file (a script, INSTALLER, ...): never through an old hard link."""
        try:
            out = open(target, "xb")  # noqa: SIM115 - closed by the with below
        except FileExistsError:  # an old file: removed first, never written through a link
            removal.delete(target, within=self.linker.owned)
            out = open(target, "xb")  # noqa: SIM115 - closed by the with below
        with out:
            digest, size = copyfileobj_with_hashing(stream, out, self.hash_algorithm)
        if is_executable:  # not installer's helper: it flips the process umask, not thread-safe
            mode = os.stat(target).st_mode
            os.chmod(target, mode | (mode & 0o444) >> 2)
        return RecordEntry(path, Hash(self.hash_algorithm, digest), size)

    def finalize_installation(
        self, scheme: Scheme, record_file_path: str, records: Iterable[tuple[Scheme, RecordEntry]]
    ) -> None:
        """Write RECORD (installer's code), remembering where it is."""
        self.record = Path(self.target(scheme, record_file_path))
        super().finalize_installation(scheme, record_file_path, records)

    def add_to_record(self, files: Sequence[str]) -> None:
        """Append rows without hash for *files* (bytecode), as pip records the .pyc it writes."""
        if not files or self.record is None:
            return
        lib = self.record.parent.parent
        rows = [RecordEntry(os.path.relpath(f, lib), None, None).to_row() for f in files]
        with self.record.open("a", encoding="utf-8", newline="") as out:
            csv.writer(out, lineterminator="\n").writerows(rows)

    def base(self, scheme: Scheme) -> str:
        """The folder of *scheme*, absolute."""
        base = self._bases.get(scheme)
        if base is None:
            base = self._bases[scheme] = os.path.abspath(self.scheme_dict[scheme])
        return base

    def target(self, scheme: Scheme, path: str) -> str:
        """Where *path* of *scheme* lands; an error if that is outside the scheme's folder."""
        # Strings and os.path, as installer does: lexical (no symlinks followed).
        base = self.base(scheme)
        target = os.path.normpath(os.path.join(base, path))
        if not target.startswith(base + os.sep):
            raise ValueError(f"{path} would be written outside {base}")
        return target
