"""core/specedit.py: env.toml edited through tomlkit, everything around the edit kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envsync.core import specedit
from envsync.core.spec import parse_spec
from envsync.core.specedit import EditError, UnknownPackageError


def _add(text, *reqs, group=None):
    return specedit.dumps(specedit.add(specedit.load(text), reqs, group=group))


def _remove(text, *names, group=None):
    return specedit.dumps(specedit.remove(specedit.load(text), names, group=group))


COMMENTED = """\
# The project's environment.
[env]
python = ">=3.10"   # any 3.10+

dependencies = [
  "alpha>=1",   # the first
  # beta is pinned below 2: see issue 4
  "beta<2",
]

[groups]
dev = ["pytest", "ruff"]  # tools
"""

ADD_CASES = [
    pytest.param(
        COMMENTED,
        ["gamma>=3"],
        None,
        COMMENTED.replace('  "beta<2",\n', '  "beta<2",\n  "gamma>=3",\n'),
        id="many-lines-comments-kept",
    ),
    pytest.param(
        COMMENTED,
        ["alpha>=2"],
        None,
        COMMENTED.replace('"alpha>=1",   # the first', '"alpha>=2",   # the first'),
        id="replaced-in-place-comment-kept",
    ),
    pytest.param(
        COMMENTED,
        ["ALPHA>=2"],
        None,
        COMMENTED.replace('"alpha>=1",', '"ALPHA>=2",'),
        id="replaced-by-normalized-name",
    ),
    pytest.param(
        COMMENTED,
        ["mypy"],
        "dev",
        COMMENTED.replace('["pytest", "ruff"]', '["pytest", "ruff", "mypy"]'),
        id="one-line-group",
    ),
    pytest.param(
        COMMENTED,
        ["sphinx>=7"],
        "docs",
        COMMENTED + 'docs = ["sphinx>=7"]\n',
        id="new-group",
    ),
    pytest.param(
        '[env]\ndependencies = ["a"]\n',
        ["sphinx"],
        "docs",
        '[env]\ndependencies = ["a"]\n\n[groups]\ndocs = ["sphinx"]\n',
        id="no-groups-table-yet",
    ),
    pytest.param(
        "[env]\ndependencies = ['a', 'b']  # literal\n",
        ["c"],
        None,
        "[env]\ndependencies = ['a', 'b', 'c']  # literal\n",
        id="literal-quotes-followed",
    ),
    pytest.param(
        "[env]\ndependencies = ['a']\n",
        ["c; python_version >= '3.11'"],
        None,
        "[env]\ndependencies = ['a', \"c; python_version >= '3.11'\"]\n",
        id="basic-string-when-quote-inside",
    ),
    pytest.param(
        '[env]\ndependencies = ["a",\n    "b",\n]\n',
        ["c"],
        None,
        '[env]\ndependencies = ["a",\n    "b",\n    "c",\n]\n',
        id="trailing-comma",
    ),
    pytest.param(
        '[env]\npython = "3.12"\n\n[index]\nurl = "https://i.invalid/simple"\n',
        ["a"],
        None,
        '[env]\npython = "3.12"\ndependencies = ["a"]\n\n[index]\nurl = "https://i.invalid/simple"\n',
        id="no-dependencies-key-yet",
    ),
    pytest.param(
        'env = { dependencies = ["a"] }\n',
        ["b"],
        None,
        'env = { dependencies = ["a", "b"] }\n',
        id="inline-table",
    ),
    pytest.param(
        'env.dependencies = ["a"]\nenv.python = "3.12"\n',
        ["b"],
        None,
        'env.dependencies = ["a", "b"]\nenv.python = "3.12"\n',
        id="dotted-keys",
    ),
    pytest.param(
        '[groups]\n"Dev" = ["a"]\n',
        ["b"],
        "dev",
        '[groups]\n"Dev" = ["a", "b"]\n',
        id="group-named-as-written",
    ),
    pytest.param(
        '[env]\r\ndependencies = [\r\n  "a",\r\n]\r\n',
        ["b"],
        None,
        '[env]\r\ndependencies = [\r\n  "a",\r\n  "b",\r\n]\r\n',
        id="crlf",
    ),
]


@pytest.mark.parametrize(("text", "reqs", "group", "expected"), ADD_CASES)
def test_add(text, reqs, group, expected):
    assert _add(text, *reqs, group=group) == expected


REMOVE_CASES = [
    pytest.param(
        COMMENTED,
        ["beta"],
        None,
        COMMENTED.replace('  "beta<2",\n', ""),
        id="many-lines",
    ),
    pytest.param(
        COMMENTED,
        ["RUFF"],
        "DEV",
        COMMENTED.replace('["pytest", "ruff"]', '["pytest"]'),
        id="group-names-normalized",
    ),
    pytest.param(
        '[env]\ndependencies = ["a", "lib"]\n\n[sources]\nlib = { path = "lib" }\n'
        'other = { index = "x" }\n',
        ["lib"],
        None,
        '[env]\ndependencies = ["a"]\n\n[sources]\nother = { index = "x" }\n',
        id="source-only-it-used",
    ),
    pytest.param(
        '[env]\ndependencies = ["lib"]\n\n[groups]\ndev = ["lib>=1"]\n\n'
        '[sources]\nlib = { path = "lib" }\n',
        ["lib"],
        None,
        '[env]\ndependencies = []\n\n[groups]\ndev = ["lib>=1"]\n\n'
        '[sources]\nlib = { path = "lib" }\n',
        id="source-kept-while-a-group-asks",
    ),
]


@pytest.mark.parametrize(("text", "names", "group", "expected"), REMOVE_CASES)
def test_remove(text, names, group, expected):
    assert _remove(text, *names, group=group) == expected


def test_the_document_given_is_left_alone():
    document = specedit.load(COMMENTED)
    specedit.add(document, ["zeta"])
    specedit.remove(document, ["alpha"])
    assert specedit.dumps(document) == COMMENTED


def test_edits_stay_valid_specs():
    edited = _add(_remove(COMMENTED, "alpha"), "delta>=1", group="docs")
    spec = parse_spec(edited, path=Path("/work/p/env.toml"))
    assert [str(r) for r in spec.dependencies] == ["beta<2"]
    assert {g.name: [str(r) for r in g.requirements] for g in spec.groups}["docs"] == ["delta>=1"]


@pytest.mark.parametrize(
    ("names", "group", "message", "hint"),
    [
        (["alpah"], None, "alpah is not in env.toml's [env] dependencies", "did you mean 'alpha'?"),
        (["zzz"], None, "(alpha, beta)", "name a package listed there"),
        (["pytest"], None, "not in env.toml's [env] dependencies", "--group dev"),
        (["beta"], "dev", "not in env.toml's [groups] dev", "without --group"),
        (["x"], "deev", "env.toml has no group 'deev' (dev)", "did you mean 'dev'?"),
    ],
)
def test_remove_unknown_names(names, group, message, hint):
    with pytest.raises(UnknownPackageError) as caught:
        _remove(COMMENTED, *names, group=group)
    assert message in caught.value.message
    assert hint in str(caught.value.hint)


def test_remove_from_a_spec_with_nothing():
    with pytest.raises(UnknownPackageError, match="it is empty"):
        _remove('[env]\npython = "3.12"\n', "a")
    with pytest.raises(UnknownPackageError, match="it defines none"):
        _remove('[env]\npython = "3.12"\n', "a", group="dev")


def test_a_bad_requirement_is_named():
    with pytest.raises(EditError, match="'requests >>> 2' is not a PEP 508"):
        _add(COMMENTED, "requests >>> 2")


@pytest.mark.parametrize(
    ("text", "bare"),
    [
        ("requests", True),
        ("requests[socks]; os_name == 'posix'", True),
        ("a>=1", False),
        ("a @ https://x.invalid/a.whl", False),
    ],
)
def test_is_bare(text, bare):
    assert specedit.is_bare(specedit.requirement(text)) is bare


@pytest.mark.parametrize(
    ("versions", "kind", "expected"),
    [
        (["2.32.3"], "lower", ">=2.32"),
        (["2.32.3"], "major", ">=2.32,<3"),
        (["2.32.3"], "minor", ">=2.32.3,<2.33"),
        (["2.32.3"], "exact", "==2.32.3"),
        (["2"], "lower", ">=2.0"),
        (["2"], "minor", ">=2.0.0,<2.1"),
        (["0.4.1"], "major", ">=0.4,<0.5"),
        (["2.0b1"], "lower", ">=2.0b1"),
        (["1.0.post1"], "lower", ">=1.0"),
        (["1!2.5"], "major", ">=1!2.5,<1!3"),
        (["1.0+local"], "exact", "==1.0"),
        (["1.2", "1.5"], "lower", ">=1.2"),
        (["1.2", "2.5"], "major", ">=1.2,<3"),
        ([], "lower", None),
    ],
)
def test_bound(versions, kind, expected):
    assert specedit.bound("pkg", [Version(v) for v in versions], kind) == expected


def test_exact_refuses_several_versions():
    with pytest.raises(EditError, match=r"several versions .*\(1.2, 1.5\)"):
        specedit.bound("pkg", [Version("1.2"), Version("1.5")], "exact")


@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(specedit.BOUNDS),
)
def test_every_version_resolved_satisfies_its_bound(releases, kind):
    versions = [Version(".".join(map(str, r))) for r in releases]
    if kind == "exact":
        versions = versions[:1]
    specifier = SpecifierSet(specedit.bound("pkg", versions, kind))
    assert all(specifier.contains(v, prereleases=True) for v in versions)


@pytest.mark.parametrize(
    ("text", "specifier", "expected"),
    [
        ("requests", ">=2.32", "requests>=2.32"),
        ("Requests[socks,http2]", ">=2,<3", "Requests[http2,socks]>=2,<3"),
        ("rich; python_version >= '3.11'", ">=13.0", 'rich>=13.0; python_version >= "3.11"'),
    ],
)
def test_bounded(text, specifier, expected):
    assert specedit.bounded(text, specifier) == expected


def test_changed_lines():
    changed = specedit.changed_lines(COMMENTED, _add(_remove(COMMENTED, "alpha"), "gamma"))
    assert changed.added == ('  "gamma",',)
    assert changed.removed == ('  "alpha>=1",   # the first',)


BASES = [
    COMMENTED,
    '[env]\npython = "3.12"  # kept\ndependencies = [\n  "zz",  # last\n]\n',
    "[env]\ndependencies = ['zz']  # literal\n",
    'env = { dependencies = ["zz"] }  # inline\n',
    'env.dependencies = ["zz"]\nenv.python = "3.12"\n',
    '[env]\r\ndependencies = [\r\n  "zz",\r\n]\r\n',
]


@given(
    st.sampled_from(BASES),
    st.lists(st.sampled_from(["a", "b-c", "d_e", "F"]), min_size=1, max_size=4, unique=True),
)
def test_add_then_remove_gives_the_text_back(base, names):
    added = _add(base, *names)
    assert _remove(added, *names) == base
    # Adding adds lines, or grows a one-line array in place: no other line changes.
    assert all("dependencies" in line for line in specedit.changed_lines(base, added).removed)
