"""pipoutput.conflict: a resolver's account of a conflict, read down to who requires what.

The outputs in tests/data/resolver-output are real, captured against the test index (ports
and site-packages paths made fixed): ``*-pip.txt`` is pip-compile run quietly as envsync
runs it (the causes only in ResolutionImpossible's repr), ``*-pipv.txt`` pip-compile run
verbosely (pip's own "The conflict is caused by:" block), ``*-uv.txt`` ``uv pip compile``.
The index: a 1.0 -> b<2, a 2.0 -> b>=2, c 2.0 -> a>=2, d -> b>=2, e -> b<1.5, f -> g>=2
(only g 1.0), h and i and j in a chain, k 1.0 for Python >= 3.12 only, web-app ->
django-rest[x], django-rest -> b<1.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from envsync.core.pipoutput import ENV_TOML, Conflict, Demand, classify, conflict
from envsync.resolve.compile_errors import ConflictError, compile_error

OUTPUTS = Path(__file__).parents[1] / "data" / "resolver-output"


def output(name: str) -> str:
    return (OUTPUTS / f"{name}.txt").read_text("utf-8")


@pytest.mark.parametrize(
    ("name", "lines"),
    [
        # env.toml asks for a>=2, and for b<2 too
        ("top2-pip", ["env.toml requires b<2", "a 2.0 requires b>=2"]),
        ("top2-pipv", ["env.toml requires b<2", "a 2.0 requires b>=2"]),
        (
            "top2-uv",
            ["a>=2.0 requires b>=2", "env.toml requires a>=2", "env.toml requires b<2"],
        ),
        # the same with b<2 in a group: uv says "you require" of a group too
        (
            "group-uv",
            ["a>=2.0 requires b>=2", "env.toml requires a>=2", "env.toml requires b<2"],
        ),
        # a<2 and c with the pins a 2.0, b 2.0, c 2.0 kept
        ("pinned-parent-pip", ["env.toml requires a<2", "c 2.0 requires a>=2"]),
        # verbose: pip-tools' first attempt, then the one it gives up on
        ("pinned-parent-pipv", ["env.toml requires a<2", "c 2.0 requires a>=2"]),
        # two packages, each pulling in its own b
        ("three-pip", ["a 2.0 requires b>=2", "e 1.0 requires b<1.5"]),
        (
            "three-uv",
            [
                "e requires b<1.5",
                "a>=2.0 requires b>=2",
                "env.toml requires a>=2",
                "env.toml requires e",
            ],
        ),
        ("two-deps-pip", ["d 1.0 requires b>=2", "e 1.0 requires b<1.5"]),
        (
            "two-deps-uv",
            ["e requires b<1.5", "d requires b>=2", "env.toml requires d", "env.toml requires e"],
        ),
        # an extra and a marker on the way
        ("ext-pip", ["env.toml requires b>=1", "django-rest 3.0 requires b<1"]),
        (
            "ext-uv",
            [
                "django-rest requires b<1",
                "web-app requires django-rest[x]==3.0",
                "env.toml requires web-app",
                "env.toml requires b",
            ],
        ),
        # uv's numbered steps: premises only, never the conclusions they restate
        (
            "deep-uv",
            [
                "i>=2.0 requires j>=2",
                "h<=1.0 requires i>=2",
                "h<=1.0 requires j<1",
                "h>=2.0 requires i<1",
                "env.toml requires h",
                "only the following versions of h are available: h<=1.0 h>=2.0",
                "only i>=1.0 is available",
            ],
        ),
        (
            "python-uv",
            [
                "k 1.0 requires Python>=3.12",
                "env.toml requires k>=1",
                "the current Python version (3.11.7) does not satisfy Python>=3.12",
                "only k<=1.0 is available",
            ],
        ),
        ("missing-uv", ["f requires g>=2", "env.toml requires f", "only g==1.0 is available"]),
    ],
)
def test_a_conflict_is_read_as_who_requires_what(name: str, lines: list[str]) -> None:
    text = output(name)
    found = conflict(text)
    assert found is not None
    assert list(found.lines()) == lines
    assert classify(text) == "conflict"


@pytest.mark.parametrize(
    ("name", "names"),
    [
        ("top2-pip", {"a", "b"}),
        ("pinned-parent-pip", {"a", "c"}),
        ("three-uv", {"a", "b", "e"}),
        ("ext-pip", {"b", "django-rest"}),
    ],
)
def test_a_conflict_names_those_that_require_and_those_required(name: str, names: set[str]) -> None:
    found = conflict(output(name))
    assert found is not None
    assert found.names() == names


@pytest.mark.parametrize("name", ["not-found-uv", "no-version-uv"])
def test_one_requirement_that_nothing_meets_is_no_conflict(name: str) -> None:
    assert classify(output(name)) != "conflict"


@pytest.mark.parametrize("name", ["top2-pip", "pinned-parent-pip", "three-uv"])
def test_the_error_lists_the_demands_and_never_a_traceback(name: str) -> None:
    error = compile_error(output(name))
    assert isinstance(error, ConflictError)
    assert error.message.startswith("the requirements conflict:\n  ")
    assert "Traceback" not in error.message
    assert "pip._" not in error.message
    assert (
        error.hint == "loosen one of these requirements in env.toml (or the one that pulls it in)"
    )


def test_an_account_envsync_cannot_read_is_shown_without_its_traceback() -> None:
    text = 'Traceback (most recent call last):\n  File "x", line 1\nResolutionImpossible: ?'
    error = compile_error(text)
    assert isinstance(error, ConflictError)
    assert error.conflict is None
    assert error.message == "the requirements conflict:\n  ResolutionImpossible: ?"


@pytest.mark.parametrize(
    ("cause", "demand"),
    [
        # a direct URL, a Requires-Python, an sdist parent, an extras parent
        (
            (
                "requirement=ExplicitRequirement(LinkCandidate("
                "'http://i/files/x-1.0.tar.gz#sha256=00')), parent=None"
            ),
            Demand(who=ENV_TOML, what="x @ http://i/files/x-1.0.tar.gz"),
        ),
        (
            (
                "requirement=RequiresPythonRequirement('>=3.12'), parent=LinkCandidate("
                "'http://i/files/k-1.0.tar.gz (from http://i/simple/k/) (requires-python:>=3.12)')"
            ),
            Demand(who="k 1.0", what="Python>=3.12"),
        ),
        (
            (
                "requirement=SpecifierRequirement(\"b; python_version >= '3'\"), parent="
                "ExtrasCandidate(base=LinkCandidate('http://i/files/a_b-2.0-py3-none-any.whl'), "
                "extras=frozenset({'x'}))"
            ),
            Demand(who="a-b 2.0", what="b; python_version >= '3'"),
        ),
        (
            "requirement=SpecifierRequirement('b'), parent=EditableCandidate('file:///src/proj')",
            Demand(who="proj", what="b"),
        ),
    ],
)
def test_each_kind_of_pip_cause_is_read(cause: str, demand: Demand) -> None:
    text = f"ResolutionImpossible: [RequirementInformation({cause})]"
    assert conflict(text) == Conflict(demands=(demand,))


def test_a_kept_pin_in_pips_block_is_the_locks() -> None:
    text = (
        "The conflict is caused by:\n    a 1.0 depends on b<2\n"
        "    The user requested (constraint) b==2.0\n\nTo fix this you could try to:"
    )
    found = conflict(text)
    assert found is not None
    assert found.lines() == ("a 1.0 requires b<2", "pylock.toml requires b==2.0")
    assert found.names() == {"a", "b"}


_MARKERS = st.sampled_from(
    [
        "The conflict is caused by:\n",
        "    The user requested ",
        " depends on ",
        "ResolutionImpossible: [",
        "RequirementInformation(requirement=",
        "SpecifierRequirement('",
        "'), parent=",
        "LinkCandidate('",
        "None",
        "No solution found when resolving dependencies",
        "Because ",
        " and ",
        "you require ",
        ", we can conclude that ",
        "all versions of ",
        "==",
        "'",
        '"',
        "\\",
        "\n",
        "(1)",
    ]
)


@given(st.lists(st.one_of(_MARKERS, st.text(max_size=12)), max_size=30).map("".join))
@example("ResolutionImpossible: [RequirementInformation(requirement=X(')")
@example("No solution found when resolving dependencies Because  and , we can conclude that")
@example("The conflict is caused by:\n    x y depends on \n")
def test_any_text_is_read_without_raising(text: str) -> None:
    found = conflict(text)
    classify(text)
    if found is not None:
        assert found.demands
        assert len(set(found.demands)) == len(found.demands)
        assert all(name == canonicalize_name(name) for name in found.names())
