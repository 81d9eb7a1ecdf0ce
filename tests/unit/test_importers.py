"""importers: requirements files and pyproject.toml -> the env.toml `envsync init` writes.

Files are plain strings; a dict-backed reader stands in for the disk. Each test looks at the
Imported value, the env.toml text, or the one error a user gets.
"""

from __future__ import annotations

import posixpath
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.requirements import Requirement

from envsync.core.importers import (
    Imported,
    ImportSourceError,
    LocalSource,
    from_pyproject,
    from_requirements,
    render,
    template,
)
from envsync.core.spec import parse_spec
from envsync.core.targets import PLATFORMS, LockTargets

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

SPEC_PATH = Path("/proj/env.toml")


class FakeReader:
    """The disk as a dict: file name -> text, folder -> its pyproject [project] name."""

    def __init__(self, files: dict[str, str] | None = None, names: dict[str, str] | None = None):
        self.files = files or {}
        self.names = names or {}

    def read(self, reference: str, *, within: str) -> tuple[str, str]:
        name = self._beside(reference, within)
        if name not in self.files:
            raise FileNotFoundError(2, "No such file or directory", name)
        return name, self.files[name]

    def path(self, reference: str, *, within: str) -> str:
        return reference if reference.startswith("/") else self._beside(reference, within)

    def project_name(self, reference: str, *, within: str) -> str | None:
        return self.names.get(self._beside(reference, within))

    @staticmethod
    def _beside(reference: str, within: str) -> str:
        return posixpath.normpath(posixpath.join(posixpath.dirname(within), reference))


def imported(text: str, reader: FakeReader | None = None) -> Imported:
    return from_requirements(text, name="requirements.txt", reader=reader or FakeReader())


def problems(text: str, reader: FakeReader | None = None) -> tuple[str, ...]:
    with pytest.raises(ImportSourceError) as caught:
        imported(text, reader)
    return caught.value.problems


# --- requirements files: lines ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "dependencies"),
    [
        pytest.param("alpha\n\n# a comment\nbeta>=1  # why\n", ("alpha", "beta>=1"), id="comments"),
        pytest.param("alpha \\\n  >=1.0 \\\n  ,<3\n", ("alpha<3,>=1.0",), id="continuations"),
        pytest.param(
            "alpha \\\n# note\nbeta\n", ("alpha", "beta"), id="comment ends a continuation"
        ),
        pytest.param("# note \\\nbeta\n", ("beta",), id="a comment never continues"),
        pytest.param("alpha \\", ("alpha",), id="backslash on the last line"),
        pytest.param("   \n\t\n", (), id="blank"),
        pytest.param(
            "epsilon; python_version >= '3.8'\n",
            ('epsilon; python_version >= "3.8"',),
            id="markers",
        ),
        pytest.param("gamma[fast]==1.0\n", ("gamma[fast]==1.0",), id="extras"),
        pytest.param(
            "alpha==1.0 --hash=sha256:aa \\\n    --hash sha256:bb\n",
            ("alpha==1.0",),
            id="hashes are dropped",
        ),
        pytest.param(
            "mylib @ https://host/mylib-1.0.tar.gz\n",
            ("mylib @ https://host/mylib-1.0.tar.gz",),
            id="direct URL",
        ),
    ],
)
def test_requirement_lines(text, dependencies):
    result = imported(text)
    assert result.dependencies == dependencies
    assert result.warnings == ()


@pytest.mark.parametrize(
    ("text", "dependencies"),
    [
        pytest.param("alpha>=1\nAlpha<3\n", ("alpha<3,>=1",), id="specifiers intersect"),
        pytest.param("gamma[b]\ngamma[a]\n", ("gamma[a,b]",), id="extras join"),
        pytest.param("alpha\nalpha\n", ("alpha",), id="exact repeat"),
        pytest.param(
            "zeta; python_version < '3.9'\nzeta>1; python_version >= '3.9'\n",
            ('zeta; python_version < "3.9"', 'zeta>1; python_version >= "3.9"'),
            id="distinct markers stay apart",
        ),
    ],
)
def test_repeated_packages_are_combined(text, dependencies):
    assert imported(text).dependencies == dependencies


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param(
            "alpha\nalpha; python_version < '3.9'\n",
            "requirements.txt:2: alpha is also listed at requirements.txt:1",
            id="marker and none",
        ),
        pytest.param(
            "alpha; python_version < '3.9'\nalpha\n",
            "requirements.txt:2: alpha is also listed at requirements.txt:1",
            id="none and marker",
        ),
        pytest.param(
            "lib @ https://a/lib.whl\nlib @ https://b/lib.whl\n",
            "requirements.txt:2: lib @ https://b/lib.whl and lib @ https://a/lib.whl "
            "(requirements.txt:1) differ in URL",
            id="two URLs",
        ),
    ],
)
def test_repeats_that_cannot_be_combined(text, problem):
    (found,) = problems(text)
    assert found.startswith(problem)


def test_every_bad_line_is_reported_at_once_with_file_and_line():
    text = "alpha\nrequests >>> 2\n# fine\nbeta \\\n  >> 1\nok\n"
    assert problems(text) == (
        (
            "requirements.txt:2: expected a PEP 508 requirement, found 'requests >>> 2' "
            "(Expected semicolon (after name with no version specifier) or end)"
        ),
        (
            "requirements.txt:4: expected a PEP 508 requirement, found 'beta   >> 1' "
            "(Expected semicolon (after name with no version specifier) or end)"
        ),
    )
    error = ImportSourceError("requirements.txt", ["a", "a"])
    assert error.problems == ("a",)
    assert str(error) == "cannot make an env.toml from requirements.txt:\n  a"
    assert error.hint is not None


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("--frobnicate", "expected a requirement or a pip option, found '--frobnicate'"),
        ("alpha extra-word --hash=sha256:aa", "expected a PEP 508 requirement"),
        ("-r", "-r needs a value"),
        ("--pre=yes", "--pre takes no value"),
        ("-r 'unclosed", "No closing quotation"),
        ("-r a.txt stray", "expected a requirement or a pip option, found 'stray'"),
        ("-", "expected a requirement or a pip option, found '-'"),
    ],
)
def test_bad_options(line, problem):
    (found,) = problems(f"alpha\n{line}\n")
    assert found.startswith("requirements.txt:2: ")
    assert problem in found


# --- requirements files: options --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "--index-url https://a/simple",
        "--index-url=https://a/simple",
        "-i https://a/simple",
        "-ihttps://a/simple",
        "-i https://a/simple\n--index-url https://a/simple",
    ],
)
def test_index_url(text):
    result = imported(text)
    assert result.index_url == "https://a/simple"
    assert result.warnings == ()


def test_a_second_index_url_wins_with_a_warning():
    result = imported("-i https://a/simple\n-i https://b/simple\n")
    assert result.index_url == "https://b/simple"
    assert result.warnings == (
        "requirements.txt:2: https://b/simple replaces the index https://a/simple",
    )


def test_extra_index_urls_and_find_links():
    text = (
        "--extra-index-url https://x/simple\n--extra-index-url=https://x/simple\n"
        "--extra-index-url https://y/simple\n"
        "-f ./wheels\n--find-links https://host/links.html\n-f wheels\n"
    )
    result = imported(text, FakeReader())
    assert result.extra_urls == ("https://x/simple", "https://y/simple")
    assert result.find_links == ("wheels", "https://host/links.html")


def test_options_envsync_cannot_express_are_dropped_with_a_warning_each():
    text = "--pre\n--trusted-host host\nalpha -C key=value\n-c constraints.txt\n"
    result = imported(text)
    assert result.dependencies == ("alpha",)
    assert result.warnings == (
        "requirements.txt:1: dropped --pre: envsync has no such setting",
        "requirements.txt:2: dropped --trusted-host: envsync has no such setting",
        "requirements.txt:3: dropped -C: envsync has no such setting",
        (
            "requirements.txt:4: ignored the constraints file constraints.txt: envsync has no "
            "constraints (pin versions in dependencies instead)"
        ),
    )


# --- requirements files: includes -------------------------------------------------------------


def test_includes_are_read_relative_to_the_including_file():
    reader = FakeReader(
        {
            "reqs/base.txt": "alpha\n-r more/extra.txt\n",
            "reqs/more/extra.txt": "-i https://a/simple\nbeta\n",
        }
    )
    result = from_requirements("-r base.txt\ngamma\n", name="reqs/dev.txt", reader=reader)
    assert result.dependencies == ("alpha", "beta", "gamma")
    assert result.index_url == "https://a/simple"
    assert result.origin == "reqs/dev.txt"


def test_an_include_that_cannot_be_read_names_the_line():
    (found,) = problems("alpha\n-r missing.txt\n")
    assert found.startswith("requirements.txt:2: cannot read missing.txt: ")
    assert "No such file" in found


def test_an_include_cycle_is_an_error():
    reader = FakeReader({"a.txt": "-r b.txt\n", "b.txt": "beta\n-r a.txt\n"})
    with pytest.raises(ImportSourceError) as caught:
        from_requirements("-r b.txt\n", name="a.txt", reader=reader)
    assert caught.value.problems == ("b.txt:2: -r a.txt includes itself (a.txt -> b.txt -> a.txt)",)


def test_bad_lines_in_an_include_name_that_file():
    reader = FakeReader({"base.txt": "ok\nnot valid !\n"})
    (found,) = problems("-r base.txt\n", reader)
    assert found.startswith("base.txt:2: expected a PEP 508 requirement")


# --- requirements files: local folders --------------------------------------------------------

NAMED = FakeReader(names={"pkg": "my-pkg", "libs/other": "Other_Lib"})


@pytest.mark.parametrize(
    ("line", "source"),
    [
        ("-e ./pkg", LocalSource(name="my-pkg", path="pkg", editable=True)),
        ("--editable=pkg", LocalSource(name="my-pkg", path="pkg", editable=True)),
        ("-e file:./pkg", LocalSource(name="my-pkg", path="pkg", editable=True)),
        ("-e ./nameless#egg=given", LocalSource(name="given", path="nameless", editable=True)),
        (
            "-e file:///abs/x#egg=x&subdirectory=y",
            LocalSource(name="x", path="/abs/x", editable=True),
        ),
        (
            "-e file://localhost/abs/x%20y#egg=x",
            LocalSource(name="x", path="/abs/x y", editable=True),
        ),
        ("./libs/other", LocalSource(name="Other_Lib", path="libs/other", editable=False)),
        ("libs/other", LocalSource(name="Other_Lib", path="libs/other", editable=False)),
    ],
)
def test_local_folders_become_sources(line, source):
    result = imported(f"{line}\n", NAMED)
    assert result.sources == (source,)
    assert result.dependencies == (source.name,)


def test_a_local_folder_also_asked_for_by_version_is_one_dependency():
    result = imported("-e ./pkg\nmy-pkg>=1\n", NAMED)
    assert result.dependencies == ("my-pkg>=1",)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("-e git+https://host/repo#egg=x", "expected a local project folder"),
        ("-e file://otherhost/share/x", "expected a local project folder"),
        ("./dist/x-1.0-py3-none-any.whl", "expected a local project folder"),
        ("https://host/x-1.0.tar.gz", "expected a local project folder"),
        ("-e ./unnamed", "cannot tell the package name of './unnamed'"),
        ("-e ./x#egg=not!valid", "cannot tell the package name"),
    ],
)
def test_local_folders_envsync_cannot_take(line, problem):
    (found,) = problems(f"{line}\n", NAMED)
    assert found.startswith("requirements.txt:1: ")
    assert problem in found


# --- requirements files: hypothesis -----------------------------------------------------------

NAMES = st.from_regex(r"[a-z][a-z0-9]{0,8}([-_.][a-z0-9]{1,4})?", fullmatch=True)
VERSIONS = st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,2}", fullmatch=True)
SPECIFIERS = st.lists(
    st.tuples(st.sampled_from(["==", ">=", "<", "!=", "~="]), VERSIONS), max_size=2
).map(lambda parts: ",".join(op + v for op, v in parts if op != "~=" or "." in v))
MARKERS = st.sampled_from(
    [
        "",
        "; python_version >= '3.8'",
        '; sys_platform == "linux"',
        " ; os_name != 'nt' and python_version < '4'",
    ]
)
EXTRAS = st.lists(st.sampled_from(["fast", "cli", "all"]), max_size=2, unique=True).map(
    lambda extras: f"[{','.join(extras)}]" if extras else ""
)


@st.composite
def requirement_lists(draw: st.DrawFn) -> list[str]:
    names = draw(st.lists(NAMES, max_size=6, unique_by=lambda n: Requirement(n).name.lower()))
    normal = {str(Requirement(n).name).lower().replace("_", "-").replace(".", "-") for n in names}
    if len(normal) != len(names):  # names equal once normalized
        names = names[:1]
    return [
        draw(EXTRAS.map(lambda e, n=n: n + e)) + draw(SPECIFIERS) + draw(MARKERS) for n in names
    ]


@given(requirement_lists(), st.sampled_from(["\n", "  # note\n", " \\\n\n"]))
def test_valid_requirements_round_trip_into_env_toml(requirements, ending):
    text = "".join(r + ending for r in requirements)
    result = imported(text)
    assert result.dependencies == tuple(str(Requirement(r)) for r in requirements)
    spec = parse_spec(render(result, python=">=3.10", path=SPEC_PATH), path=SPEC_PATH)
    assert [str(r) for r in spec.dependencies] == [str(Requirement(r)) for r in requirements]


# --- pyproject.toml ---------------------------------------------------------------------------

PYPROJECT = """\
[project]
name = "me"
requires-python = " >=3.10 "
dependencies = ["alpha", "me[fast]; python_version >= '3.9'"]

[project.optional-dependencies]
fast = ["gamma[fast]; os_name != 'nt'"]
docs = ["theta", "me[nope]"]
all = ["me[fast,docs]", "me[all]"]

[dependency-groups]
test = ["theta", "alpha>=1"]
dev = [{include-group = "test"}, "cli-tool", "me[docs]"]
lint = ["ruff", {include-group = "Dev"}]

[tool.other]
anything = 1
"""


def test_pyproject_dependencies_extras_and_groups():
    result = from_pyproject(PYPROJECT, name="pyproject.toml")
    assert result.python == ">=3.10"
    assert result.dependencies == (
        "alpha",
        'gamma[fast]; os_name != "nt" and python_version >= "3.9"',
    )
    assert result.groups == (
        ("fast", ('gamma[fast]; os_name != "nt"',)),
        ("docs", ("theta",)),
        ("all", ("theta", 'gamma[fast]; os_name != "nt"')),
        ("test", ("theta", "alpha>=1")),
        ("dev", ("theta", "alpha>=1", "cli-tool")),
        ("lint", ("ruff", "theta", "alpha>=1", "cli-tool")),
    )
    assert result.extras == ("fast", "docs", "all")
    assert result.warnings == ()


def test_without_a_project_name_nothing_is_taken_for_the_project():
    text = '[project]\ndependencies = ["me[x]"]\n[project.optional-dependencies]\nx = ["a"]\n'
    result = from_pyproject(text, name="pyproject.toml")
    assert result.dependencies == ("me[x]",)
    assert result.python is None


def test_the_project_itself_comes_first_editable_from_its_folder():
    result = from_pyproject(PYPROJECT, name="pyproject.toml", project="..")
    alone = from_pyproject(PYPROJECT, name="pyproject.toml")
    assert result.dependencies == ("me", *alone.dependencies)
    assert result.sources == (LocalSource(name="me", path="..", editable=True),)
    assert (result.groups, result.warnings) == (alone.groups, ())
    rendered = render(result, python=">=3.10", path=Path("/p/env.toml"))
    assert '[sources.me]\npath = ".."\neditable = true\n' in rendered


_NO_NAME = "has no [project] name, so the project itself is not added"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="no [project]"),
        pytest.param('[project]\nversion = "1"\n', id="no name"),
        pytest.param("[project]\nname = 3\n", id="name not a string"),
        pytest.param('[project]\nname = "a b"\n', id="name not a project name"),
        pytest.param('[project]\nname = "me[x]"\n', id="name with extras"),
    ],
)
def test_a_project_without_a_usable_name_is_left_out_with_a_warning(text):
    result = from_pyproject(text, name="pyproject.toml", project=".")
    assert (result.dependencies, result.sources) == ((), ())
    assert len(result.warnings) == 1
    assert _NO_NAME in result.warnings[0]


def test_an_empty_pyproject_gives_an_empty_spec():
    result = from_pyproject("", name="pyproject.toml")
    assert result == Imported(origin="pyproject.toml")


def test_an_empty_requires_python_is_no_python():
    result = from_pyproject('[project]\nrequires-python = ""\n', name="pyproject.toml")
    assert result.python is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("[project\n", "pyproject.toml: not valid TOML (", id="toml"),
        pytest.param(
            "project = 1\n", "pyproject.toml: project: expected a table, found 1", id="project"
        ),
        pytest.param(
            '[project]\ndependencies = "alpha"\n',
            "pyproject.toml: project.dependencies: expected an array of PEP 508 strings, "
            "found 'alpha'",
            id="dependencies not an array",
        ),
        pytest.param(
            "[project]\ndependencies = [1]\n",
            "pyproject.toml: project.dependencies[0]: expected a PEP 508 string, found 1",
            id="not a string",
        ),
        pytest.param(
            '[project]\ndependencies = [\n  "ok",\n  "bad >>> 2",\n]\n',
            "pyproject.toml:4: project.dependencies[1]: expected a PEP 508 requirement, "
            "found 'bad >>> 2' (",
            id="bad requirement with its line",
        ),
        pytest.param(
            '[project]\ndependencies = ["bad >>> \\"2\\""]\n',
            "pyproject.toml: project.dependencies[0]: expected a PEP 508 requirement",
            id="bad requirement, line not found",
        ),
        pytest.param(
            '[project]\nrequires-python = "3.10"\n',
            "pyproject.toml:2: project.requires-python: expected a version specifier, found '3.10'",
            id="requires-python",
        ),
        pytest.param(
            "[project]\nrequires-python = 3.1\n",
            "pyproject.toml: project.requires-python: expected a string, found 3.1",
            id="requires-python not a string",
        ),
        pytest.param(
            "[project]\noptional-dependencies = []\n",
            "pyproject.toml: project.optional-dependencies: expected a table, found []",
            id="extras",
        ),
        pytest.param(
            "dependency-groups = 1\n",
            "pyproject.toml: dependency-groups: expected a table, found 1",
            id="groups",
        ),
        pytest.param(
            '[dependency-groups]\ndev = "pytest"\n',
            "pyproject.toml: dependency-groups.dev: expected an array, found 'pytest'",
            id="group not an array",
        ),
        pytest.param(
            '[dependency-groups]\ndev = [{include-group = "x", other = 1}]\nx = []\n',
            "pyproject.toml: dependency-groups.dev[0]: expected a string or "
            "{include-group = \"NAME\"}, found {'include-group': 'x', 'other': 1}",
            id="bad table",
        ),
        pytest.param(
            "[dependency-groups]\ndev = [{include-group = 1}]\n",
            "pyproject.toml: dependency-groups.dev[0]: expected a string or",
            id="include not a string",
        ),
        pytest.param(
            '[dependency-groups]\ndev = [{include-group = "nope"}]\n',
            "pyproject.toml: dependency-groups.dev: include-group names 'nope', which is not "
            "defined",
            id="unknown include",
        ),
        pytest.param(
            '[dependency-groups]\na = [{include-group = "B"}]\nb = [{include-group = "a"}]\n',
            "pyproject.toml: dependency-groups.b: include-group makes a cycle (a -> b -> a)",
            id="cycle",
        ),
        pytest.param(
            '[dependency-groups]\na = ["x", {include-group = "a"}]\n',
            "pyproject.toml: dependency-groups.a: include-group makes a cycle (a -> a)",
            id="self include",
        ),
        pytest.param(
            '[project.optional-dependencies]\nDev = ["x"]\n[dependency-groups]\ndev = ["y"]\n',
            "pyproject.toml: dependency-groups: 'Dev' and 'dev' would be the same group",
            id="extra and group of one name",
        ),
        pytest.param(
            '[project]\ndependencies = ["a", "a; os_name == \'nt\'"]\n',
            "pyproject.toml: project.dependencies: a is also listed at pyproject.toml: "
            "project.dependencies",
            id="repeat in dependencies",
        ),
        pytest.param(
            '[dependency-groups]\ndev = ["a @ https://x/a.whl", "a @ https://y/a.whl"]\n',
            "pyproject.toml: group dev: a @ https://y/a.whl and a @ https://x/a.whl",
            id="repeat in a group",
        ),
    ],
)
def test_pyproject_problems(text, problem):
    with pytest.raises(ImportSourceError) as caught:
        from_pyproject(text, name="pyproject.toml")
    assert len(caught.value.problems) == 1, caught.value.problems
    assert caught.value.problems[0].startswith(problem)


# --- rendering --------------------------------------------------------------------------------

FULL = Imported(
    origin="reqs/requirements.txt",
    python=">=3.9",
    dependencies=("alpha>=1", 'epsilon; python_version >= "3.8"', "my-pkg"),
    groups=(("dev", ("pytest",)), ("docs", ())),
    extras=("docs",),
    index_url="https://a/simple",
    extra_urls=("https://b/simple",),
    find_links=("wheels",),
    sources=(
        LocalSource(name="my-pkg", path="pkg", editable=True),
        LocalSource(name="other", path="/abs/other", editable=False),
    ),
)


def test_render_golden_text():
    full = replace(FULL, dependencies=(*FULL.dependencies, "other"))
    assert (
        render(full, python=">=3.12", path=SPEC_PATH)
        == """\
# envsync spec made by `envsync init --from requirements.txt`; edit it freely.
# `envsync apply` installs it; the format is described in envsync's README (env.toml).
# Groups made from extras ([project.optional-dependencies]): docs.
# envsync groups are not extras: each is resolved together with the main dependencies,
# and `envsync apply --group NAME` installs it.

[env]
python = ">=3.12"
dependencies = [
    "alpha>=1",
    "epsilon; python_version >= \\"3.8\\"",
    "my-pkg",
    "other",
]

[groups]
dev = [
    "pytest",
]
docs = []

[index]
url = "https://a/simple"
extra-urls = [
    "https://b/simple",
]
find-links = [
    "wheels",
]

[sources.my-pkg]
path = "pkg"
editable = true

[sources.other]
path = "/abs/other"
"""
    )


@pytest.mark.parametrize(
    ("value", "tables"),
    [
        (Imported(origin="r.txt"), ["env"]),
        (Imported(origin="r.txt", extra_urls=("https://b/simple",)), ["env", "index"]),
        (Imported(origin="r.txt", groups=(("dev", ("x",)),)), ["env", "groups"]),
    ],
)
def test_render_writes_only_the_tables_it_needs(value, tables):
    text = render(value, python=">=3.10", path=SPEC_PATH)
    assert list(tomllib.loads(text)) == tables
    assert "extras" not in text
    assert render(value, python=">=3.10", path=SPEC_PATH) == text  # byte-stable
    parse_spec(text, path=SPEC_PATH)


def test_render_refuses_what_envsync_would_not_load():
    with pytest.raises(ImportSourceError) as caught:
        render(Imported(origin="r.txt"), python="three", path=SPEC_PATH)
    (problem,) = caught.value.problems
    assert problem.startswith("/proj/env.toml:5: env.python: expected a Python version")


def test_template_loads_and_asks_for_the_python_given():
    text = template(python=">=3.11", path=SPEC_PATH)
    spec = parse_spec(text, path=SPEC_PATH)
    assert str(spec.python) == ">=3.11"
    assert spec.dependencies == ()
    assert "# [groups]" in text
    assert "# [index]" in text
    assert '# resolver = "pip-tools"' in text
    # Each commented-out [env] line is a valid setting once uncommented.
    settings = [line[2:].split("  #")[0] for line in text.splitlines() if line.startswith("# ")]
    options = [
        line
        for line in settings
        if line.split(" = ")[0] in {"installer", "resolver", "compile-bytecode", "seed"}
    ]
    uncommented = text.replace("[env]\n", "[env]\n" + "\n".join(options) + "\n", 1)
    assert parse_spec(uncommented, path=SPEC_PATH).resolver == "pip-tools"
    assert parse_spec(uncommented, path=SPEC_PATH).seed is False
    assert template(python=">=3.11", path=SPEC_PATH) == text


def _uncomment_lock(text):
    """*text* with its commented [lock] example uncommented: the lines from `# [lock]` on."""
    lines = text.splitlines()
    start = lines.index("# [lock]")
    block = [line for line in lines[start:] if line.startswith("# ")]
    assert len(block) == 3, block  # the header and its two keys, each a commented line
    return "\n".join([*lines[:start], *(line[2:] for line in block), ""])


@pytest.mark.parametrize(
    ("python", "versions"),
    [
        (">=3.11", ("3.11", "3.12")),
        ("3.12", ("3.12",)),
        (">=3.9,<3.11", ("3.9", "3.10")),
        ("<3.10", ("3.8", "3.9")),
        (">=3.13.2", ("3.13", "3.14")),
    ],
)
def test_template_lock_example_uncommented_parses(python, versions):
    text = template(python=python, path=SPEC_PATH)
    assert parse_spec(text, path=SPEC_PATH).lock == LockTargets()  # commented: this machine's
    spec = parse_spec(_uncomment_lock(text), path=SPEC_PATH)
    # Python versions the template's own [env] python allows, on three named platforms.
    assert spec.lock == LockTargets(
        python_versions=versions, platforms=("linux-x86_64", "macos-arm64", "windows-x86_64")
    )
    assert all(name in text for name in PLATFORMS)  # every name a user may write, listed


@pytest.mark.parametrize(("python", "name"), [(">=3.11", "py312"), ("3.12", "py312")])
def test_template_envs_example_uncommented_parses(python, name):
    text = template(python=python, path=SPEC_PATH)
    lines = text.splitlines()
    start = lines.index(f"# [envs.{name}]")
    block = [line[2:] for line in lines[start : start + 3]]
    groups = ["[groups]", 'dev = ["pytest>=8", "ruff"]']
    spec = parse_spec("\n".join([*lines[:start], *groups, *block, ""]), path=SPEC_PATH)
    (env,) = (e for e in spec.envs if e.name == name)
    assert env.groups == ("dev",)
    assert str(env.venv).endswith(f".venvs/{name}")


def test_template_refuses_a_bad_python():
    with pytest.raises(ImportSourceError, match="the template"):
        template(python='">', path=SPEC_PATH)


def test_a_self_reference_keeps_both_markers_meaning():
    text = (
        '[project]\nname = "me"\ndependencies = ["me[x]; python_version >= \'3.9\'"]\n'
        "[project.optional-dependencies]\nx = [\"a; os_name == 'nt' or os_name == 'posix'\"]\n"
    )
    (dependency,) = from_pyproject(text, name="pyproject.toml").dependencies
    marker = Requirement(dependency).marker
    assert marker is not None
    assert not marker.evaluate({"os_name": "nt", "python_version": "3.8"})
    assert marker.evaluate({"os_name": "posix", "python_version": "3.9"})
    assert not marker.evaluate({"os_name": "java", "python_version": "3.12"})


# --- git lines (issue 12) ---------------------------------------------------------


def test_init_keeps_git_lines_and_names_egg_ones() -> None:
    text = (
        "a @ git+https://h/a.git@v1\n"
        "git+https://h/b.git@main#egg=b&subdirectory=pkg\n"
        "git+https://h/c.git#egg=c\n"
    )
    assert imported(text).dependencies == (
        "a @ git+https://h/a.git@v1",
        "b @ git+https://h/b.git@main#subdirectory=pkg",
        "c @ git+https://h/c.git",
    )


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("git+https://h/b.git@main", "cannot tell the package name of"),
        ("x @ svn+https://h/x", "svn+ URLs are not supported"),
    ],
)
def test_init_refuses_git_lines_it_cannot_lock(line: str, said: str) -> None:
    assert said in problems(line + "\n")[0]
