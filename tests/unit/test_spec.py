"""env.toml -> Spec: the values a user gets, and the messages a bad spec gets.

The example specs live in tests/data/specs/cases.toml, shared with test_schema.py.
"""

from __future__ import annotations

import os.path
import sys
from pathlib import Path

import pytest
import tomli_w
from hypothesis import given
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from envsync.core.spec import (
    DEFAULT_KEEP,
    DEFAULT_VENV,
    LockTargets,
    NamedIndex,
    Source,
    Spec,
    parse_spec,
)
from envsync.errors import SpecError

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

CASES = tomllib.loads(
    (Path(__file__).parents[1] / "data" / "specs" / "cases.toml").read_text(encoding="utf-8")
)


def _expected_message(case, path):
    """The whole error text a user sees for a bad case."""
    lines = [
        str(line)
        .replace("{file}", str(path))
        .replace("{root}", str(path.parent))
        .replace("{parent}", str(path.parent.parent))
        for line in case["messages"]
    ]
    return "\n".join([f"{path} is not a valid envsync spec:", *(f"  {line}" for line in lines)])


def _view(spec):
    """The spec as the plain values cases.toml spells out."""
    return {
        "python": str(spec.python),
        "venv": os.path.relpath(spec.venv, spec.root).replace(os.sep, "/"),
        "dependencies": [str(requirement) for requirement in spec.dependencies],
        "groups": {g.name: [str(r) for r in g.requirements] for g in spec.groups},
        "url": spec.index.url,
        "extra-urls": list(spec.index.extra_urls),
        "find-links": list(spec.index.find_links),
        "keep": list(spec.keep),
        "default-groups": list(spec.default_groups),
        "indexes": {index.name: index.url for index in spec.indexes},
        "sources": {source.package: _source_view(source) for source in spec.sources},
        "installer": spec.installer,
        "compile-bytecode": spec.compile_bytecode,
        "resolver": spec.resolver,
        "build": spec.build,
        "seed": spec.seed,
        "link-mode": spec.link_mode,
        "lock": {
            "python-versions": list(spec.lock.python_versions),
            "platforms": list(spec.lock.platforms),
        },
    }


def _source_view(source):
    if source.index is not None:
        return {"index": source.index}
    return {"path": source.path, "editable": source.editable}


@pytest.mark.parametrize("case", CASES["good"], ids=lambda case: case["id"])
def test_good_spec(case, tmp_path):
    spec = parse_spec(case["text"], path=tmp_path / "env.toml")
    expected = {key: value for key, value in case.items() if key not in {"id", "text"}}
    actual = {key: value for key, value in _view(spec).items() if key in expected}
    assert actual == expected
    # and in order: Spec.groups, .indexes and .sources are sorted by name
    for key in ("groups", "indexes", "sources"):
        assert list(actual.get(key, {})) == list(expected.get(key, {}))


@pytest.mark.parametrize("case", CASES["bad"], ids=lambda case: case["id"])
def test_bad_spec(case, tmp_path):
    path = tmp_path / "proj" / "env.toml"
    with pytest.raises(SpecError) as caught:
        parse_spec(case["text"], path=path)
    assert str(caught.value) == _expected_message(case, path)
    assert len(caught.value.problems) == len(case["messages"])
    assert caught.value.path == path
    assert isinstance(caught.value, ValueError)


def test_cases_cover_every_schema_verdict():
    verdicts = {case["schema"] for case in CASES["bad"]}
    assert verdicts == {"rejects", "accepts", "n/a"}
    assert all("why" in case for case in CASES["bad"] if case["schema"] == "accepts")


# --- single behaviours ------------------------------------------------------------------------


def test_defaults(tmp_path):
    spec = parse_spec("", path=tmp_path / "env.toml")
    assert spec.python == SpecifierSet()
    assert spec.venv == tmp_path / DEFAULT_VENV
    assert spec.keep == DEFAULT_KEEP
    assert spec.dependencies == ()
    assert spec.groups == ()
    assert spec.index.url is None
    assert (spec.default_groups, spec.indexes, spec.sources) == ((), (), ())
    assert (spec.installer, spec.compile_bytecode) == ("native", False)
    assert spec.resolver == "pip-tools"
    assert spec.lock == LockTargets()


def test_venv_is_absolute_under_the_spec_folder(tmp_path):
    spec = parse_spec('[env]\nvenv = "envs/../.venv-312"\n', path=tmp_path / "env.toml")
    assert spec.venv == tmp_path / ".venv-312"
    assert spec.venv.is_absolute()
    assert spec.root == tmp_path


def test_venv_relative_to_a_relative_spec_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = parse_spec("", path=Path("proj") / "env.toml")
    assert spec.venv == tmp_path / "proj" / ".venv"


def test_absolute_venv_is_kept(tmp_path):
    elsewhere = tmp_path / "venvs" / "proj"
    text = tomli_w.dumps({"env": {"venv": str(elsewhere)}})
    spec = parse_spec(text, path=tmp_path / "proj" / "env.toml")
    assert spec.venv == elsewhere


def test_parse_does_no_file_io(tmp_path):
    # The spec file and its folder need not exist: parsing reads only the text given.
    spec = parse_spec('[env]\npython = "3.11"\n', path=tmp_path / "nowhere" / "env.toml")
    assert spec.path == tmp_path / "nowhere" / "env.toml"
    assert not (tmp_path / "nowhere").exists()


def test_group_lookup_is_normalized(tmp_path):
    spec = parse_spec('[groups]\nDev_Tools = ["ruff"]\n', path=tmp_path / "env.toml")
    group = spec.group("dev-tools")
    assert group is not None
    assert group.name == "Dev_Tools"
    assert spec.group("docs") is None


def test_source_lookups_and_named_indexes(tmp_path):
    text = """
[env]
dependencies = ["private-pkg", "mylib"]
[indexes.internal]
url = "https://pypi.internal.example/simple"
[sources]
Private_Pkg = { index = "internal" }
mylib = { path = "libs/mylib", editable = true }
"""
    spec = parse_spec(text, path=tmp_path / "env.toml")
    private = spec.source("private.pkg")
    assert private == Source(package=canonicalize_name("private-pkg"), index="internal")
    assert spec.indexes == (
        NamedIndex(name="internal", url="https://pypi.internal.example/simple"),
    )
    assert spec.source("MyLib") == Source(
        package=canonicalize_name("mylib"), path="libs/mylib", editable=True
    )
    assert spec.source("requests") is None


def test_bare_python_version_matches_its_release_line(tmp_path):
    spec = parse_spec('[env]\npython = "3.12"\n', path=tmp_path / "env.toml")
    assert spec.python.contains("3.12.7")
    assert not spec.python.contains("3.13.0")


def test_huge_integer_is_a_toml_problem(tmp_path):
    with pytest.raises(SpecError) as caught:
        parse_spec("a = " + "9" * 5000, path=tmp_path / "env.toml")
    (problem,) = caught.value.problems
    assert problem.expected == "valid TOML"
    assert problem.line is None


def test_deep_nesting_is_a_toml_problem(tmp_path):
    with pytest.raises(SpecError, match="nested too deeply"):
        parse_spec("a = " + "[" * 100_000, path=tmp_path / "env.toml")


def test_did_you_mean_is_a_field(tmp_path):
    with pytest.raises(SpecError) as caught:
        parse_spec("[env]\npyhton = '3.12'\n", path=tmp_path / "env.toml")
    (problem,) = caught.value.problems
    assert (problem.key, problem.line, problem.suggestion) == ("env.pyhton", 2, "python")


def test_line_of_a_key_in_its_own_table(tmp_path):
    # `python` appears first under [groups]; the problem is the one under [env].
    text = "[groups]\npython = []\n\n[env]\npython = 3\n"
    with pytest.raises(SpecError) as caught:
        parse_spec(text, path=tmp_path / "env.toml")
    assert caught.value.problems[0].line == 5


def test_key_with_dots_is_quoted(tmp_path):
    with pytest.raises(SpecError) as caught:
        parse_spec('[env]\n"a.b" = 1\n', path=tmp_path / "env.toml")
    assert caught.value.problems[0].key == 'env."a.b"'
    assert caught.value.problems[0].line == 2


def test_problem_without_a_line_comes_last(tmp_path):
    # The key is spelt with an escape, so its text cannot be found in the file.
    text = '[env]\n"pyh\\u0074on" = 1\nvenv = 1\n'
    with pytest.raises(SpecError) as caught:
        parse_spec(text, path=tmp_path / "env.toml")
    found = [(problem.key, problem.line) for problem in caught.value.problems]
    assert found == [("env.venv", 3), ("env.pyhton", None)]
    assert f"\n  {tmp_path / 'env.toml'}: env.pyhton: expected a known key" in str(caught.value)


# --- property: any text loads or raises SpecError ----------------------------------------------

_KEYS = st.sampled_from(
    ["env", "groups", "index", "python", "venv", "dependencies", "keep", "url", "extra-urls",
     "find-links", "dev", "Dev", "a b", "pyhton", "default-groups", "indexes", "sources",
     "internal", "requests", "rich", "path", "editable", "installer", "compile-bytecode",
     "resolver", "build", "seed", "link-mode", "lock", "python-versions", "platforms"]
) | st.text(max_size=8)  # fmt: skip
_STRINGS = st.sampled_from(
    ["", "3.12", "3.12.1", ">=3.11", "requests", "requests>=2", "a; python_version<'3'", ".",
     "..", "pip", "http://h/simple", "file:///x", "ftp://x", "rich[x] @ file:///p", "dev",
     "internal", "native", "pip ", "3.11", "linux-x86_64", "linux-amd64", "win32"]
) | st.text(max_size=20)  # fmt: skip
_SCALARS = (
    _STRINGS
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats()
    | st.booleans()
    | st.datetimes()
    | st.dates()
    | st.times()
)
_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_KEYS, children, max_size=4),
    max_leaves=20,
)
_DOCUMENTS = st.dictionaries(_KEYS, _VALUES, max_size=4)


def _loads_or_spec_error(text: str) -> None:
    path = Path("/project/env.toml")
    try:
        outcome: Spec | SpecError = parse_spec(text, path=path)
    except SpecError as err:
        outcome = err
    if isinstance(outcome, SpecError):
        assert str(outcome)
        assert outcome.problems
        assert all(problem.line is None or problem.line >= 1 for problem in outcome.problems)
    else:
        assert outcome.path == path
        assert outcome.venv.is_absolute()


@given(st.text())
def test_any_text_loads_or_raises_spec_error(text):
    _loads_or_spec_error(text)


@given(_DOCUMENTS)
def test_any_toml_document_loads_or_raises_spec_error(document):
    _loads_or_spec_error(tomli_w.dumps(document))


@given(
    st.dictionaries(
        st.sampled_from(["env", "groups", "index", "indexes", "lock", "sources"]),
        st.dictionaries(_KEYS, _VALUES),
    )
)
def test_any_tables_load_or_raise_spec_error(document):
    _loads_or_spec_error(tomli_w.dumps(document))


def test_index_resolved_makes_find_links_folders_absolute_and_keeps_urls() -> None:
    spec = parse_spec(
        '[index]\nfind-links = ["wheels", "https://example.invalid/links/"]\n',
        path=Path("/proj/env.toml"),
    )
    assert spec.index.find_links == ("wheels", "https://example.invalid/links/")
    resolved = spec.index.resolved(spec.root)
    assert resolved.find_links == (str(Path("/proj/wheels")), "https://example.invalid/links/")
