"""lockfile: the pylock.toml a user reads, its fingerprint, and what select() installs.

Every test builds a Spec from env.toml text and ResolvedPackage values inline, then looks at
the pylock.toml text (parsed back with tomllib where structure is the point), at the
selection, or at the LockError a user gets.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import tomli_w
from hypothesis import given
from hypothesis import strategies as st
from packaging.markers import default_environment
from packaging.version import Version

from envsync.core.lockfile import (
    FORMAT,
    Artifact,
    LockedFile,
    LockInfo,
    ResolvedPackage,
    Wanted,
    dumps,
    fingerprint,
    info,
    is_fresh,
    loads,
    package_version,
    parse,
    pins,
    select,
    strip_credentials,
)
from envsync.core.spec import Spec, parse_spec
from envsync.errors import LockError

from support.locks import nn, pkg, single_lock, target

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

if TYPE_CHECKING:
    from collections.abc import Iterable

    from packaging.pylock import Pylock


# --- helpers --------------------------------------------------------------------------------

PROJECT = Path("/proj")
LOCK_PATH = "/proj/pylock.toml"
SHA_A = "a" * 64
SHA_B = "b" * 64
FILES = "https://files.example/packages"
ANY = "py3-none-any"
LINUX = "cp312-cp312-manylinux_2_17_x86_64"
WINDOWS = "cp312-cp312-win_amd64"

SPEC_TEXT = """\
[env]
python = "3.12"
dependencies = ["requests>=2", "rich"]

[groups]
dev = ["pytest>=8"]
docs = ["sphinx"]

[index]
url = "https://pypi.example/simple"
"""


def spec_of(text: str = SPEC_TEXT) -> Spec:
    return parse_spec(text, path=PROJECT / "env.toml")


SPEC = spec_of()


def wheel(
    name: str,
    version: str = "1.0",
    tag: str = ANY,
    *,
    url: str | None = None,
    path: str | None = None,
    sha256: str = SHA_A,
    size: int | None = None,
) -> LockedFile:
    """A wheel of *name*, at FILES/<filename> unless *url* or *path* says otherwise."""
    filename = f"{name.replace('-', '_')}-{version}-{tag}.whl"
    if url is None and path is None:
        url = f"{FILES}/{filename}"
    return LockedFile(filename=filename, url=url, path=path, sha256=sha256, size=size)


def sdist(
    name: str,
    version: str = "1.0",
    *,
    url: str | None = None,
    path: str | None = None,
    sha256: str = SHA_B,
) -> LockedFile:
    filename = f"{name.replace('-', '_')}-{version}.tar.gz"
    if url is None and path is None:
        url = f"{FILES}/{filename}"
    return LockedFile(filename=filename, url=url, path=path, sha256=sha256)


def linux_marker(minor: str) -> str:
    """The ``environments`` marker of Python *minor* on linux-x86_64 (the tests' machine)."""
    return (
        f'python_version == "{minor}" and sys_platform == "linux" and platform_machine == "x86_64"'
    )


#: That marker for Python 3.12 as pylock.toml spells it: a TOML string.
ENVIRONMENT = json.dumps(linux_marker("3.12"))


def lock_of(*packages: ResolvedPackage, spec: Spec = SPEC, python: str = "3.12.4") -> Pylock:
    return single_lock(spec=spec, python=python, packages=packages)


def toml_of(lock: Pylock) -> dict[str, Any]:
    """The pylock.toml text as a user's TOML parser reads it."""
    return tomllib.loads(dumps(lock))


def marker_env(python: str = "3.12.4") -> dict[str, str]:
    """This machine's marker environment, for the Python *python*."""
    env = {key: str(value) for key, value in default_environment().items()}
    env["python_full_version"] = python
    env["python_version"] = ".".join(python.split(".")[:2])
    return env


def selected(
    lock: Pylock,
    *,
    python: str = "3.12.4",
    tags: Iterable[str] = (ANY,),
    groups: Iterable[str] = (),
    root: Path = PROJECT,
) -> tuple[Wanted, ...]:
    return select(
        lock, environment=marker_env(python), tags=list(tags), groups=list(groups), root=root
    )


def only(wanted: tuple[Wanted, ...]) -> Wanted:
    assert len(wanted) == 1
    return wanted[0]


# --- build_lock + dumps: what pylock.toml says ------------------------------------------------


def test_dumps_golden_text():
    lock = lock_of(
        pkg("rich", "13.0", needs=["pygments"]),
        pkg("pygments", "2.18"),
        pkg("pytest", "8.1", groups=["dev"]),
    )
    assert dumps(lock) == (
        f"""\
lock-version = "1.0"
environments = [
    {ENVIRONMENT},
]
requires-python = "==3.12.*"
dependency-groups = [
    "dev",
    "docs",
]
created-by = "envsync"

[[packages]]
name = "pygments"
version = "2.18"

[[packages.wheels]]
name = "pygments-2.18-py3-none-any.whl"
url = "{FILES}/pygments-2.18-py3-none-any.whl"

[packages.wheels.hashes]
sha256 = "{SHA_A}"

[[packages]]
name = "pytest"
version = "8.1"
marker = "\\"dev\\" in dependency_groups"

[[packages.wheels]]
name = "pytest-8.1-py3-none-any.whl"
url = "{FILES}/pytest-8.1-py3-none-any.whl"

[packages.wheels.hashes]
sha256 = "{SHA_A}"

[[packages]]
name = "rich"
version = "13.0"
dependencies = [
    {{ name = "pygments" }},
]

[[packages.wheels]]
name = "rich-13.0-py3-none-any.whl"
url = "{FILES}/rich-13.0-py3-none-any.whl"

[packages.wheels.hashes]
sha256 = "{SHA_A}"

[tool.envsync]
format = {FORMAT}
fingerprint = "{fingerprint(SPEC)}"
inputs = "{fingerprint(SPEC)}"
groups = [
    "dev",
    "docs",
]
targets = [
    {{ python = "3.12", platform = "linux-x86_64" }},
]

[tool.envsync.requirements]
dependencies = [
    "requests>=2",
    "rich",
]

[tool.envsync.requirements.groups]
dev = [
    "pytest>=8",
]
docs = [
    "sphinx",
]
"""
    )


HEADER_CASES = [
    pytest.param(
        SPEC_TEXT,
        "3.12.4",
        {
            "lock-version": "1.0",
            "created-by": "envsync",
            "environments": [linux_marker("3.12")],
            "requires-python": "==3.12.*",
            "dependency-groups": ["dev", "docs"],
        },
        id="python-and-groups",
    ),
    pytest.param(
        '[env]\npython = ">=3.10"\n',
        "3.11.9",
        {
            "lock-version": "1.0",
            "created-by": "envsync",
            "environments": [linux_marker("3.11")],
            "requires-python": ">=3.10",
        },
        id="no-groups-no-dependency-groups-key",
    ),
    pytest.param(
        "[groups]\nDev_Tools = []\nalpha = []\n",
        "3.13.0",
        {
            "lock-version": "1.0",
            "created-by": "envsync",
            "environments": [linux_marker("3.13")],
            "dependency-groups": ["alpha", "dev-tools"],
        },
        id="no-python-no-requires-python-key-and-normalized-groups",
    ),
]


@pytest.mark.parametrize(("text", "python", "expected"), HEADER_CASES)
def test_lock_header(text, python, expected):
    data = toml_of(lock_of(pkg("rich"), spec=spec_of(text), python=python))
    header = {k: v for k, v in data.items() if k not in {"packages", "tool"}}
    assert header == expected


@pytest.mark.parametrize(("text", "python", "expected"), HEADER_CASES)
def test_tool_envsync_table(text, python, expected):
    spec = spec_of(text)
    data = toml_of(lock_of(pkg("rich"), spec=spec, python=python))
    assert data["tool"] == {
        "envsync": {
            "format": FORMAT,
            "fingerprint": fingerprint(spec),
            "inputs": fingerprint(spec),  # env.toml has no [lock]: the same inputs
            "groups": expected.get("dependency-groups", []),
            "targets": [{"python": python.rsplit(".", 1)[0], "platform": "linux-x86_64"}],
            "requirements": {
                "dependencies": sorted(str(r) for r in spec.dependencies),
                "groups": {
                    g.name.lower().replace("_", "-"): sorted(str(r) for r in g.requirements)
                    for g in spec.groups
                },
            },
        }
    }


def test_packages_sorted_by_name_and_wheels_by_filename():
    wheels = (wheel("zed", tag=WINDOWS), wheel("zed", tag=ANY), wheel("zed", tag=LINUX))
    data = toml_of(lock_of(pkg("zed", wheels=wheels), pkg("alpha"), pkg("mid")))
    assert [p["name"] for p in data["packages"]] == ["alpha", "mid", "zed"]
    assert [w["name"] for w in data["packages"][2]["wheels"]] == [
        "zed-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
        "zed-1.0-cp312-cp312-win_amd64.whl",
        "zed-1.0-py3-none-any.whl",
    ]


@pytest.mark.parametrize(
    ("groups", "marker"),
    [
        pytest.param((), None, id="main-dependency-no-marker"),
        pytest.param(("dev",), '"dev" in dependency_groups', id="one-group"),
        pytest.param(
            ("test", "dev", "docs"),
            '"dev" in dependency_groups or "docs" in dependency_groups'
            ' or "test" in dependency_groups',
            id="several-groups-sorted-joined-by-or",
        ),
    ],
)
def test_group_marker(groups, marker):
    (package,) = toml_of(lock_of(pkg("rich", groups=groups)))["packages"]
    assert package.get("marker") == marker


WHEEL_ANY = "rich-1.0-py3-none-any.whl"
SDIST = "rich-1.0.tar.gz"
HASH_A = {"sha256": SHA_A}
HASH_B = {"sha256": SHA_B}

# Columns: the package's sources, then its whole [[packages]] table minus name and version.
ENTRY_CASES = [
    pytest.param(
        {"wheels": (wheel("rich", url=f"{FILES}/{WHEEL_ANY}", size=1234),)},
        {
            "wheels": [
                {"name": WHEEL_ANY, "url": f"{FILES}/{WHEEL_ANY}", "size": 1234, "hashes": HASH_A}
            ]
        },
        id="wheel-url-with-size",
    ),
    pytest.param(
        {"wheels": (wheel("rich", path=f"dist/{WHEEL_ANY}"),)},
        {"wheels": [{"name": WHEEL_ANY, "path": f"dist/{WHEEL_ANY}", "hashes": HASH_A}]},
        id="wheel-path",
    ),
    pytest.param(
        {"sdist": sdist("rich")},
        {"sdist": {"name": SDIST, "url": f"{FILES}/{SDIST}", "hashes": HASH_B}},
        id="sdist-only",
    ),
    pytest.param(
        {"sdist": sdist("rich", path=f"../dist/{SDIST}"), "wheels": (wheel("rich"),)},
        {
            "sdist": {"name": SDIST, "path": f"../dist/{SDIST}", "hashes": HASH_B},
            "wheels": [{"name": WHEEL_ANY, "url": f"{FILES}/{WHEEL_ANY}", "hashes": HASH_A}],
        },
        id="sdist-path-and-wheel",
    ),
    pytest.param(
        {"directory": "../libs/rich", "editable": True},
        {"directory": {"path": "../libs/rich", "editable": True}},
        id="directory-editable",
    ),
    pytest.param(
        {"directory": "libs/rich"},
        {"directory": {"path": "libs/rich"}},
        id="directory-not-editable-has-no-editable-key",
    ),
    pytest.param(
        {"archive": LockedFile(filename=SDIST, url=f"https://example.com/{SDIST}", sha256=SHA_B)},
        {"archive": {"url": f"https://example.com/{SDIST}", "hashes": HASH_B}},
        id="archive-url-has-no-name",
    ),
    pytest.param(
        {"archive": LockedFile(filename=SDIST, path=f"vendor/{SDIST}", sha256=SHA_B, size=9)},
        {"archive": {"path": f"vendor/{SDIST}", "size": 9, "hashes": HASH_B}},
        id="archive-path",
    ),
    pytest.param(
        {
            "index": "https://pypi.example/simple",
            "requires_python": ">=3.9",
            "wheels": (wheel("rich"),),
        },
        {
            "index": "https://pypi.example/simple",
            "requires-python": ">=3.9",
            "wheels": [{"name": WHEEL_ANY, "url": f"{FILES}/{WHEEL_ANY}", "hashes": HASH_A}],
        },
        id="index-and-requires-python",
    ),
]


@pytest.mark.parametrize(("sources", "expected"), ENTRY_CASES)
def test_package_entry(sources, expected):
    version = None if "directory" in sources else "1.0"
    (package,) = toml_of(lock_of(pkg("rich", version, **sources)))["packages"]
    head = {"name": "rich", "version": "1.0"} if version else {"name": "rich"}
    assert package == {**head, **expected}


def test_dependencies_are_sorted_name_tables():
    (package,) = toml_of(lock_of(pkg("rich", needs=["pygments", "markdown-it-py"])))["packages"]
    assert package["dependencies"] == [{"name": "markdown-it-py"}, {"name": "pygments"}]


# --- credentials ----------------------------------------------------------------------------


def test_credentials_never_reach_the_lock_text():
    lock = lock_of(
        pkg(
            "rich",
            index="https://me:s3cret@pypi.example/simple",
            wheels=(wheel("rich", url=f"https://me:s3cret@files.example/{WHEEL_ANY}"),),
            sdist=sdist("rich", url=f"https://token@files.example/{SDIST}"),
        ),
        pkg(
            "vendored",
            archive=LockedFile(
                filename="vendored-1.0.zip",
                url="https://me:s3cret@example.com:8443/vendored-1.0.zip",
                sha256=SHA_A,
            ),
        ),
    )
    text = dumps(lock)
    assert "s3cret" not in text
    assert "token" not in text
    assert "me@" not in text
    rich, vendored = toml_of(lock)["packages"]
    assert rich["index"] == "https://pypi.example/simple"
    assert rich["wheels"][0]["url"] == f"https://files.example/{WHEEL_ANY}"
    assert rich["sdist"]["url"] == f"https://files.example/{SDIST}"
    assert vendored["archive"]["url"] == "https://example.com:8443/vendored-1.0.zip"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("https://pypi.org/simple", "https://pypi.org/simple", id="no-userinfo"),
        pytest.param("https://token@h.example/simple", "https://h.example/simple", id="user-only"),
        pytest.param("https://u:p@h.example/simple", "https://h.example/simple", id="user-pass"),
        pytest.param("https://u:p@h.example:8080/x", "https://h.example:8080/x", id="port-kept"),
        pytest.param("https://u:p@[::1]:8080/x", "https://[::1]:8080/x", id="ipv6-port-kept"),
        pytest.param("https://u:p@ss@h.example/x", "https://h.example/x", id="raw-at-in-password"),
        pytest.param("ssh://git@github.com/o/r.git", "ssh://git@github.com/o/r.git", id="git-at"),
        pytest.param("git+https://t@github.com/o/r", "git+https://github.com/o/r", id="vcs-token"),
        pytest.param("file:///srv/a@b/simple", "file:///srv/a@b/simple", id="at-in-file-path"),
        pytest.param("https://h.example/x?a=b@c", "https://h.example/x?a=b@c", id="at-in-query"),
    ],
)
def test_strip_credentials(url, expected):
    assert strip_credentials(url) == expected


SECRET_SPEC = SPEC_TEXT.replace(
    '"rich"]', '"rich", "vendored @ https://me:s3cret@files.example/vendored-1.0.zip"]'
).replace('dev = ["pytest>=8"]', 'dev = ["pytest>=8", "tool @ https://t0ken@files.example/t.whl"]')


def test_a_direct_urls_credentials_stay_out_of_the_lock_and_its_fingerprint():
    spec = spec_of(SECRET_SPEC)
    plain = spec_of(SECRET_SPEC.replace("me:s3cret@", "").replace("t0ken@", ""))
    text = dumps(lock_of(pkg("rich"), spec=spec))
    assert "s3cret" not in text
    assert "t0ken" not in text
    assert fingerprint(spec) == fingerprint(plain)
    assert toml_of(lock_of(pkg("rich"), spec=spec))["tool"]["envsync"]["requirements"] == {
        "dependencies": [
            "requests>=2",
            "rich",
            "vendored @ https://files.example/vendored-1.0.zip",
        ],
        "groups": {"dev": ["pytest>=8", "tool @ https://files.example/t.whl"], "docs": ["sphinx"]},
    }
    assert is_fresh(loads(text), spec)


# --- byte stability and round trip (hypothesis) ---------------------------------------------

NAMES = ("alpha", "beta", "gamma", "delta", "omega")
GROUP_NAMES = ("dev", "docs", "test")
TAGS = (ANY, LINUX, WINDOWS, "cp311-abi3-macosx_11_0_arm64")

versions = st.builds(
    lambda major, minor: f"{major}.{minor}", st.integers(0, 30), st.integers(0, 30)
)
sha256s = st.text("0123456789abcdef", min_size=64, max_size=64)


@st.composite
def locked_files(draw: st.DrawFn, filename: str) -> LockedFile:
    sha = draw(sha256s)
    size = draw(st.none() | st.integers(0, 2**40))
    if draw(st.booleans()):
        return LockedFile(filename=filename, url=f"{FILES}/{filename}", sha256=sha, size=size)
    return LockedFile(filename=filename, path=f"../dist/{filename}", sha256=sha, size=size)


@st.composite
def resolved_packages(draw: st.DrawFn, name: str, others: list[str]) -> ResolvedPackage:
    groups = draw(st.frozensets(st.sampled_from(GROUP_NAMES)))
    deps = draw(st.lists(st.sampled_from(others), unique=True)) if others else []
    base = pkg(name, None, groups=groups, needs=deps, directory=f"libs/{name}")
    kind = draw(st.sampled_from(["index", "directory", "archive"]))
    if kind == "directory":
        return replace(base, editable=draw(st.booleans()))
    version = draw(versions)
    base = replace(base, directory=None, version=Version(version))
    if kind == "archive":
        return replace(base, archive=draw(locked_files(f"{name}-{version}.zip")))
    tags = draw(st.lists(st.sampled_from(TAGS), unique=True))
    wheels = tuple(draw(locked_files(f"{name}-{version}-{tag}.whl")) for tag in tags)
    sdist_file = locked_files(f"{name}-{version}.tar.gz")
    return replace(
        base,
        wheels=wheels,
        sdist=draw(st.none() | sdist_file) if wheels else draw(sdist_file),
        index=draw(st.none() | st.just("https://pypi.example/simple")),
        requires_python=draw(st.none() | st.sampled_from([">=3.8", ">=3.10,<4"])),
    )


@st.composite
def resolutions(draw: st.DrawFn) -> list[ResolvedPackage]:
    names = draw(st.lists(st.sampled_from(NAMES), unique=True))
    return [draw(resolved_packages(n, [o for o in names if o != n])) for n in names]


@given(packages=resolutions(), data=st.data())
def test_dumps_is_byte_stable_whatever_the_input_order(packages, data):
    shuffled = [
        replace(
            p,
            wheels=tuple(data.draw(st.permutations(p.wheels))),
            dependencies=tuple(data.draw(st.permutations(p.dependencies))),
        )
        for p in data.draw(st.permutations(packages))
    ]
    assert dumps(lock_of(*shuffled)) == dumps(lock_of(*packages))


@given(packages=resolutions(), python=st.sampled_from(["3.10.2", "3.12.4", "3.13.0rc1"]))
def test_loads_dumps_round_trip(packages, python):
    lock = lock_of(*packages, python=python)
    text = dumps(lock)
    again = loads(text, path=LOCK_PATH)
    assert again == lock
    assert dumps(again) == text
    assert info(again) == info(lock)


@given(packages=resolutions(), asked=st.frozensets(st.sampled_from(GROUP_NAMES)))
def test_select_installs_main_and_asked_groups_only(packages, asked):
    # A spec that declares every group the packages may be marked with, as real locks do.
    spec = spec_of(SPEC_TEXT.replace('docs = ["sphinx"]\n', 'docs = ["sphinx"]\ntest = ["tox"]\n'))
    wanted = selected(lock_of(*packages, spec=spec), tags=TAGS, groups=asked)
    expected = [p.name for p in packages if not p.groups or p.groups & asked]
    assert [w.name for w in wanted] == sorted(expected)


# --- fingerprint and freshness ----------------------------------------------------------------

SAME_INPUTS = [
    pytest.param(
        SPEC_TEXT.replace('"requests>=2", "rich"', '"rich", "requests>=2"'),
        id="dependency-order",
    ),
    pytest.param(
        SPEC_TEXT.replace(
            'dev = ["pytest>=8"]\ndocs = ["sphinx"]', 'docs = ["sphinx"]\ndev = ["pytest>=8"]'
        ),
        id="group-order",
    ),
    pytest.param(
        """\
# the project's environment
[index]
url = "https://pypi.example/simple"  # our mirror

[groups]
docs = ["sphinx"]
Dev = ["pytest>=8"]

[env]
dependencies = ["rich", "requests>=2"]
python = "3.12"
""",
        id="comments-key-order-and-group-name-case",
    ),
    pytest.param(SPEC_TEXT.replace("[env]\n", '[env]\nvenv = "envs/other"\n'), id="venv-path"),
    pytest.param(SPEC_TEXT.replace("[env]\n", '[env]\nkeep = ["pip", "wheel"]\n'), id="keep"),
    # Credentials change no result: a new token must not make the lock stale.
    pytest.param(SPEC_TEXT.replace("https://pypi", "https://me:tok@pypi"), id="index-login"),
]

OTHER_INPUTS = [
    pytest.param(SPEC_TEXT.replace('"3.12"', '"3.13"'), id="python"),
    pytest.param(SPEC_TEXT.replace("requests>=2", "requests>=2.1"), id="dependency-version"),
    pytest.param(SPEC_TEXT.replace(', "rich"', ""), id="dependency-removed"),
    pytest.param(SPEC_TEXT.replace('"pytest>=8"', '"pytest>=8", "coverage"'), id="group-content"),
    pytest.param(SPEC_TEXT.replace('docs = ["sphinx"]\n', ""), id="group-removed"),
    pytest.param(SPEC_TEXT.replace("pypi.example", "mirror.example"), id="index-url"),
    pytest.param(
        SPEC_TEXT + 'extra-urls = ["https://extra.example/simple"]\n', id="index-extra-urls"
    ),
    pytest.param(SPEC_TEXT + 'find-links = ["wheels"]\n', id="index-find-links"),
]


@pytest.mark.parametrize("text", SAME_INPUTS)
def test_fingerprint_ignores(text):
    assert fingerprint(spec_of(text)) == fingerprint(SPEC)
    assert is_fresh(lock_of(pkg("rich")), spec_of(text))


@pytest.mark.parametrize("text", OTHER_INPUTS)
def test_fingerprint_changes_with(text):
    assert fingerprint(spec_of(text)) != fingerprint(SPEC)
    assert not is_fresh(lock_of(pkg("rich")), spec_of(text))


def test_fingerprint_is_a_sha256():
    digest = fingerprint(SPEC)
    assert digest.startswith("sha256:")
    assert len(digest) == len("sha256:") + 64


def test_a_lock_read_back_is_fresh_for_its_spec():
    lock = loads(dumps(lock_of(pkg("rich"))), path=LOCK_PATH)
    assert is_fresh(lock, SPEC)


# --- loads: what a broken pylock.toml tells the user ----------------------------------------

VALID_LOCK: dict[str, Any] = toml_of(lock_of(pkg("rich")))
DROP = object()


def lock_text(base: dict[str, Any], *edits: tuple[tuple[str | int, ...], object]) -> str:
    """*base*'s text with each key set to its value (removed if DROP)."""
    data = copy.deepcopy(base)
    for key, value in edits:
        table = data
        for part in key[:-1]:
            table = table[part]
        if value is DROP:
            del table[key[-1]]
        else:
            table[key[-1]] = value
    return tomli_w.dumps(data)


def edited(key: tuple[str, ...], value: object) -> str:
    """VALID_LOCK's text with *key* set to *value* (removed if DROP)."""
    return lock_text(VALID_LOCK, (key, value))


@pytest.mark.parametrize(
    ("text", "problem", "hint"),
    [
        pytest.param(
            'lock-version = "1.0"\npackages = [\n',
            "is not valid TOML",
            "envsync lock",
            id="invalid-toml",
        ),
        pytest.param(
            edited(("packages",), DROP),
            "is not a valid PEP 751 lock: Missing required value in 'packages'",
            "envsync lock",
            id="no-packages",
        ),
        pytest.param(
            edited(("created-by",), DROP),
            "Missing required value in 'created-by'",
            "envsync lock",
            id="no-created-by",
        ),
        pytest.param(
            edited(("lock-version",), "2.0"),
            "pylock version 2.0 is not supported",
            "envsync lock",
            id="lock-version-2",
        ),
        pytest.param(
            edited(("tool",), DROP),
            "has no [tool.envsync] table, so it was not written by envsync",
            "envsync lock",
            id="no-tool-table",
        ),
        pytest.param(
            edited(("tool", "envsync"), "yes"),
            "has no [tool.envsync] table",
            "envsync lock",
            id="tool-envsync-not-a-table",
        ),
        pytest.param(
            edited(("tool", "envsync", "format"), FORMAT + 1),
            f"tool.envsync.format is {FORMAT + 1}; this envsync reads format {FORMAT}",
            "upgrade envsync",
            id="format-newer",
        ),
        pytest.param(
            edited(("tool", "envsync", "format"), "1"),
            "tool.envsync.format is '1'",
            "upgrade envsync",
            id="format-not-an-integer",
        ),
        pytest.param(
            edited(("tool", "envsync", "format"), DROP),
            "tool.envsync.format is None",
            "upgrade envsync",
            id="format-missing",
        ),
        pytest.param(
            edited(("tool", "envsync", "fingerprint"), DROP),
            "tool.envsync.fingerprint is missing",
            "envsync lock",
            id="fingerprint-missing",
        ),
        pytest.param(
            edited(("tool", "envsync", "targets"), DROP),
            "tool.envsync.targets is missing",
            "envsync lock",
            id="targets-missing",
        ),
    ],
)
def test_loads_error_names_file_and_problem(text, problem, hint):
    with pytest.raises(LockError) as caught:
        loads(text, path=LOCK_PATH)
    assert str(caught.value).startswith(LOCK_PATH)
    assert problem in str(caught.value)
    assert caught.value.hint is not None
    assert hint in caught.value.hint


def test_an_older_format_with_a_python_that_is_no_version_is_a_lock_error():
    text = edited(("tool", "envsync"), {"format": 1, "fingerprint": "sha256:x", "python": "latest"})
    with pytest.raises(LockError) as caught:
        loads(text, path=LOCK_PATH)
    assert 'tool.envsync.python must be a Python version like 3.12.4, found "latest"' in str(
        caught.value
    )


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param({"python": "3.12", "platform": "linux-ppc64le"}, id="unnamed-without-markers"),
        pytest.param({"python": "3", "platform": "linux-x86_64"}, id="python-not-a-minor"),
        pytest.param({"python": 3.12, "platform": "linux-x86_64"}, id="python-a-float"),
    ],
)
def test_a_target_envsync_cannot_read_is_a_lock_error_naming_it(entry):
    text = edited(("tool", "envsync", "targets"), [entry])
    with pytest.raises(LockError, match=r"tool\.envsync\.targets\[0\] must be a table with python"):
        loads(text, path=LOCK_PATH)


def test_loads_accepts_an_older_format_and_missing_groups():
    text = edited(("tool", "envsync"), {"format": 0, "fingerprint": "sha256:x", "python": "3.9"})
    lock = loads(text, path=LOCK_PATH)
    assert info(lock) == LockInfo(format=0, fingerprint="sha256:x", groups=(), python="3.9")


def test_loads_groups_not_an_array_is_a_lock_error():
    with pytest.raises(LockError, match=r"tool\.envsync\.groups"):
        loads(edited(("tool", "envsync", "groups"), 5), path=LOCK_PATH)


def test_loads_groups_a_string_is_a_lock_error():
    with pytest.raises(LockError, match=r"tool\.envsync\.groups"):
        loads(edited(("tool", "envsync", "groups"), "dev"), path=LOCK_PATH)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        pytest.param("format", True, "tool.envsync.format is True", id="format-bool"),
        pytest.param(
            "targets", 3.12, "tool.envsync.targets must be an array of tables", id="targets-float"
        ),
        pytest.param("fingerprint", ["x"], "tool.envsync.fingerprint must be", id="fp-list"),
    ],
)
def test_loads_wrong_types_in_the_tool_table_are_lock_errors(key, value, message):
    with pytest.raises(LockError, match=re.escape(message)):
        loads(edited(("tool", "envsync", key), value), path=LOCK_PATH)


# --- loads: a lock with several problems gets them all at once --------------------------------

RELOCK = "run `envsync lock` to write a fresh lock from env.toml"
HEAD = f"{LOCK_PATH} is not a lock envsync can use:"
NOPE = 'must list groups of tool.envsync.groups (dev, docs), found "nope"'
NO_EXTRA = (
    'must be a marker a lock can hold (PEP 751), found "extra == \\"x\\""'
    " (there is no marker variable 'extra' here)"
)
#: pygments, then rich with a wheel and an sdist.
TWO_PACKAGES: dict[str, Any] = toml_of(
    lock_of(pkg("pygments"), pkg("rich", wheels=(wheel("rich"),), sdist=sdist("rich")))
)


def problems_of(text: str) -> LockError:
    with pytest.raises(LockError) as caught:
        loads(text, path=LOCK_PATH)
    return caught.value


#: Independent breakages, in the order their keys stand in the file: the key, the value it
#: gets, and what the user reads about it.
BREAKAGES: list[tuple[tuple[str | int, ...], object, str]] = [
    (
        ("environments", 0),
        "extra == 'x'",
        f"environments[0] {NO_EXTRA}",
    ),
    (
        ("packages", 0, "wheels", 0, "url"),
        "ftp://mirror.example/pygments-1.0-py3-none-any.whl",
        (
            "packages[0].wheels[0].url must be an http://, https:// or file:// URL, found "
            '"ftp://mirror.example/pygments-1.0-py3-none-any.whl" (another scheme, or no'
            " scheme at all)"
        ),
    ),
    (
        ("packages", 1, "marker"),
        "extra == 'x'",
        f"packages[1].marker {NO_EXTRA}",
    ),
    (
        ("packages", 1, "sdist", "hashes"),
        {"sha256": "bbbb"},
        'packages[1].sdist.hashes must hold a sha256 of 64 hex digits, found {"sha256": "bbbb"}',
    ),
    (
        ("packages", 1, "wheels", 0, "size"),
        -1,
        "packages[1].wheels[0].size must be a size in bytes (0 or more), found -1",
    ),
    (
        ("tool", "envsync", "targets"),
        [{"python": "latest", "platform": "linux-x86_64"}],
        (
            "tool.envsync.targets[0] must be a table with python (like 3.12) and platform, "
            'found {"python": "latest", "platform": "linux-x86_64"}'
        ),
    ),
    (
        ("tool", "envsync", "default-groups"),
        ["nope"],
        f"tool.envsync.default-groups {NOPE}",
    ),
    (
        ("tool", "envsync", "requirements", "dependencies", 0),
        "rich >>> 1",
        (
            "tool.envsync.requirements.dependencies[0] must be a PEP 508 requirement,"
            ' found "rich >>> 1"'
        ),
    ),
    (
        ("tool", "envsync", "requirements", "groups", "docs"),
        "sphinx",
        "tool.envsync.requirements.groups.docs must be an array of strings, found 'sphinx'",
    ),
]


def test_the_base_lock_is_valid():
    assert [p.name for p in loads(tomli_w.dumps(TWO_PACKAGES), path=LOCK_PATH).packages] == [
        "pygments",
        "rich",
    ]


@pytest.mark.parametrize(("key", "value", "line"), BREAKAGES)
def test_one_problem_reads_as_one_line(key, value, line):
    error = problems_of(lock_text(TWO_PACKAGES, (key, value)))
    assert str(error) == f"{LOCK_PATH}: {line}"
    assert error.hint == RELOCK


@given(st.sets(st.sampled_from(range(len(BREAKAGES))), min_size=2))
def test_every_problem_is_listed_at_once_in_the_files_order(chosen):
    error = problems_of(
        lock_text(TWO_PACKAGES, *((BREAKAGES[i][0], BREAKAGES[i][1]) for i in chosen))
    )
    lines = [f"{LOCK_PATH}: {BREAKAGES[i][2]}" for i in sorted(chosen)]
    assert str(error).split("\n") == [HEAD, *(f"  {line}" for line in lines)]
    assert [problem.describe(LOCK_PATH) for problem in error.problems] == lines
    assert error.hint == RELOCK


@pytest.mark.parametrize(
    ("text", "lines", "hint"),
    [
        pytest.param(
            lock_text(
                TWO_PACKAGES,
                (("tool", "envsync", "fingerprint"), 5),
                (("tool", "envsync", "groups"), "dev"),
            ),
            [
                "tool.envsync.fingerprint must be a string, found 5",
                "tool.envsync.groups must be an array of strings, found 'dev'",
            ],
            RELOCK,
            id="two-keys-of-the-table",
        ),
        pytest.param(
            lock_text(
                TWO_PACKAGES,
                (("tool", "envsync", "groups"), "dev"),
                (("tool", "envsync", "default-groups"), ["nope"]),
                (("tool", "envsync", "group-roots"), {"nope": ["x"]}),
            ),
            ["tool.envsync.groups must be an array of strings, found 'dev'"],
            RELOCK,
            id="groups-wrong-so-not-compared-with",
        ),
        pytest.param(
            lock_text(
                TWO_PACKAGES,
                (("tool", "envsync", "default-groups"), "dev"),
                (("tool", "envsync", "group-roots"), {"nope": ["x"]}),
            ),
            [
                "tool.envsync.default-groups must be an array of strings, found 'dev'",
                f"tool.envsync.group-roots {NOPE}",
            ],
            RELOCK,
            id="default-groups-wrong-roots-still-compared",
        ),
        pytest.param(
            lock_text(
                TWO_PACKAGES,
                (("tool", "envsync", "targets"), DROP),
                (("tool", "envsync", "main-roots"), "rich"),
                (("tool", "envsync", "group-roots"), ["dev"]),
            ),
            [
                "tool.envsync.main-roots must be an array of strings, found 'rich'",
                "tool.envsync.group-roots must be a table, found ['dev']",
                "tool.envsync.targets is missing",
            ],
            RELOCK,
            id="a-missing-key-comes-after-those-there",
        ),
        pytest.param(
            lock_text(
                TWO_PACKAGES,
                (("packages", 1, "marker"), "extra == 'x'"),
                (("tool", "envsync", "format"), FORMAT + 1),
                (("tool", "envsync", "targets"), "latest"),
            ),
            [
                f"packages[1].marker {NO_EXTRA}",
                f"tool.envsync.format is {FORMAT + 1}; this envsync reads format {FORMAT}",
            ],
            "upgrade envsync, or " + RELOCK,
            id="a-newer-format-is-not-read-further",
        ),
        pytest.param(
            lock_text(
                TWO_PACKAGES,
                (("packages", 0, "wheels", 0, "size"), -1),
                (("tool",), {"other": {}}),
            ),
            [
                "packages[0].wheels[0].size must be a size in bytes (0 or more), found -1",
                "has no [tool.envsync] table, so it was not written by envsync",
            ],
            RELOCK,
            id="no-tool-table-last",
        ),
        pytest.param(
            # [tool.envsync] written before the [[packages]]
            lock_text({k: v for k, v in TWO_PACKAGES.items() if k != "packages"}).replace(
                'python = "3.12"', 'python = "latest"'
            )
            + lock_text(
                {"packages": TWO_PACKAGES["packages"]}, (("packages", 1, "marker"), "extra == 'x'")
            ),
            [
                (
                    "tool.envsync.targets[0] must be a table with python (like 3.12) and "
                    'platform, found {"python": "latest", "platform": "linux-x86_64"}'
                ),
                f"packages[1].marker {NO_EXTRA}",
            ],
            RELOCK,
            id="the-files-order-not-the-order-of-the-checks",
        ),
    ],
)
def test_several_problems(text, lines, hint):
    error = problems_of(text)
    if len(lines) == 1:
        assert str(error) == f"{LOCK_PATH}: {lines[0]}"
    else:
        shown = [f"{LOCK_PATH}: {x}" if x[0] != "h" else f"{LOCK_PATH} {x}" for x in lines]
        assert str(error).split("\n") == [HEAD, *(f"  {line}" for line in shown)]
    assert error.hint == hint


def test_info_alone_lists_every_problem_of_the_table():
    lock = loads(tomli_w.dumps(TWO_PACKAGES), path=LOCK_PATH)
    table = dict(lock.tool or {})
    table["envsync"] = {**table["envsync"], "targets": 3.12, "groups": 5}
    broken = replace(lock, tool=table)
    with pytest.raises(LockError) as caught:
        info(broken, path=LOCK_PATH)
    assert str(caught.value).split("\n") == [
        HEAD,
        f"  {LOCK_PATH}: tool.envsync.groups must be an array of strings, found 5",
        f"  {LOCK_PATH}: tool.envsync.targets must be an array of tables, found 3.12",
    ]


# --- info and pins --------------------------------------------------------------------------


def test_info():
    lock = lock_of(pkg("rich"), python="3.12.4")
    assert info(lock) == LockInfo(
        format=FORMAT,
        fingerprint=fingerprint(SPEC),
        groups=("dev", "docs"),
        targets=(target("3.12"),),
        inputs=fingerprint(SPEC),
        requirements={"": ("requests>=2", "rich"), "dev": ("pytest>=8",), "docs": ("sphinx",)},
    )


def test_parse_gives_the_lock_and_its_table_read_once():
    lock = lock_of(pkg("rich"), python="3.12.4")
    parsed = parse(dumps(lock), path=LOCK_PATH)
    assert parsed.info == info(parsed.lock) == info(lock)
    assert dumps(parsed.lock) == dumps(lock)
    assert is_fresh(parsed.lock, SPEC, table=parsed.info)
    assert not is_fresh(parsed.lock, spec_of(SPEC_TEXT.replace("3.12", "3.13")), table=parsed.info)


def test_pins_skip_directories_without_a_version():
    lock = lock_of(
        pkg("rich", "13.7.1"),
        pkg("mylib", None, directory="libs/mylib"),
        pkg("versioned-dir", "0.3", directory="libs/v"),
        pkg("pytest", "8.2", groups=["dev"]),
    )
    # A source tree's version is not a pin to keep: the tree may change under it.
    assert pins(lock) == {"pytest": Version("8.2"), "rich": Version("13.7.1")}


def test_a_source_tree_version_is_kept_out_of_version_but_used_for_planning():
    lock = lock_of(pkg("mylib", "0.3", directory="libs/mylib", editable=True))
    entry = toml_of(lock)["packages"][0]
    assert "version" not in entry  # PEP 751: MUST NOT for source trees
    assert entry["tool"] == {"envsync": {"version": "0.3"}}
    want = only(selected(loads(dumps(lock))))
    assert want.version == Version("0.3")
    assert package_version(lock.packages[0]) == Version("0.3")


@pytest.mark.parametrize("seen", [5, "not a version"])
def test_a_bad_source_tree_version_is_ignored(seen):
    text = dumps(lock_of(pkg("mylib", "0.3", directory="libs/mylib")))
    text = text.replace('version = "0.3"', f"version = {json.dumps(seen)}")
    assert only(selected(loads(text))).version is None


# --- select ---------------------------------------------------------------------------------

TAG_CASES = [
    pytest.param([ANY], (WINDOWS, ANY), ANY, id="only-pure-fits"),
    pytest.param([LINUX, ANY], (ANY, LINUX), LINUX, id="specific-tag-listed-first-wins"),
    pytest.param([ANY, LINUX], (LINUX, ANY), ANY, id="tag-order-decides-not-wheel-order"),
    pytest.param([WINDOWS], (WINDOWS, LINUX), WINDOWS, id="platform-wheel"),
]


@pytest.mark.parametrize(("tags", "wheel_tags", "chosen"), TAG_CASES)
def test_select_picks_the_best_wheel_for_the_tags(tags, wheel_tags, chosen):
    wheels = tuple(wheel("rich", "13.0", t, sha256=str(i) * 64) for i, t in enumerate(wheel_tags))
    want = only(selected(lock_of(pkg("rich", "13.0", wheels=wheels)), tags=tags))
    filename = f"rich-13.0-{chosen}.whl"
    assert want == Wanted(
        name=nn("rich"),
        version=Version("13.0"),
        artifact=Artifact(
            kind="wheel",
            url=f"{FILES}/{filename}",
            sha256=str(wheel_tags.index(chosen)) * 64,
            filename=filename,
        ),
    )


def test_select_falls_back_to_the_sdist_when_no_wheel_fits():
    lock = lock_of(pkg("rich", wheels=(wheel("rich", tag=WINDOWS),), sdist=sdist("rich")))
    assert only(selected(lock, tags=[ANY])).artifact == Artifact(
        kind="sdist", url=f"{FILES}/{SDIST}", sha256=SHA_B, filename=SDIST
    )


def test_select_sdist_only():
    lock = lock_of(pkg("rich", sdist=sdist("rich")))
    assert only(selected(lock, tags=[LINUX])).artifact.kind == "sdist"


@pytest.mark.parametrize(
    ("groups", "names"),
    [
        pytest.param([], ["rich"], id="no-group"),
        pytest.param(["dev"], ["pytest", "rich"], id="dev"),
        pytest.param(["docs"], ["rich", "sphinx"], id="docs"),
        pytest.param(["dev", "docs"], ["pytest", "rich", "sphinx"], id="both"),
        pytest.param(["other"], ["rich"], id="unknown-group-adds-nothing"),
    ],
)
def test_select_includes_group_packages_only_when_asked(groups, names):
    lock = lock_of(pkg("sphinx", groups=["docs"]), pkg("rich"), pkg("pytest", groups=["dev"]))
    assert [w.name for w in selected(lock, groups=groups)] == names


def test_select_a_package_of_two_groups_comes_with_either():
    lock = lock_of(pkg("rich"), pkg("coverage", groups=["dev", "docs"]))
    assert [w.name for w in selected(lock, groups=["docs"])] == ["coverage", "rich"]


NO_PYTHON_SPEC = spec_of("[env]\n")

# Columns: the lock, the environment's Python and tags, and what the message says.
MISFIT_CASES = [
    pytest.param(
        lock_of(pkg("rich"), spec=NO_PYTHON_SPEC, python="3.12.4"),
        "3.11.2",
        [ANY],
        "does not satisfy any of the environments",
        id="environment-marker",
    ),
    pytest.param(
        lock_of(pkg("rich"), python="3.12.4"),
        "3.13.0",
        [ANY],
        "does not satisfy the Python version requirement '==3.12.*'",
        id="requires-python",
    ),
    pytest.param(
        lock_of(pkg("rich", requires_python=">=3.13", wheels=(wheel("rich"),))),
        "3.12.4",
        [ANY],
        "'>=3.13' for package 'rich'",
        id="package-requires-python",
    ),
    pytest.param(
        lock_of(pkg("rich", wheels=(wheel("rich", tag=WINDOWS),))),
        "3.12.4",
        [ANY, LINUX],
        "No wheel found matching the provided tags for package 'rich'",
        id="no-wheel-no-sdist",
    ),
]


@pytest.mark.parametrize(("lock", "python", "tags", "detail"), MISFIT_CASES)
def test_select_lock_that_does_not_fit(lock, python, tags, detail):
    with pytest.raises(LockError) as caught:
        selected(lock, python=python, tags=tags)
    assert str(caught.value).startswith("the lock does not fit this environment: ")
    assert detail in str(caught.value)
    assert caught.value.hint is not None
    assert "envsync lock" in caught.value.hint


PATH_CASES = [
    pytest.param(
        {"wheels": (wheel("rich", path=f"dist/{WHEEL_ANY}"),)},
        Path("/proj"),
        Artifact(
            kind="wheel", url=f"file:///proj/dist/{WHEEL_ANY}", sha256=SHA_A, filename=WHEEL_ANY
        ),
        id="wheel-relative",
    ),
    pytest.param(
        {"wheels": (wheel("rich", path=f"../shared/./dist/{WHEEL_ANY}"),)},
        Path("/work/app"),
        Artifact(
            kind="wheel",
            url=f"file:///work/shared/dist/{WHEEL_ANY}",
            sha256=SHA_A,
            filename=WHEEL_ANY,
        ),
        id="wheel-dotdot-normalized",
    ),
    pytest.param(
        {"wheels": (wheel("rich", path=f"/srv/wheels/{WHEEL_ANY}"),)},
        Path("/proj"),
        Artifact(
            kind="wheel", url=f"file:///srv/wheels/{WHEEL_ANY}", sha256=SHA_A, filename=WHEEL_ANY
        ),
        id="wheel-absolute",
    ),
    pytest.param(
        {"sdist": sdist("rich", path=f"my dists/{SDIST}")},
        Path("/proj"),
        Artifact(
            kind="sdist", url=f"file:///proj/my%20dists/{SDIST}", sha256=SHA_B, filename=SDIST
        ),
        id="sdist-space-quoted",
    ),
    pytest.param(
        {"archive": LockedFile(filename=SDIST, path=f"../vendor/{SDIST}", sha256=SHA_B)},
        Path("/proj/app"),
        Artifact(kind="archive", url=f"file:///proj/vendor/{SDIST}", sha256=SHA_B),
        id="archive-path-has-no-filename",
    ),
    pytest.param(
        {"archive": LockedFile(filename=SDIST, url=f"https://example.com/{SDIST}", sha256=SHA_B)},
        Path("/proj"),
        Artifact(kind="archive", url=f"https://example.com/{SDIST}", sha256=SHA_B),
        id="archive-url",
    ),
]


@pytest.mark.parametrize(("sources", "root", "artifact"), PATH_CASES)
def test_select_locates_files(sources, root, artifact):
    want = only(selected(lock_of(pkg("rich", **sources)), root=root))
    assert want == Wanted(name=nn("rich"), version=Version("1.0"), artifact=artifact)


@pytest.mark.parametrize(
    ("directory", "editable", "url"),
    [
        pytest.param("../libs/mylib", True, "file:///proj/libs/mylib", id="editable-dotdot"),
        pytest.param("libs/mylib", False, "file:///proj/app/libs/mylib", id="not-editable"),
        pytest.param(".", False, "file:///proj/app", id="the-project-itself"),
    ],
)
def test_select_directory(directory, editable, url):
    lock = lock_of(pkg("mylib", None, directory=directory, editable=editable))
    want = only(selected(lock, root=Path("/proj/app")))
    assert want == Wanted(
        name=nn("mylib"),
        version=None,
        artifact=Artifact(kind="directory", url=url),
        editable=editable,
    )


def test_select_result_is_sorted_by_name():
    lock = lock_of(pkg("zed"), pkg("alpha"), pkg("mid", directory="libs/mid"))
    assert [w.name for w in selected(lock)] == ["alpha", "mid", "zed"]


def test_select_vcs_package_names_its_commit():
    data = copy.deepcopy(VALID_LOCK)
    data["packages"].append(
        {
            "name": "tool-x",
            "vcs": {
                "type": "git",
                "url": "https://git.example/o/tool-x.git",
                "commit-id": "0123456789abcdef0123456789abcdef01234567",
            },
        }
    )
    lock = loads(tomli_w.dumps(data), path=LOCK_PATH)
    wanted = {w.name: w for w in selected(lock)}["tool-x"]
    assert wanted.artifact.kind == "vcs"
    assert wanted.artifact.url == (
        "git+https://git.example/o/tool-x.git@0123456789abcdef0123456789abcdef01234567"
    )


# --- groups: default groups, group roots, --only-group ----------------------------------------


def test_group_roots_and_default_groups_are_recorded_in_the_tool_table():
    spec = spec_of(
        SPEC_TEXT.replace(
            'dependencies = ["requests>=2", "rich"]',
            ('dependencies = ["requests>=2", "rich"]\ndefault-groups = ["dev"]'),
        )
    )
    lock = single_lock(
        spec=spec,
        python="3.12.4",
        packages=[pkg("rich"), pkg("pytest", groups=["dev"])],
        roots={"dev": ["pytest", "rich", "pytest"], "": ["rich"]},
    )
    table = toml_of(lock)["tool"]["envsync"]
    assert table["default-groups"] == ["dev"]
    assert table["group-roots"] == {"dev": ["pytest", "rich"]}
    assert info(loads(dumps(lock))).roots == {"dev": ("pytest", "rich"), "": ("rich",)}
    assert info(lock).default_groups == ("dev",)


def test_only_group_installs_what_the_group_needs_and_nothing_else():
    lock = single_lock(
        spec=SPEC,
        python="3.12.4",
        packages=[
            pkg("rich", needs=["pygments"]),
            pkg("pygments"),
            pkg("requests"),
            pkg("pytest", groups=["dev"], needs=["pluggy", "pygments"]),
            pkg("pluggy", groups=["dev"]),
            pkg("sphinx", groups=["docs"]),
        ],
        roots={"dev": ["pytest", "rich"], "docs": ["sphinx"]},
    )
    wanted = select(
        lock, environment=marker_env(), tags=[ANY], groups=["dev"], root=PROJECT, main=False
    )
    assert [w.name for w in wanted] == ["pluggy", "pygments", "pytest", "rich"]


def test_only_group_follows_the_roots_of_the_table_the_caller_holds():
    lock = single_lock(
        spec=SPEC,
        python="3.12.4",
        packages=[
            pkg("rich"),
            pkg("pytest", groups=["dev"], needs=["pluggy"]),
            pkg("pluggy", groups=["dev"]),
        ],
        roots={"dev": ["pytest", "rich"]},
    )
    held = replace(info(lock), roots={"dev": ("pytest",)})

    def only_dev(table: LockInfo | None) -> list[str]:
        where = {"environment": marker_env(), "tags": [ANY], "root": PROJECT}
        return [w.name for w in select(lock, **where, groups=["dev"], main=False, table=table)]

    assert only_dev(None) == ["pluggy", "pytest", "rich"]
    assert only_dev(held) == ["pluggy", "pytest"]


def test_group_roots_must_be_a_table_of_string_arrays():
    with pytest.raises(LockError, match=r"tool\.envsync\.group-roots must be a table"):
        loads(edited(("tool", "envsync", "group-roots"), ["dev"]), path=LOCK_PATH)
    with pytest.raises(LockError, match=r"tool\.envsync\.group-roots\.dev must be an array"):
        loads(edited(("tool", "envsync", "group-roots"), {"dev": "pytest"}), path=LOCK_PATH)


@pytest.mark.parametrize(
    "addition",
    [
        pytest.param('default-groups = ["dev"]', id="default-groups"),
    ],
)
def test_new_spec_inputs_change_the_fingerprint(addition):
    changed = spec_of(SPEC_TEXT.replace('"rich"]\n', f'"rich"]\n{addition}\n', 1))
    assert fingerprint(changed) != fingerprint(SPEC)


def test_local_project_hashes_change_the_fingerprint():
    assert fingerprint(SPEC, {"libs/a": "1"}) != fingerprint(SPEC)
    assert fingerprint(SPEC, {"libs/a": "1"}) != fingerprint(SPEC, {"libs/a": "2"})
    assert fingerprint(SPEC, {}) == fingerprint(SPEC)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(["x"], "tool.envsync.requirements must be a table", id="not-a-table"),
        pytest.param({"groups": []}, "tool.envsync.requirements must be a table", id="groups-list"),
        pytest.param(
            {"dependencies": "x"}, "tool.envsync.requirements.dependencies must be", id="deps-str"
        ),
    ],
)
def test_recorded_requirements_are_checked(value, message):
    with pytest.raises(LockError, match=re.escape(message)):
        loads(edited(("tool", "envsync", "requirements"), value), path=LOCK_PATH)
