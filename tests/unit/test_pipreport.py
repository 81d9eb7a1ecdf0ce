"""pipreport: pip's installation report read as the pins pip-compile prints, via and all."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.markers import Marker

from envsync.core.targets import PLATFORMS, LockTarget
from envsync.errors import ResolutionError
from envsync.resolve.pipreport import Root, pins_from_report, read_root

WINDOWS = LockTarget(python="3.12", platform=PLATFORMS["windows-x86_64"]).markers()
LINUX = LockTarget(python="3.11", platform=PLATFORMS["linux-x86_64"]).markers()
INDEX = "http://127.0.0.1:1/files/x.whl"


def item(name: str, version: str = "1.0", *requires: str, **download: Any) -> dict[str, Any]:
    """One entry of pip's report, as pip writes it (from an index unless *download* says)."""
    info = {"url": INDEX, "archive_info": {}} | download
    return {
        "download_info": info,
        "is_direct": bool(download),
        "metadata": {"name": name, "version": version, "requires_dist": list(requires)},
    }


def root(name: str, *extras: str, marker: str | None = None) -> Root:
    return Root(name=name, extras=frozenset(extras), marker=Marker(marker) if marker else None)


def lines(report: list[dict[str, Any]], roots: dict[str, list[Root]], markers=LINUX) -> list[str]:
    """The pins as pip-compile's output lines: ``req  # via ...``."""
    pins = pins_from_report({"install": report}, roots, markers, {})
    return [f"{p.requirement}  # via {', '.join(p.via)}".removesuffix("  # via ") for p in pins]


@pytest.mark.parametrize(
    ("report", "roots", "markers", "expected"),
    [
        pytest.param(
            [item("a", "1.0", "b"), item("b", "2.0")],
            {"main.in": [root("a")]},
            LINUX,
            ["a==1.0  # via -r main.in", "b==2.0  # via a"],
            id="a-parent-and-a-root",
        ),
        pytest.param(
            # Listed children first: the extras asked of b are known only after a's.
            [
                item("d"),
                item("c", "1.0", 'd; extra == "z"'),
                item("b", "1.0", 'c[z]; extra == "y"'),
                item("a", "1.0", 'b[y]; extra == "x"'),
            ],
            {"main.in": [root("a", "x")]},
            LINUX,
            ["a==1.0  # via -r main.in", "b==1.0  # via a", "c==1.0  # via b", "d==1.0  # via c"],
            id="extras-asked-by-parents-to-a-fixpoint",
        ),
        pytest.param(
            [item("a", "1.0", 'a[x]; extra == "all"', 'b; extra == "x"'), item("b")],
            {"main.in": [root("a", "all")]},
            LINUX,
            ["a==1.0  # via -r main.in", "b==1.0  # via a"],
            id="a-package-asking-its-own-extra-is-not-its-own-parent",
        ),
        pytest.param(
            [item("a", "1.0", 'w; sys_platform == "win32"', "b"), item("b"), item("w")],
            {"main.in": [root("a")], "group-dev.in": [root("w")]},
            LINUX,
            ["a==1.0  # via -r main.in", "b==1.0  # via a", "w==1.0  # via -r group-dev.in"],
            id="an-edge-whose-marker-fails-on-the-target-is-no-edge",
        ),
        pytest.param(
            [item("a", "1.0", 'w; sys_platform == "win32"'), item("w")],
            {"main.in": [root("a")], "group-dev.in": [root("w")]},
            WINDOWS,
            ["a==1.0  # via -r main.in", "w==1.0  # via a, -r group-dev.in"],
            id="the-same-on-windows",
        ),
        pytest.param(
            [item("a"), item("b")],
            {"main.in": [root("a"), root("b", marker='python_version < "3.12"')]},
            WINDOWS,
            ["a==1.0  # via -r main.in", "b==1.0"],
            id="a-root-whose-marker-fails-names-no-input",
        ),
        pytest.param(
            [item("a", "1.0", 'b; python_version ~= "x"'), item("b")],
            {"main.in": [root("a")]},
            LINUX,
            ["a==1.0  # via -r main.in", "b==1.0"],
            id="a-comparison-that-cannot-be-made-does-not-hold",
        ),
        pytest.param(
            [item("App-Name", "1.0", "Other_Lib"), item("other.lib")],
            {"main.in": [root("app-name")]},
            LINUX,
            ["app-name==1.0  # via -r main.in", "other-lib==1.0  # via app-name"],
            id="names-are-normalized",
        ),
    ],
)
def test_pins_from_a_report(
    report: list[dict[str, Any]],
    roots: dict[str, list[Root]],
    markers: dict[str, str],
    expected: list[str],
) -> None:
    assert lines(report, roots, markers) == expected


def test_direct_references_keep_the_url_envsync_wrote() -> None:
    editables = {"file:///p/edit": "edit"}
    wrote = ["local @ file:///p/local", "-e file:///p/edit"]
    roots = {"main.in": [read_root(line, editables) for line in wrote]}
    report = {
        "install": [
            item("local", "0.3", url="file:///p/./local", dir_info={}),  # pip's own spelling
            item("edit", "0.1", url="file:///p/edit/", dir_info={"editable": True}),
            item("vcs", "2.0", url="https://h/r.git", vcs_info={"vcs": "git", "commit_id": "abc"}),
        ]
    }

    pins = pins_from_report(report, roots, LINUX, editables)

    assert [(str(p.requirement), p.editable, p.via) for p in pins] == [
        ("edit @ file:///p/edit", True, ("-r main.in",)),
        ("local @ file:///p/local", False, ("-r main.in",)),
        ("vcs @ git+https://h/r.git@abc", False, ()),
    ]


def test_an_input_line_is_read_as_envsync_wrote_it() -> None:
    assert read_root('Gamma[Fast,x] ; sys_platform == "win32"', {}) == Root(
        name="gamma",
        extras=frozenset({"fast", "x"}),
        marker=Marker('sys_platform == "win32"'),
    )
    edit = read_root("-e file:///src/mylib", {"file:///src/mylib": "mylib"})
    assert (edit.name, edit.url, edit.editable) == ("mylib", "file:///src/mylib", True)


@pytest.mark.parametrize(
    ("report", "why"),
    [
        ({}, "no list of packages to install"),
        ({"install": [{"metadata": {}}]}, "an entry is not as pip writes it"),
        ({"install": [item("a", "1.0", "b >=")]}, "a has the requirement 'b >='"),
    ],
)
def test_an_unreadable_report_is_a_resolution_error(report: dict[str, Any], why: str) -> None:
    with pytest.raises(ResolutionError, match="could not read pip's installation report") as e:
        pins_from_report(report, {}, LINUX, {})
    assert why in e.value.message


Edge = tuple[int, frozenset[str], str]  # child, extras asked of it, gate ("", "x", "y", "win32")


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[list[Edge]], frozenset[str]]:
    """Packages p0..pN, each requiring later ones, some behind an extra or a marker; p0's extras."""
    count = draw(st.integers(1, 7))
    extras = st.frozensets(st.sampled_from(["x", "y"]))
    gates = st.sampled_from(["", "x", "y", "win32"])
    edges = [
        [
            (j, draw(extras), draw(gates))
            for j in sorted(draw(st.sets(st.integers(i + 1, count - 1))))
        ]
        if i + 1 < count
        else []
        for i in range(count)
    ]
    return edges, draw(extras)


def as_report(edges: list[list[Edge]]) -> list[dict[str, Any]]:
    gate = {
        "": "",
        "x": '; extra == "x"',
        "y": '; extra == "y"',
        "win32": '; sys_platform == "win32"',
    }
    return [
        item(f"p{i}", "1.0", *(f"p{j}[{','.join(sorted(x))}]{gate[g]}" for j, x, g in out))
        for i, out in enumerate(edges)
    ]


def model_parents(edges: list[list[Edge]], asked: frozenset[str]) -> dict[str, set[str]]:
    """Who needs whom on Linux, by a walk over (package, extra) states: no fixpoint to get wrong.

    Every package of a report is installed, so the walk starts from each without extras.
    """
    todo = [(i, "") for i in range(len(edges))] + [(0, e) for e in asked]
    seen = set(todo)
    parents: dict[str, set[str]] = {f"p{i}": set() for i in range(len(edges))}
    while todo:
        i, extra = todo.pop()
        for j, extras, gate in edges[i]:
            if gate in {"", extra}:
                parents[f"p{j}"].add(f"p{i}")
                new = {(j, e) for e in ("", *extras)} - seen
                seen |= new
                todo += new
    return parents


@given(graphs(), st.randoms())
def test_the_graph_is_the_walk_over_extras_in_any_report_order(
    graph: tuple[list[list[Edge]], frozenset[str]], rng: Any
) -> None:
    edges, asked = graph
    report = as_report(edges)
    rng.shuffle(report)

    pins = pins_from_report({"install": report}, {"main.in": [root("p0", *asked)]}, LINUX, {})

    expected = model_parents(edges, asked)
    assert {p.name: set(p.via) - {"-r main.in"} for p in pins} == expected
