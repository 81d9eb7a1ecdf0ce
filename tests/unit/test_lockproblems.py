"""A pylock.toml with several problems: every one is reported at once, in the file's order.

A lock is built inline (lockfile.build_lock), broken by hand edits to its TOML, and read
back with lockfile.loads; each test looks at the LockError a user gets.
"""

from __future__ import annotations

import copy
import dataclasses
import sys
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version

from envsync.core.lockfile import (
    FORMAT,
    LockedFile,
    ResolvedPackage,
    build_lock,
    dumps,
    info,
    loads,
)
from envsync.core.spec import parse_spec
from envsync.errors import LockError

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

LOCK_PATH = "/proj/pylock.toml"
RELOCK = "run `envsync lock` to write a fresh lock from env.toml"
HEAD = f"{LOCK_PATH} is not a lock envsync can use:"
NOPE = 'must list groups of tool.envsync.groups (dev, docs), found "nope"'
NO_EXTRA = (
    'must be a marker a lock can hold (PEP 751), found "extra == \\"x\\""'
    " (there is no marker variable 'extra' here)"
)
FILES = "https://files.example/packages"
SPEC = parse_spec(
    '[env]\npython = "3.12"\ndependencies = ["rich"]\n[groups]\ndev = ["pytest"]\n'
    'docs = ["sphinx"]\n',
    path=Path("/proj/env.toml"),
)


def _file(filename: str, digit: str) -> LockedFile:
    return LockedFile(filename=filename, url=f"{FILES}/{filename}", sha256=digit * 64)


def _base() -> dict[str, Any]:
    """A valid lock of two packages (pygments, then rich with a wheel and an sdist), as TOML."""
    packages = [
        ResolvedPackage(
            name=name,  # type: ignore[arg-type] # normalized already
            version=Version("1.0"),
            groups=frozenset(),
            wheels=(_file(f"{name}-1.0-py3-none-any.whl", "a"),),
            sdist=_file(f"{name}-1.0.tar.gz", "b") if name == "rich" else None,
        )
        for name in ("pygments", "rich")
    ]
    return tomllib.loads(dumps(build_lock(spec=SPEC, python="3.12.4", packages=packages)))


BASE = _base()


DROP = object()


def _edited(base: dict[str, Any], *edits: tuple[tuple[str | int, ...], object]) -> str:
    """*base*'s text with each key set to its value (removed for DROP)."""
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


def _problems_of(text: str) -> LockError:
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
        ("tool", "envsync", "python"),
        "latest",
        'tool.envsync.python must be a Python version like 3.12.4, found "latest"',
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
    assert [p.name for p in loads(tomli_w.dumps(BASE), path=LOCK_PATH).packages] == [
        "pygments",
        "rich",
    ]


@pytest.mark.parametrize(("key", "value", "line"), BREAKAGES)
def test_one_problem_reads_as_one_line(key, value, line):
    error = _problems_of(_edited(BASE, (key, value)))
    assert str(error) == f"{LOCK_PATH}: {line}"
    assert error.hint == RELOCK


@given(st.sets(st.sampled_from(range(len(BREAKAGES))), min_size=2))
def test_every_problem_is_listed_at_once_in_the_files_order(chosen):
    error = _problems_of(_edited(BASE, *((BREAKAGES[i][0], BREAKAGES[i][1]) for i in chosen)))
    lines = [f"{LOCK_PATH}: {BREAKAGES[i][2]}" for i in sorted(chosen)]
    assert str(error).split("\n") == [HEAD, *(f"  {line}" for line in lines)]
    assert [problem.describe(LOCK_PATH) for problem in error.problems] == lines
    assert error.hint == RELOCK


@pytest.mark.parametrize(
    ("text", "lines", "hint"),
    [
        pytest.param(
            _edited(
                BASE,
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
            _edited(
                BASE,
                (("tool", "envsync", "groups"), "dev"),
                (("tool", "envsync", "default-groups"), ["nope"]),
                (("tool", "envsync", "group-roots"), {"nope": ["x"]}),
            ),
            ["tool.envsync.groups must be an array of strings, found 'dev'"],
            RELOCK,
            id="groups-wrong-so-not-compared-with",
        ),
        pytest.param(
            _edited(
                BASE,
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
            _edited(
                BASE,
                (("tool", "envsync", "python"), DROP),
                (("tool", "envsync", "main-roots"), "rich"),
                (("tool", "envsync", "group-roots"), ["dev"]),
            ),
            [
                "tool.envsync.main-roots must be an array of strings, found 'rich'",
                "tool.envsync.group-roots must be a table, found ['dev']",
                "tool.envsync.python is missing",
            ],
            RELOCK,
            id="a-missing-key-comes-after-those-there",
        ),
        pytest.param(
            _edited(
                BASE,
                (("packages", 1, "marker"), "extra == 'x'"),
                (("tool", "envsync", "format"), FORMAT + 1),
                (("tool", "envsync", "python"), "latest"),
            ),
            [
                f"packages[1].marker {NO_EXTRA}",
                f"tool.envsync.format is {FORMAT + 1}; this envsync reads format {FORMAT}",
            ],
            "upgrade envsync, or " + RELOCK,
            id="a-newer-format-is-not-read-further",
        ),
        pytest.param(
            _edited(
                BASE,
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
            _edited({k: v for k, v in BASE.items() if k != "packages"}).replace(
                'python = "3.12.4"', 'python = "latest"'
            )
            + _edited({"packages": BASE["packages"]}, (("packages", 1, "marker"), "extra == 'x'")),
            [
                'tool.envsync.python must be a Python version like 3.12.4, found "latest"',
                f"packages[1].marker {NO_EXTRA}",
            ],
            RELOCK,
            id="the-files-order-not-the-order-of-the-checks",
        ),
    ],
)
def test_several_problems(text, lines, hint):
    error = _problems_of(text)
    if len(lines) == 1:
        assert str(error) == f"{LOCK_PATH}: {lines[0]}"
    else:
        shown = [f"{LOCK_PATH}: {x}" if x[0] != "h" else f"{LOCK_PATH} {x}" for x in lines]
        assert str(error).split("\n") == [HEAD, *(f"  {line}" for line in shown)]
    assert error.hint == hint


def test_info_alone_lists_every_problem_of_the_table():
    lock = loads(tomli_w.dumps(BASE), path=LOCK_PATH)
    table = dict(lock.tool or {})
    table["envsync"] = {**table["envsync"], "python": 3.12, "groups": 5}
    broken = dataclasses.replace(lock, tool=table)
    with pytest.raises(LockError) as caught:
        info(broken, path=LOCK_PATH)
    assert str(caught.value).split("\n") == [
        HEAD,
        f"  {LOCK_PATH}: tool.envsync.groups must be an array of strings, found 5",
        f"  {LOCK_PATH}: tool.envsync.python must be a string, found 3.12",
    ]
