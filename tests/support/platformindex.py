"""A package universe whose answer depends on the lock target: markers, wheel tags, Requires-Python.

Resolving ``app[cli]`` (and the group ``dev``) gives a different set of packages on each
platform and Python version, so a resolver that evaluates a marker or a wheel tag for the
wrong environment gives a visibly different answer:

* ``winonly``, ``maconly``, ``armonly``: dependencies of ``app`` on ``sys_platform == "win32"``,
  ``sys_platform == "darwin"`` and ``platform_machine == "aarch64"``;
* ``oldpy``: a dependency on ``python_version < "3.12"`` (not ``< "3.11"``: then a resolver
  run by this machine's 3.11 for a 3.12 target shows whether it used its own markers);
* ``native``: wheels per platform only; 2.0 (abi3 wheels) has none for Windows, which gets 1.0;
* ``modern``: 2.0 requires Python >= 3.12, so 3.11 gets 1.0;
* ``toolkit[speed]``: an extra that ``app`` asks for, gating ``speedup`` (Linux only);
  ``app[cli]``: an extra the root asks for, gating ``clihelper``;
* ``linuxonly``: one manylinux wheel and nothing else (no target but Linux x86_64 has one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from support import Dist, build_dist

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["DEPENDENCIES", "GROUP_DEV", "NATIVE_TAGS", "PLATFORM_DISTS", "populate"]

#: The platform tag of each ``native`` wheel, by envsync's platform name.
NATIVE_TAGS = {
    "linux-x86_64": "manylinux_2_17_x86_64",
    "linux-aarch64": "manylinux2014_aarch64",
    "macos-arm64": "macosx_11_0_arm64",
    "macos-x86_64": "macosx_10_9_x86_64",
    "windows-x86_64": "win_amd64",
}

PLATFORM_DISTS: tuple[Dist, ...] = (
    Dist(
        "app",
        "1.0",
        requires=(
            'winonly; sys_platform == "win32"',
            'maconly; sys_platform == "darwin"',
            'armonly; platform_machine == "aarch64"',
            'oldpy; python_version < "3.12"',
            "native",
            "modern",
            "toolkit[speed]",
        ),
        extras={"cli": ["clihelper"]},
    ),
    Dist("winonly", "1.0"),
    Dist("maconly", "1.0"),
    Dist("armonly", "1.0"),
    Dist("oldpy", "1.0"),
    Dist("native", "1.0", tags=tuple(f"py3-none-{t}" for t in NATIVE_TAGS.values())),
    Dist(
        "native",
        "2.0",
        tags=tuple(f"cp311-abi3-{t}" for t in NATIVE_TAGS.values() if t != "win_amd64"),
    ),
    Dist("modern", "1.0"),
    Dist("modern", "2.0", requires_python=">=3.12"),
    Dist("toolkit", "1.0", extras={"speed": ['speedup; sys_platform == "linux"']}),
    Dist("speedup", "1.0"),
    Dist("clihelper", "1.0"),
    Dist("linuxonly", "1.0", tags=("py3-none-manylinux_2_17_x86_64",)),
)
"""Every distribution of the platform index."""

#: The main dependencies the tests resolve, and the group ``dev``.
DEPENDENCIES = ("app[cli]",)
GROUP_DEV = ("clihelper", 'armonly; platform_machine == "aarch64"')


def populate(dest_dir: Path) -> list[Path]:
    """Build every distribution of the platform index into *dest_dir*; the files written."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    return [path for dist in PLATFORM_DISTS for path in build_dist(dest_dir, dist)]
