"""env.toml's [lock] -> Spec.lock: every value accepted or refused, and what a user is told.

Whole messages for a few cases are pinned in tests/data/specs/cases.toml (shared with the
schema test); here each table row checks one value's outcome: the LockTargets it gives, or
the problem's key, what it says and its did-you-mean.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w
from hypothesis import example, given
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet

from envsync.core.spec import Spec, parse_spec
from envsync.core.speclock import allows_minor, suggest_platform
from envsync.core.targets import PLATFORMS, LockTargets
from envsync.errors import SpecError, SpecProblem

PATH = Path("/project/env.toml")
UNNAMED = "envsync names no such platform"


def _lock(lock: dict[str, object], python: str | None = None) -> str:
    document: dict[str, object] = {"lock": lock}
    if python is not None:
        document["env"] = {"python": python}
    return tomli_w.dumps(document)


def _problems(text: str) -> list[SpecProblem]:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, path=PATH)
    return list(caught.value.problems)


def _problem(text: str) -> SpecProblem:
    (problem,) = _problems(text)
    return problem


# --- accepted ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", LockTargets(), id="no [lock]: this machine's"),
        pytest.param("[lock]\n", LockTargets(), id="an empty [lock]: this machine's"),
        pytest.param(
            _lock({"python-versions": ["3.12"]}),
            LockTargets(python_versions=("3.12",)),
            id="one Python, no platform",
        ),
        pytest.param(
            _lock({"platforms": ["macos-arm64"]}),
            LockTargets(platforms=("macos-arm64",)),
            id="one platform, no Python",
        ),
        pytest.param(
            _lock({"python-versions": ["3.13", "3.9", "3.10"]}),
            LockTargets(python_versions=("3.9", "3.10", "3.13")),
            id="Pythons sorted as versions, not as text",
        ),
        pytest.param(
            _lock({"platforms": list(reversed(PLATFORMS))}),
            LockTargets(platforms=tuple(sorted(PLATFORMS))),
            id="every platform, sorted by name",
        ),
        pytest.param(
            _lock({"python-versions": ["3.0", "3.100"]}),
            LockTargets(python_versions=("3.0", "3.100")),
            id="any Python 3 minor version",
        ),
        pytest.param(
            _lock({"python-versions": ["3.11", "3.12"]}, python=">=3.11"),
            LockTargets(python_versions=("3.11", "3.12")),
            id="each allowed by env.python",
        ),
        pytest.param(
            _lock({"python-versions": ["3.11"]}, python=">=3.11.4"),
            LockTargets(python_versions=("3.11",)),
            id="a minor version env.python allows from a patch on",
        ),
        pytest.param(
            _lock({"python-versions": ["3.12"]}, python="3.12"),
            LockTargets(python_versions=("3.12",)),
            id="a bare env.python version",
        ),
        pytest.param(
            _lock({"python-versions": ["3.12"]}, python="not a specifier"),
            None,
            id="an invalid env.python: only its own problem",
        ),
    ],
)
def test_accepted(text: str, expected: LockTargets | None):
    if expected is None:  # the row's point: [lock] adds no problem of its own
        assert [p.key for p in _problems(text)] == ["env.python"]
        return
    assert parse_spec(text, path=PATH).lock == expected


def test_spec_lock_defaults_to_empty():
    assert Spec(path=PATH, python=SpecifierSet(), venv=PATH.parent, dependencies=()).lock == (
        LockTargets()
    )


# --- refused: the table and its keys ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "found", "suggestion"),
    [
        ("lock = 1\n", "lock", "integer 1", None),
        ('lock = "linux-x86_64"\n', "lock", 'string "linux-x86_64"', None),
        ("[lock]\nplatform = []\n", "lock.platform", 'unknown key "platform"', "platforms"),
        ("[lock]\nplatfrom = []\n", "lock.platfrom", 'unknown key "platfrom"', "platforms"),
        ("[lock]\npython = []\n", "lock.python", 'unknown key "python"', "python-versions"),
        ("[lock]\npyhton = []\n", "lock.pyhton", 'unknown key "pyhton"', "python-versions"),
        (
            "[lock]\npython_versions = []\n",
            "lock.python_versions",
            'unknown key "python_versions"',
            "python-versions",
        ),
        ("[lock]\nversions = []\n", "lock.versions", 'unknown key "versions"', "python-versions"),
        ("[lock]\ncolour = 1\n", "lock.colour", 'unknown key "colour"', None),
        ("[lock]\npython-versions = []\n", "lock.python-versions", "[]", None),
        ("[lock]\nplatforms = []\n", "lock.platforms", "[]", None),
        (
            '[lock]\npython-versions = "3.12"\n',
            "lock.python-versions",
            'string "3.12"',
            None,
        ),
        ("[lock]\nplatforms = {}\n", "lock.platforms", "table {}", None),
        ("[lock]\nplatforms = [1]\n", "lock.platforms[0]", "integer 1", None),
        ("[lock]\npython-versions = [3.12]\n", "lock.python-versions[0]", "float 3.12", None),
    ],
)
def test_refused_table_and_keys(text: str, key: str, found: str, suggestion: str | None):
    problem = _problem(text)
    assert (problem.key, problem.found, problem.suggestion) == (key, found, suggestion)
    assert problem.line is not None


# --- refused: python-versions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "suggestion", "reason"),
    [
        ("3.12.1", "3.12", None),
        ("3.12.*", "3.12", None),
        ("3.12.0.1", "3.12", None),
        ("312", "3.12", None),
        ("py312", "3.12", None),
        ("cp312", "3.12", None),
        ("python3.12", "3.12", None),
        ("Python 3.12", "3.12", None),
        (" 3.12", "3.12", None),
        ("3.12 ", "3.12", None),
        ("3.012", "3.12", None),
        ("3", None, None),
        ("", None, None),
        ("3.", None, None),
        (".12", None, None),
        ("three", None, None),
        ("3.x", None, None),
        ("03.12", None, None),
        ("3.12a1", None, None),
        ("2.7", None, "envsync locks for Python 3"),
        ("4.0", None, "envsync locks for Python 3"),
        ("3.1" + "0" * 5000, None, "a number of more than"),
    ],
)
def test_refused_python_version(value: str, suggestion: str | None, reason: str | None):
    problem = _problem(_lock({"python-versions": ["3.11", value]}))
    assert problem.key == "lock.python-versions[1]"
    assert problem.expected == 'a Python minor version like "3.12"'
    assert problem.suggestion == suggestion
    assert (reason is not None and reason in problem.found) or problem.found.endswith('"')


@pytest.mark.parametrize(
    ("python", "value", "shown"),
    [
        (">=3.11", "3.10", ">=3.11"),
        ("<3.11", "3.11", "<3.11"),
        ("3.12", "3.11", "==3.12.*"),
        ("==3.12.*", "3.13", "==3.12.*"),
        (">=3.11,!=3.12.*", "3.12", "!=3.12.*,>=3.11"),
        ("~=3.12.2", "3.13", "~=3.12.2"),
    ],
)
def test_refused_python_version_env_python_excludes(python: str, value: str, shown: str):
    problem = _problem(_lock({"python-versions": [value]}, python=python))
    # Both keys named: the one refused and the one that refuses it.
    assert problem.key == "lock.python-versions[0]"
    assert problem.expected == f"a Python version env.python allows ({shown})"
    assert problem.found == f'"{value}"'


def test_python_version_twice_names_the_first():
    problem = _problem(_lock({"python-versions": ["3.12", "3.11", "3.12"]}))
    assert problem.key == "lock.python-versions[2]"
    assert problem.expected == "each Python version once"
    assert problem.found == '"3.12" again, also at lock.python-versions[0]'


def test_every_problem_at_once_each_on_its_line():
    text = (
        '[env]\npython = ">=3.11"\n\n[lock]\npython-versions = [\n  "3.10",\n  "3.12.1",\n]\n'
        'platforms = [\n  "linux-amd64",\n  "linux-x86_64",\n  "linux-x86_64",\n]\nos = 1\n'
    )
    found = [(p.line, p.key, p.suggestion) for p in _problems(text)]
    assert found == [
        (6, "lock.python-versions[0]", None),
        (7, "lock.python-versions[1]", "3.12"),
        (10, "lock.platforms[0]", "linux-x86_64"),
        (11, "lock.platforms[2]", None),  # the line of the first spelling: the same text
        (14, "lock.os", None),
    ]


# --- allowed by [env] python -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("python", "minor", "allowed"),
    [
        (">=3.11", "3.10", False),
        (">=3.11", "3.11", True),
        (">=3.11.4", "3.11", True),
        ("<3.11.4", "3.11", True),
        ("<3.11", "3.11", False),
        ("<3.12.0", "3.12", False),
        ("<=3.12.0", "3.12", True),
        ("==3.12.*", "3.12", True),
        ("==3.12.*", "3.11", False),
        ("!=3.12.*", "3.12", False),
        ("!=3.12.1", "3.12", True),
        ("!=3.12.0", "3.12", True),
        ("~=3.12.2", "3.12", True),
        ("~=3.12.2", "3.13", False),
        ("~=3.12", "3.13", True),
        ("==3.12.5", "3.12", True),
        ("==3.12.5", "3.13", False),
        (">3.12.5,<3.12.7", "3.12", True),
        (">3.12.5,<3.12.6", "3.12", False),
        ("===3.12.4", "3.12", True),
        ("===foo", "3.12", False),
        (">=3.11,!=3.11.*", "3.11", False),
        ("==3.*", "3.13", True),
        (">=3.10,<4", "3.14", True),
        ("==3.12.1000001", "3.12", True),
    ],
)
def test_allows_minor(python: str, minor: str, allowed: bool):
    assert allows_minor(SpecifierSet(python), minor) is allowed


_PATCH_SPECIFIERS = st.builds(
    "{}{}".format,
    st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "~="]),
    st.builds("3.{}.{}".format, st.sampled_from([11, 12]), st.integers(0, 20)),
) | st.builds(
    "{}3.{}{}".format,
    st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "~="]),
    st.sampled_from([11, 12]),
    st.sampled_from(["", ".*"]),
).filter(lambda s: not s.endswith(".*") or s[:2] in {"==", "!="})


@given(st.lists(_PATCH_SPECIFIERS, min_size=1, max_size=3), st.sampled_from(["3.11", "3.12"]))
@example(["<3.12.0"], "3.12")
@example([">3.12.5", "<3.12.7"], "3.12")
def test_allows_minor_is_some_patch_admitted(specifiers: list[str], minor: str):
    python = SpecifierSet(",".join(specifiers))
    # Named patches stop at 20: 30 stands for every patch beyond.
    assert allows_minor(python, minor) is any(python.contains(f"{minor}.{p}") for p in range(31))


# --- refused: platforms ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "suggestion"),
    [
        ("linux-amd64", "linux-x86_64"),
        ("linux_x86_64", "linux-x86_64"),
        ("linux-x64", "linux-x86_64"),
        ("Linux-X86_64", "linux-x86_64"),
        (" linux-x86_64", "linux-x86_64"),
        ("linux-arm64", "linux-aarch64"),
        ("manylinux_2_28_aarch64", "linux-aarch64"),
        ("x86_64-unknown-linux-gnu", "linux-x86_64"),
        ("macos-aarch64", "macos-arm64"),
        ("macOS-ARM64", "macos-arm64"),
        ("darwin-arm64", "macos-arm64"),
        ("osx-arm64", "macos-arm64"),
        ("macosx_13_0_x86_64", "macos-x86_64"),
        ("macos-amd64", "macos-x86_64"),
        ("win64", "windows-x86_64"),
        ("win32", "windows-x86_64"),
        ("windows", "windows-x86_64"),
        ("win_amd64", "windows-x86_64"),
        ("windows-amd64", "windows-x86_64"),
        ("Windows-x86_64", "windows-x86_64"),
        ("linux-64", "linux-x86_64"),  # conda's names
        ("osx-64", "macos-x86_64"),
        ("win-64", "windows-x86_64"),
        ("linux/amd64", "linux-x86_64"),  # Go's and Docker's
        ("darwin/arm64", "macos-arm64"),
        ("linx-x86_64", "linux-x86_64"),  # typos
        ("lnux-aarch64", "linux-aarch64"),
        ("macso-arm64", "macos-arm64"),
        ("windwos-x86_64", "windows-x86_64"),
    ],
)
def test_refused_platform_suggests_the_name(value: str, suggestion: str):
    problem = _problem(_lock({"platforms": [value]}))
    assert problem.key == "lock.platforms[0]"
    assert problem.expected == (
        "a platform envsync names (linux-x86_64, linux-aarch64, macos-arm64, macos-x86_64,"
        " windows-x86_64)"
    )
    assert (problem.found, problem.suggestion) == (f'"{value}"', suggestion)


@pytest.mark.parametrize("platform", PLATFORMS.values(), ids=list(PLATFORMS))
def test_uvs_name_for_each_platform_suggests_it(platform):
    assert platform.uv is not None
    assert suggest_platform(platform.uv) == platform.name


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("linux", "name the CPU too: linux-x86_64 or linux-aarch64"),
        ("LINUX", "name the CPU too: linux-x86_64 or linux-aarch64"),
        ("macos", "name the CPU too: macos-arm64 or macos-x86_64"),
        ("darwin", "name the CPU too: macos-arm64 or macos-x86_64"),
        ("macos-universal2", "name the CPU too: macos-arm64 or macos-x86_64"),
        ("linux-ppc64le", UNNAMED),
        ("linux-s390x", UNNAMED),
        ("linux-armv7l", UNNAMED),
        ("linux-i686", UNNAMED),
        ("linux-riscv64", UNNAMED),
        ("windows-arm64", UNNAMED),
        ("win-x86", UNNAMED),
        ("manylinux2014_ppc64le", UNNAMED),
        ("freebsd-x86_64", UNNAMED),
        ("x86_64", "name the system too: linux-x86_64, macos-x86_64 or windows-x86_64"),
        ("amd64", "name the system too: linux-x86_64, macos-x86_64 or windows-x86_64"),
        ("aarch64", "name the system too: linux-aarch64 or macos-arm64"),
        ("", None),
        ("any", None),
        ("linux-x86_64" * 10, None),  # too long to be a misspelling
    ],
)
def test_refused_platform_without_a_guess(value: str, reason: str | None):
    problem = _problem(_lock({"platforms": [value]}))
    assert problem.suggestion is None
    if reason is None:
        assert problem.found.endswith('"') or problem.found.endswith("...")
    else:
        assert problem.found.endswith(f"({reason})" if reason != UNNAMED else "platform)")
        assert reason in problem.found


def test_unnamed_platform_says_a_lock_is_made_for_it_by_default():
    problem = _problem(_lock({"platforms": ["linux-ppc64le"]}))
    assert problem.found == (
        '"linux-ppc64le" (envsync names no such platform; without [lock] platforms, a lock is'
        " made for the machine that locks, whatever its platform)"
    )


def test_platform_twice_names_the_first():
    problem = _problem(_lock({"platforms": ["macos-arm64", "linux-x86_64", "macos-arm64"]}))
    assert (problem.key, problem.expected) == ("lock.platforms[2]", "each platform once")
    assert problem.found == '"macos-arm64" again, also at lock.platforms[0]'


@pytest.mark.parametrize("name", PLATFORMS)
def test_no_platform_name_is_suggested_for_itself_or_another(name: str):
    assert suggest_platform(name) == name  # the aliases never turn one right name into another


# --- property: any array of strings loads or is one SpecError -----------------------------------

_WORDS = st.sampled_from(
    ["3.11", "3.12", "3.12.1", "2.7", "312", "linux-x86_64", "linux-amd64", "macos-aarch64",
     "win32", "linux", "linux-ppc64le", "darwin", ""]
) | st.text(max_size=30)  # fmt: skip
_ARRAYS = st.lists(_WORDS, max_size=5) | st.lists(st.text(), max_size=3)


@given(
    st.fixed_dictionaries(
        {}, optional={"python-versions": _ARRAYS, "platforms": _ARRAYS, "pyhton": _ARRAYS}
    ),
    st.sampled_from([None, ">=3.11", "3.12", "<3", "===x", "nonsense"]),
)
@example({"python-versions": ["3." + "1" * 5000]}, ">=3.11")
@example({"platforms": ["\u202elinux-x86_64"]}, None)
def test_any_arrays_of_strings_load_or_raise_spec_error(lock: dict[str, list[str]], python):
    text = _lock(lock, python)
    try:
        outcome: Spec | SpecError = parse_spec(text, path=PATH)
    except SpecError as err:
        outcome = err
    if isinstance(outcome, SpecError):
        assert outcome.problems
        assert all(p.key.startswith(("lock", "env.python")) for p in outcome.problems)
        return
    spec = outcome
    assert set(spec.lock.platforms) <= set(PLATFORMS)
    assert list(spec.lock.python_versions) == sorted(
        set(lock.get("python-versions", [])), key=lambda v: tuple(map(int, v.split(".")))
    )
