"""env.toml's [envs.NAME]: the environments a user gets, and the messages a bad table gets."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w
from hypothesis import given
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet

from envsync.core.selection import GroupSelection
from envsync.core.spec import parse_spec
from envsync.core.specenvs import valid_env_name
from envsync.errors import SpecError
from envsync.usecases import envs

ROOT = Path("/project")
BASE = """\
[env]
python = "3.12"
keep = ["pip", "wheel"]

[groups]
test = ["pytest"]
lint = ["ruff"]
"""


def parse(text: str):
    return parse_spec(BASE + text, path=ROOT / "env.toml")


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse(text)
    return str(caught.value).splitlines()[1:]


def test_without_envs_there_is_one_environment():
    spec = parse("")
    assert spec.envs == ()
    assert [env.name for env in envs.all_envs(spec)] == ["default"]
    assert spec.lock_python == SpecifierSet("==3.12.*")


def test_a_named_env_takes_what_it_leaves_out_from_env_but_its_venv():
    spec = parse('[envs.py311]\npython = "3.11"\ngroups = ["test"]\n[envs.b]\n')
    default, b, py311 = spec.envs
    assert (default.name, default.venv, default.python) == ("default", ROOT / ".venv", spec.python)
    assert (b.name, b.venv, b.python, b.keep) == ("b", ROOT / ".venvs/b", spec.python, spec.keep)
    assert (py311.python, py311.groups, py311.only_groups) == (
        SpecifierSet("==3.11.*"),
        ("test",),
        (),
    )
    # The environments want different Pythons: the lock states none of them alone.
    assert spec.lock_python == SpecifierSet()
    assert parse("[envs.b]\n").lock_python == SpecifierSet("==3.12.*")


def test_an_env_derives_a_spec_of_its_own():
    spec = parse('[envs.lint]\nonly-groups = ["lint"]\nvenv = "tools/lint"\nkeep = []\n')
    (lint,) = envs.pick(spec, ["lint"])
    assert (lint.env_name, lint.venv, lint.python, lint.keep) == (
        "lint",
        ROOT / "tools/lint",
        spec.python,
        (),
    )
    assert envs.groups_for(lint, GroupSelection()) == GroupSelection(only=("lint",))
    # Group options on the command line replace the environment's own.
    asked = GroupSelection(groups=("test",))
    assert envs.groups_for(lint, asked) is asked
    assert envs.pick(spec, ["default", "lint", "default"]) == (spec, lint)
    assert envs.pick(spec, [], every=True) == (spec, lint)
    assert envs.pick(spec, []) == (spec,)
    assert envs.derive(lint, spec.envs[1]) is lint


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "[envs.default]\n",
            [("/project/env.toml:8: envs.default: expected an environment name other than "
             "'default', which names [env], found \"default\"")],
            id="default is [env]",
        ),
        pytest.param(
            "[envs.Py_311]\n",
            [("/project/env.toml:8: envs.Py_311: expected an environment name (lowercase "
             "letters, digits and -), found \"Py_311\" (did you mean 'py-311'?)")],
            id="a name with capitals and underscores",
        ),
        pytest.param(
            '[envs."-"]\n',
            [("/project/env.toml:8: envs.-: expected an environment name (lowercase "
             'letters, digits and -), found "-"')],
            id="a name that cannot be mended",
        ),
        pytest.param(
            '[envs.a]\npyhton = "3.11"\n',
            [("/project/env.toml:9: envs.a.pyhton: expected a known key (groups, keep, "
             "only-groups, python, venv), found unknown key \"pyhton\" (did you mean 'python'?)")],
            id="misspelt key",
        ),
        pytest.param(
            '[envs.a]\ngroups = ["tset"]\n',
            [("/project/env.toml:9: envs.a.groups[0]: expected a group defined in [groups] "
             "(lint, test), found \"tset\" (did you mean 'test'?)")],
            id="unknown group",
        ),
        pytest.param(
            '[envs.a]\nonly-groups = "lint"\n',
            [("/project/env.toml:9: envs.a.only-groups: expected an array of strings, found "
             'string "lint"')],
            id="only-groups not a list",
        ),
        pytest.param(
            '[envs.a]\nvenv = ".venv"\n',
            [("/project/env.toml:9: envs.a.venv: expected a venv of its own, found "
             "/project/.venv, the venv of environment 'default' too")],
            id="a venv shared with [env]",
        ),
        pytest.param(
            '[envs.a]\nvenv = ""\npython = "three"\nkeep = ["-x"]\n',
            ['/project/env.toml:9: envs.a.venv: expected a folder path, found ""',
             ('/project/env.toml:10: envs.a.python: expected a Python version like "3.12" or a '
             "specifier like \">=3.11\", found \"three\" (Invalid specifier: 'three')"),
             '/project/env.toml:11: envs.a.keep[0]: expected a package name, found "-x"'],
            id="every problem at once",
        ),
        pytest.param(
            "[envs]\na = 1\n",
            ["/project/env.toml:9: envs.a: expected a table, found integer 1"],
            id="an env not a table",
        ),
        pytest.param(
            '[envs.a]\npython = "3.11"\n[lock]\npython-versions = ["3.10", "3.12"]\n',
            [("/project/env.toml:9: envs.a.python: expected a python one of [lock] "
             'python-versions (3.10, 3.12) satisfies, found "==3.11.*"'),
             ("/project/env.toml:11: lock.python-versions: expected a Python version some "
             "environment's python allows, found \"3.10\"")],
            id="lock pythons each serve an env, each env one of them",
        ),
    ],
)  # fmt: skip
def test_bad_envs(text: str, expected: list[str]) -> None:
    assert [line.strip() for line in problems(text)] == expected


def test_envs_must_be_a_table():
    with pytest.raises(SpecError) as caught:
        parse_spec("envs = 3\n", path=ROOT / "env.toml")
    assert "env.toml:1: envs: expected a table, found integer 3" in str(caught.value)


def test_lock_pythons_may_serve_any_environment():
    spec = parse('[envs.a]\npython = "3.11"\n[lock]\npython-versions = ["3.11", "3.12"]\n')
    assert spec.lock.python_versions == ("3.11", "3.12")
    # [env] python must still be served, when [lock] names the Pythons.
    text = '[envs.a]\npython = "3.11"\n[lock]\npython-versions = ["3.11"]\n'
    assert (
        problems(text)[0].strip().startswith("/project/env.toml:2: env.python: expected a python")
    )


def test_an_unknown_env_name_is_an_error_naming_the_known_ones():
    spec = parse("[envs.py311]\n[envs.py312]\n")
    with pytest.raises(envs.UnknownEnvError, match=r"environments: default, py311, py312"):
        envs.pick(spec, ["py311", "pyy311"])
    bare = parse("")
    with pytest.raises(envs.UnknownEnvError, match="declares none") as caught:
        envs.pick(bare, ["Py 3"])
    assert "[envs.NAME]" in (caught.value.hint or "")


_NAME = st.from_regex(r"[a-z0-9]{1,4}(-[a-z0-9]{1,3})?", fullmatch=True)


@given(st.dictionaries(_NAME | st.text(max_size=6), st.fixed_dictionaries({}, optional={
    "python": st.sampled_from(["3.11", ">=3.12", "", "x"]),
    "groups": st.lists(st.sampled_from(["test", "lint", "docs"]), max_size=2),
    "only-groups": st.lists(st.sampled_from(["test", "Lint"]), max_size=1),
    "venv": st.sampled_from(["a", "b", ".venv", "envs/c"]),
}), max_size=3))  # fmt: skip
def test_every_env_the_loader_accepts_has_a_name_and_a_venv_of_its_own(table):
    text = tomli_w.dumps({"envs": table})
    try:
        spec = parse(text)
    except SpecError:
        return
    names = [env.name for env in spec.envs]
    assert names[0] == "default"
    assert all(valid_env_name(name) == name for name in names[1:])
    assert len({env.venv for env in spec.envs}) == len(spec.envs)
    assert sorted(names[1:]) == names[1:]
