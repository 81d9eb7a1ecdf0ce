"""A wheel unpacked in the cache, read as pypa/installer's ``WheelSource``. FILES (read only).

installer's ``WheelFile`` reads a zip; the native installer links files that were unpacked
once into the cache, so it needs a source over that folder. WHEEL and entry_points.txt are
parsed once, when the wheel's files are vetted, and not again when it is installed; a
wheel whose WHEEL, entry points or ``.data`` folders break installer's rules is refused
before anything is written, with an error that names it.
"""

from __future__ import annotations

import configparser
import functools
from typing import TYPE_CHECKING, cast

from installer.sources import WheelSource
from installer.utils import (
    SCHEME_NAMES,
    parse_entrypoints,
    parse_metadata_file,
    parse_wheel_filename,
)

from envsync.errors import InstallError

if TYPE_CHECKING:
    from installer.scripts import ScriptSection
    from installer.utils import Scheme

    from envsync.install.unpack import Tree

__all__ = ["TreeSource", "hostile"]


class TreeSource(WheelSource):
    """A wheel unpacked in the cache, as a WheelSource for installer's rules."""

    def __init__(self, tree: Tree) -> None:
        parsed = parse_wheel_filename(tree.wheel)
        super().__init__(distribution=parsed.distribution, version=parsed.version)
        self.tree = tree

    @functools.cached_property
    def root_scheme(self) -> Scheme:
        """Purelib or platlib, from WHEEL (a 1.x wheel only)."""
        metadata = parse_metadata_file(self.read_dist_info("WHEEL"))
        version = metadata["Wheel-Version"]
        if not (version and version.startswith("1.")):
            why = f"its Wheel-Version is {version}, and only 1.x wheels are supported"
            raise hostile(self.tree.wheel, why)
        return cast("Scheme", "purelib" if metadata["Root-Is-Purelib"] == "true" else "platlib")

    @functools.cached_property
    def scripts(self) -> list[tuple[str, str, str, ScriptSection]]:
        """The console and GUI scripts of entry_points.txt; an unreadable file is an error."""
        if "entry_points.txt" not in self.dist_info_filenames:
            return []
        try:
            return list(parse_entrypoints(self.read_dist_info("entry_points.txt")))
        except (configparser.Error, ValueError, UnicodeDecodeError) as exc:
            problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            why = f"its entry_points.txt cannot be read ({problem})"
            raise hostile(self.tree.wheel, why) from exc

    @property
    def dist_info_dir(self) -> str:
        """The dist-info folder the wheel really has (checked when it was unpacked)."""
        return self.tree.dist_info

    @property
    def dist_info_filenames(self) -> list[str]:
        """Files in the dist-info folder, relative to it."""
        prefix = f"{self.tree.dist_info}/"
        return [m.path.removeprefix(prefix) for m in self.tree.members if m.path.startswith(prefix)]

    def read_dist_info(self, filename: str) -> str:
        """A dist-info file's text."""
        return (self.tree.root / self.tree.dist_info / filename).read_text("utf-8")

    def data_scheme(self, inside_data: str) -> tuple[Scheme, str]:
        """``("scripts", "tool")`` from ``scripts/tool`` under the wheel's .data folder."""
        scheme, _, rest = inside_data.partition("/")
        if scheme not in SCHEME_NAMES or not rest:
            folders = ", ".join(SCHEME_NAMES)
            why = f"{self.data_dir}/{inside_data} is not in a .data subfolder ({folders})"
            raise hostile(self.tree.wheel, why)
        return cast("Scheme", scheme), rest


def hostile(wheel: str, why: str) -> InstallError:
    """The error for a wheel envsync refuses to install, before anything was written."""
    return InstallError(
        f"refusing to install {wheel}: {why}",
        hint="nothing was changed; do not install this wheel (report it to its authors)",
    )
