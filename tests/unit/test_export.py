"""export: the requirements file `envsync export` writes from a lock.

Locks are built inline with lockfile.build_lock; each test reads the text a user (and pip)
would get, or the error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from packaging.markers import default_environment
from packaging.pylock import Pylock as PylockModel
from packaging.requirements import Requirement

from envsync.core import lockfile
from envsync.core.export import Exported, requirements
from envsync.core.lockfile import LockedFile, ResolvedPackage
from envsync.core.spec import parse_spec
from envsync.errors import LockError

from support.locks import ANY, FILES, pkg, sha, single_lock, wheel

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

if TYPE_CHECKING:
    from collections.abc import Iterable

    from packaging.pylock import Pylock


PROJECT = Path("/proj")
WINDOWS = "cp312-cp312-win_amd64"
SPEC = parse_spec(
    '[env]\npython = "3.12"\ndependencies = ["rich"]\n[groups]\ndev = ["pytest"]\n'
    'docs = ["sphinx"]\n',
    path=PROJECT / "env.toml",
)


def lock_of(*packages: ResolvedPackage, roots: dict[str, list[str]] | None = None) -> Pylock:
    return single_lock(spec=SPEC, python="3.12.4", packages=packages, roots=roots)


ENVIRONMENT = {key: str(value) for key, value in default_environment().items()} | {
    "python_full_version": "3.12.4",
    "python_version": "3.12",
    "sys_platform": "linux",
}


def export(lock: Pylock, groups: Iterable[str] = (), *, main: bool = True) -> Exported:
    return requirements(
        lock, environment=ENVIRONMENT, tags=[ANY], groups=list(groups), root=PROJECT, main=main
    )


def test_golden_text_every_file_of_the_version_is_hashed():
    rich = pkg(
        "rich",
        "13.0",
        wheels=(
            wheel("rich", "13.0", sha256=sha("a")),
            wheel("rich", "13.0", WINDOWS, sha256=sha("b")),
        ),
        sdist=LockedFile(
            filename="rich-13.0.tar.gz", url=f"{FILES}/rich-13.0.tar.gz", sha256=sha("c")
        ),
    )
    exported = export(lock_of(rich, pkg("pygments", "2.18")))
    assert exported.text == (
        "# Exported from pylock.toml by envsync; do not edit, run `envsync export` again "
        "instead.\n"
        "# Selected for Python 3.12.4 (linux): the main dependencies.\n"
        "# Install with: pip install --no-deps --require-hashes -r FILE (and your index "
        "options)\n"
        "pygments==2.18 \\\n"
        f"    --hash=sha256:{sha('a')}\n"
        "rich==13.0 \\\n"  # wheels in file-name order, then the sdist
        f"    --hash=sha256:{sha('b')} \\\n"
        f"    --hash=sha256:{sha('a')} \\\n"
        f"    --hash=sha256:{sha('c')}\n"
    )
    assert exported.packages == ("pygments", "rich")
    assert exported.local == ()


def test_every_line_is_a_pip_requirement_with_hashes():
    text = export(lock_of(pkg("a-b", "1.0"), pkg("c", "2.0"))).text
    logical = text.replace(" \\\n", " ").splitlines()
    entries = [line for line in logical if not line.startswith("#")]
    assert [str(Requirement(line.split(" --hash")[0])) for line in entries] == [
        "a-b==1.0",
        "c==2.0",
    ]
    assert all("--hash=sha256:" in line for line in entries)


@pytest.mark.parametrize(
    ("groups", "main", "names", "says"),
    [
        ((), True, ("rich",), "the main dependencies."),
        (("dev",), True, ("pytest", "rich"), "the main dependencies and the groups dev."),
        (("dev", "docs"), True, ("pytest", "rich", "sphinx"), "and the groups dev, docs."),
        (("docs",), False, ("sphinx",), "only the groups docs."),
    ],
)
def test_groups_chosen_are_exported(groups, main, names, says):
    lock = lock_of(
        pkg("rich"),
        pkg("pytest", groups=["dev"]),
        pkg("sphinx", groups=["docs"]),
        roots={"dev": ["pytest"], "docs": ["sphinx"]},
    )
    exported = export(lock, groups, main=main)
    assert exported.packages == names
    assert exported.text.splitlines()[1].endswith(says)


def test_archives_and_unversioned_files_are_pinned_by_url():
    archive = LockedFile(filename="lib-1.0.zip", url="https://x/lib-1.0.zip", sha256=sha("d"))
    unversioned = pkg("tool", None, wheels=(wheel("tool", "3.0", sha256=sha("e")),))
    lines = export(lock_of(pkg("lib", None, archive=archive), unversioned)).text.splitlines()
    assert lines[3:] == [
        "lib @ https://x/lib-1.0.zip \\",
        f"    --hash=sha256:{sha('d')}",
        f"tool @ {FILES}/tool-3.0-{ANY}.whl \\",
        f"    --hash=sha256:{sha('e')}",
    ]


def test_local_folders_are_only_listed_in_a_comment():
    lock = lock_of(
        pkg("rich"),
        pkg("mylib", None, directory="libs/mylib", editable=True),
        pkg("other", "0.1", directory="../other"),
    )
    exported = export(lock)
    assert exported.packages == ("rich",)
    assert exported.local == ("mylib", "other")
    assert exported.text.splitlines()[5:] == [
        "",
        (
            "# Local folders are left out: pip refuses them under --require-hashes, having no "
            "hash to check."
        ),
        "# Install them afterwards (paths are relative to the project folder):",
        "#   pip install --no-deps -e libs/mylib    # mylib",
        "#   pip install --no-deps ../other    # other",
    ]


def test_a_file_without_a_sha256_is_an_error():
    text = lockfile.dumps(lock_of(pkg("rich"))).replace("sha256 = ", "sha512 = ")
    # lockfile.loads refuses such a lock, naming the key; export still guards its own input.
    lock = PylockModel.from_dict(tomllib.loads(text))
    with pytest.raises(LockError, match=r"rich has no sha256 hash in pylock\.toml"):
        export(lock)


def test_a_lock_for_another_python_is_refused():
    environment = ENVIRONMENT | {"python_version": "3.11", "python_full_version": "3.11.9"}
    with pytest.raises(LockError, match="does not fit"):
        requirements(
            lock_of(pkg("rich")), environment=environment, tags=[ANY], groups=(), root=PROJECT
        )
