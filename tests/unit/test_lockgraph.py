"""``envsync why`` and ``tree`` from a lock: the graph, its walks, their text and JSON.

Locks are built as ``envsync lock`` builds them (``build_lock``), written and read back, so
what is tested is what a user's pylock.toml holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name
from packaging.version import Version

from envsync.core import lockgraph, treetext
from envsync.core.lockfile import (
    LockedFile,
    ParsedLock,
    ResolvedPackage,
    TargetResolution,
    build_lock,
    dumps,
    parse,
)
from envsync.core.lockmerge import split
from envsync.core.spec import parse_spec
from envsync.errors import LockError

from support.locks import target


def wheel(name: str, version: str) -> LockedFile:
    filename = f"{name}-{version}-py3-none-any.whl"
    return LockedFile(filename=filename, url=f"https://files.test/{filename}", sha256="a" * 64)


def pkg(
    name: str,
    version: str = "1.0",
    *,
    deps: tuple[str, ...] = (),
    requires: tuple[str, ...] = (),
    groups: tuple[str, ...] = (),
) -> ResolvedPackage:
    return ResolvedPackage(
        name=canonicalize_name(name),
        version=Version(version),
        groups=frozenset(groups),
        dependencies=tuple(canonicalize_name(d) for d in deps),
        requires=requires,
        wheels=(wheel(name, version),),
    )


def locked(
    spec_text: str,
    packages: list[ResolvedPackage],
    roots: dict[str, tuple[str, ...]],
    pythons: tuple[str, ...] = ("3.12",),
) -> ParsedLock:
    """The lock ``envsync lock`` writes for these packages, read back from its text."""
    spec = parse_spec(spec_text, path=Path("/proj/env.toml"))
    resolutions = [
        TargetResolution(target=target(p), packages=tuple(packages), roots=roots) for p in pythons
    ]
    return parse(dumps(build_lock(spec=spec, resolutions=resolutions)))


def graph_of(
    parsed: ParsedLock, python: str = "3.12", groups: tuple[str, ...] = (), *, main: bool = True
) -> lockgraph.Graph:
    return lockgraph.build(
        parsed.lock,
        parsed.info,
        environment=target(python).markers(),
        groups=groups,
        main=main,
    )


REQUESTS_SPEC = """
[env]
dependencies = ["requests>=2.31"]

[groups]
dev = ['httpx; python_version >= "3.11"']
"""


def requests_lock(*, recorded: bool = True) -> ParsedLock:
    return locked(
        REQUESTS_SPEC,
        [
            pkg("requests", "2.32.3", deps=("idna",), requires=("idna<4,>=2.5",) * recorded),
            pkg("httpx", "0.28.1", deps=("idna",), requires=("idna",) * recorded, groups=("dev",)),
            pkg("idna", "3.10"),
        ],
        roots={"": ("requests",), "dev": ("httpx",)},
    )


def test_why_shows_each_path_with_the_requirement_of_each_edge() -> None:
    graph = graph_of(requests_lock(), groups=("dev",))

    assert treetext.render_why(lockgraph.why(graph, "idna")) == (
        "idna 3.10\n"
        "  <- httpx 0.28.1  (requires idna)\n"
        '    <- group dev  (httpx; python_version >= "3.11")\n'
        "  <- requests 2.32.3  (requires idna<4,>=2.5)\n"
        "    <- main dependencies  (requests>=2.31)"
    )


def test_a_lock_without_recorded_requires_still_shows_every_edge() -> None:
    graph = graph_of(requests_lock(recorded=False), groups=("dev",))

    assert treetext.render_why(lockgraph.why(graph, "idna")) == (
        "idna 3.10\n"
        "  <- httpx 0.28.1  (requirement not recorded)\n"
        '    <- group dev  (httpx; python_version >= "3.11")\n'
        "  <- requests 2.32.3  (requirement not recorded)\n"
        "    <- main dependencies  (requests>=2.31)"
    )


def test_a_group_not_chosen_is_not_a_path() -> None:
    graph = graph_of(requests_lock())

    assert "httpx" not in graph.versions
    assert treetext.render_why(lockgraph.why(graph, "idna")).count("<-") == 2


@pytest.mark.parametrize(
    ("python", "shown"),
    [
        ("3.12", 'foo>=2; python_version >= "3.12"'),
        ("3.11", 'foo>=1; python_version < "3.12"'),
    ],
)
def test_the_line_shown_is_the_one_whose_marker_holds_on_the_target(
    python: str, shown: str
) -> None:
    parsed = locked(
        '[env]\ndependencies = ["bar"]\n',
        [
            pkg(
                "bar",
                deps=("foo",),
                requires=('foo>=1; python_version < "3.12"', 'foo>=2; python_version >= "3.12"'),
            ),
            pkg("foo"),
        ],
        roots={"": ("bar",)},
        pythons=("3.11", "3.12"),
    )

    edge = graph_of(parsed, python).children["bar"][0]

    assert edge.requirements == (shown,)


def test_a_line_behind_an_extra_holds_when_the_extra_is_asked_for() -> None:
    parsed = locked(
        '[env]\ndependencies = ["gamma[fast]"]\n',
        [pkg("gamma", deps=("delta",), requires=('delta; extra == "fast"',)), pkg("delta")],
        roots={"": ("gamma",)},
    )

    tree = lockgraph.tree(graph_of(parsed))

    assert treetext.render_tree(tree) == (
        'main dependencies\n  gamma 1.0  (gamma[fast])\n    delta 1.0  (delta; extra == "fast")'
    )


def test_no_line_that_holds_shows_every_line_naming_the_package() -> None:
    parsed = locked(
        '[env]\ndependencies = ["gamma"]\n',
        [pkg("gamma", deps=("delta",), requires=('delta; extra == "fast"',)), pkg("delta")],
        roots={"": ("gamma",)},
    )

    assert graph_of(parsed).children["gamma"][0].requirements == ('delta; extra == "fast"',)


CYCLE_SPEC = '[env]\ndependencies = ["a"]\n'


def cycle_lock() -> ParsedLock:
    return locked(
        CYCLE_SPEC,
        [
            pkg("a", deps=("b",), requires=("b",)),
            pkg("b", deps=("a", "c"), requires=("a>=1", "c")),
            pkg("c"),
        ],
        roots={"": ("a",)},
    )


def test_a_cycle_is_marked_and_ends_the_path() -> None:
    graph = graph_of(cycle_lock())

    assert treetext.render_why(lockgraph.why(graph, "a")) == (
        "a 1.0\n"
        "  <- main dependencies  (a)\n"
        "  <- b 1.0  (requires a>=1)\n"
        "    <- a 1.0 (*)  (requires b)\n"
        "(*) already on this path: a dependency cycle"
    )
    assert treetext.render_tree(lockgraph.tree(graph)) == (
        "main dependencies\n"
        "  a 1.0  (a)\n"
        "    b 1.0  (b)\n"
        "      a 1.0 (*)  (a>=1)\n"
        "      c 1.0  (c)\n"
        "(*) shown in full above"
    )


@pytest.mark.parametrize(
    ("depth", "expected"),
    [
        (0, "main dependencies"),
        (1, "main dependencies\n  a 1.0  (a)"),
        (2, "main dependencies\n  a 1.0  (a)\n    b 1.0  (b)"),
    ],
)
def test_depth_cuts_the_tree(depth: int, expected: str) -> None:
    assert treetext.render_tree(lockgraph.tree(graph_of(cycle_lock()), depth=depth)) == expected


def test_invert_starts_from_each_leaf() -> None:
    graph = graph_of(requests_lock(), groups=("dev",))

    assert treetext.render_tree(lockgraph.tree(graph, invert=True), inverted=True) == (
        "idna 3.10\n"
        "  <- httpx 0.28.1  (requires idna)\n"
        '    <- group dev  (httpx; python_version >= "3.11")\n'
        "  <- requests 2.32.3  (requires idna<4,>=2.5)\n"
        "    <- main dependencies  (requests>=2.31)"
    )
    inverted_once = lockgraph.tree(graph, invert=True, depth=1)
    assert treetext.render_tree(inverted_once, inverted=True) == (
        "idna 3.10\n"
        "  <- httpx 0.28.1  (requires idna)\n"
        "  <- requests 2.32.3  (requires idna<4,>=2.5)"
    )


def test_a_package_alone_down_or_up() -> None:
    graph = graph_of(cycle_lock())

    assert treetext.render_tree(lockgraph.tree(graph, package="b")) == (
        "b 1.0\n  a 1.0  (a>=1)\n    b 1.0 (*)  (b)\n  c 1.0  (c)\n(*) shown in full above"
    )
    assert treetext.render_tree(lockgraph.tree(graph, package="c", invert=True), inverted=True) == (
        "c 1.0\n"
        "  <- b 1.0  (requires c)\n"
        "    <- a 1.0  (requires b)\n"
        "      <- main dependencies  (a)\n"
        "      <- b 1.0 (*)  (requires a>=1)\n"
        "(*) shown in full above"
    )


def test_packages_no_root_reaches_come_last() -> None:
    parsed = locked(
        '[env]\ndependencies = ["a"]\n',
        [pkg("a"), pkg("b", deps=("c",), requires=("c",)), pkg("c", deps=("b",), requires=("b",))],
        roots={"": ("a",)},
    )

    graph = graph_of(parsed)

    assert treetext.render_tree(lockgraph.tree(graph)) == (
        "main dependencies\n  a 1.0  (a)\nb 1.0\n  c 1.0  (c)\n    b 1.0 (*)  (b)\n"
        "(*) shown in full above"
    )
    # Inverted: a is a leaf; b and c depend on each other and on no leaf.
    assert [n.name for n in lockgraph.tree(graph, invert=True)] == ["a", "b"]


def test_only_group_keeps_what_the_groups_need() -> None:
    graph = graph_of(requests_lock(), groups=("dev",), main=False)

    assert set(graph.versions) == {"httpx", "idna"}
    assert list(graph.roots) == ["dev"]


def test_roots_come_from_the_requirements_where_none_were_recorded() -> None:
    parsed = locked(REQUESTS_SPEC, [pkg("requests", "2.32.3")], roots={})

    assert graph_of(parsed).roots == {
        "": (lockgraph.Edge(child="requests", requirements=("requests>=2.31",)),)
    }


def test_json_data_and_paths() -> None:
    answer = lockgraph.why(graph_of(requests_lock(recorded=False)), "idna")

    assert treetext.node_data(answer) == {
        "kind": "package",
        "name": "idna",
        "version": "3.10",
        "repeated": False,
        "children": [
            {
                "kind": "package",
                "name": "requests",
                "version": "2.32.3",
                "requirements": None,
                "repeated": False,
                "children": [
                    {
                        "kind": "main",
                        "requirements": ["requests>=2.31"],
                        "repeated": False,
                        "children": [],
                    }
                ],
            }
        ],
    }
    assert treetext.paths(answer) == [
        [
            {"kind": "main"},
            {
                "kind": "package",
                "name": "requests",
                "version": "2.32.3",
                "requirements": ["requests>=2.31"],
            },
            {"kind": "package", "name": "idna", "version": "3.10", "requirements": None},
        ]
    ]


def test_a_cycle_is_no_path_from_a_root() -> None:
    answer = lockgraph.why(graph_of(cycle_lock()), "b")

    assert treetext.paths(answer) == [
        [
            {"kind": "main"},
            {"kind": "package", "name": "a", "version": "1.0", "requirements": ["a"]},
            {"kind": "package", "name": "b", "version": "1.0", "requirements": ["b"]},
        ]
    ]
    group = treetext.node_data(lockgraph.tree(graph_of(requests_lock()))[0])
    assert group["kind"] == "main"
    assert "requirements" not in group


def test_a_named_group_and_a_quoted_control_character_in_text() -> None:
    node = lockgraph.Node(
        kind="group", name="dev", requirements=('x; python_version == "\x1b[31m"',)
    )
    top = lockgraph.Node(kind="package", name="x", version="1.0", edge=False, children=(node,))

    assert treetext.render_why(top) == ('x 1.0\n  <- group dev  (x; python_version == "\\x1b[31m")')
    assert treetext.node_data(node)["name"] == "dev"


# -- the lock's record -------------------------------------------------------------------


def test_requires_are_written_to_the_package_tool_table_and_read_back() -> None:
    text = dumps(requests_lock().lock)

    assert '[packages.tool.envsync]\nrequires = [\n    "idna<4,>=2.5",\n]' in text
    assert dumps(parse(text).lock) == text  # same lock, same bytes
    idna = text.split('[[packages]]\nname = "idna"')[1].split("[[packages]]")[0]
    assert "[packages.tool" not in idna  # nothing for a package with no dependencies


def test_targets_merge_their_lines_and_split_keeps_only_their_own() -> None:
    spec = parse_spec('[env]\ndependencies = ["bar"]\n', path=Path("/proj/env.toml"))
    old = pkg("bar", deps=("foo",), requires=('foo; python_version < "3.12"',))
    new = pkg("bar", deps=("baz",), requires=('baz; python_version >= "3.12"',))
    lock = build_lock(
        spec=spec,
        resolutions=[
            TargetResolution(target=target("3.11"), packages=(old, pkg("foo"))),
            TargetResolution(target=target("3.12"), packages=(new, pkg("baz"))),
        ],
    )
    bar = next(p for p in lock.packages if p.name == "bar")

    assert bar.tool == {
        "envsync": {"requires": ['baz; python_version >= "3.12"', 'foo; python_version < "3.12"']}
    }
    part = split(lock, target("3.12"), {"": ("bar",)})
    assert next(p for p in part.packages if p.name == "bar").requires == (
        'baz; python_version >= "3.12"',
    )


@pytest.mark.parametrize(
    ("requires", "problem"),
    [
        ('"idna"', "packages[2].tool.envsync.requires must be an array of PEP 508 requirements"),
        ('["idna", "not a req!"]', "packages[2].tool.envsync.requires[1] must be a PEP 508"),
        ("[3]", "packages[2].tool.envsync.requires[0] must be a PEP 508 requirement, found 3"),
    ],
)
def test_the_lock_check_refuses_a_bad_requires(requires: str, problem: str) -> None:
    text = dumps(requests_lock().lock).replace(
        'requires = [\n    "idna<4,>=2.5",\n]', f"requires = {requires}"
    )

    with pytest.raises(LockError) as caught:
        parse(text)

    assert problem in caught.value.message


# -- properties ----------------------------------------------------------------------------

NAMES = [f"p{i}" for i in range(7)]


@st.composite
def graphs(draw: st.DrawFn) -> tuple[dict[str, list[str]], list[str]]:
    """Any dependency graph over a few names (cycles too), and the main roots."""
    names = NAMES[: draw(st.integers(1, len(NAMES)))]
    edges = {n: draw(st.lists(st.sampled_from(names), unique=True, max_size=3)) for n in names}
    roots = draw(st.lists(st.sampled_from(names), unique=True, min_size=1, max_size=3))
    return edges, roots


def graph_from(edges: dict[str, list[str]], roots: list[str]) -> lockgraph.Graph:
    deps = ", ".join(f'"{r}"' for r in roots)
    packages = [pkg(n, deps=tuple(kids), requires=tuple(kids)) for n, kids in edges.items()]
    return graph_of(locked(f"[env]\ndependencies = [{deps}]\n", packages, {"": tuple(roots)}))


def is_edge(graph: lockgraph.Graph, parent: lockgraph.Node, child: str) -> bool:
    if parent.kind == "group":
        return any(e.child == child for e in graph.roots[parent.name])
    return any(e.child == child for e in graph.children[parent.name])


@settings(deadline=None)
@given(graphs(), st.data())
def test_every_path_why_prints_is_a_path_of_edges(
    drawn: tuple[dict[str, list[str]], list[str]], data: st.DataObject
) -> None:
    graph = graph_from(*drawn)
    name = data.draw(st.sampled_from(sorted(graph.versions)))

    def check(node: lockgraph.Node, path: tuple[str, ...]) -> None:
        for parent in node.children:
            assert is_edge(graph, parent, node.name)
            assert (parent.name in path) == parent.repeated or parent.kind == "group"
            check(parent, (*path, parent.name))

    check(lockgraph.why(graph, name), (name,))
    for path in treetext.paths(lockgraph.why(graph, name)):
        assert path[0] == {"kind": "main"}
        assert path[-1]["name"] == name


def lines(nodes: tuple[lockgraph.Node, ...]) -> list[lockgraph.Node]:
    found: list[lockgraph.Node] = []
    for node in nodes:
        found.append(node)
        found += lines(node.children)
    return found


@settings(deadline=None)
@given(graphs(), st.booleans())
def test_the_tree_shows_every_package_once_in_full(
    drawn: tuple[dict[str, list[str]], list[str]], invert: bool
) -> None:
    graph = graph_from(*drawn)

    shown = [n for n in lines(lockgraph.tree(graph, invert=invert)) if n.kind == "package"]

    assert sorted(n.name for n in shown if not n.repeated) == sorted(graph.versions)
    for node in lines(lockgraph.tree(graph, invert=invert)):
        for child in node.children:
            if invert:
                assert is_edge(graph, child, node.name)
            elif node.kind == "package" or child.kind == "package":
                assert is_edge(graph, node, child.name)


def test_a_dependency_at_another_version_is_another_targets_edge() -> None:
    spec = parse_spec('[env]\ndependencies = ["bar"]\n', path=Path("/proj/env.toml"))
    parsed = parse(
        dumps(
            build_lock(
                spec=spec,
                resolutions=[
                    TargetResolution(
                        target=target(python),
                        packages=(pkg("bar", deps=("foo",), requires=("foo",)), pkg("foo", foo)),
                        roots={"": ("bar",)},
                    )
                    for python, foo in (("3.11", "1.0"), ("3.12", "2.0"))
                ],
            )
        )
    )

    for python, foo in (("3.11", "1.0"), ("3.12", "2.0")):
        graph = graph_of(parsed, python)
        assert graph.children["bar"] == (lockgraph.Edge(child="foo", requirements=("foo",)),)
        assert graph.versions["foo"] == foo


def test_an_inverted_tree_of_depth_0_is_its_leaves() -> None:
    graph = graph_of(requests_lock(), groups=("dev",))

    assert treetext.render_tree(lockgraph.tree(graph, invert=True, depth=0)) == "idna 3.10"
