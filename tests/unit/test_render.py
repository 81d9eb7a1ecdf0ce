"""render: golden text for every change kind, the summary, colors, errors and the JSON shape."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, cast

import pytest
from packaging.version import Version

from envsync.core.lockfile import Artifact, Wanted
from envsync.core.planner import SEED, Action, Change, InstalledDist, Plan
from envsync.core.render import (
    NO_CHANGES,
    plan_counts,
    plan_to_json,
    render_error,
    render_plan,
)
from envsync.errors import EnvsyncError, SpecError, SpecProblem

if TYPE_CHECKING:
    from envsync._types import ArtifactKind, NormalizedName

WHEEL_URL = "https://index.example/files/x.whl"
ESC = "\x1b["


def nn(name: str) -> NormalizedName:
    return cast("NormalizedName", name)


def want(
    name: str,
    version: str | None,
    *,
    kind: ArtifactKind = "wheel",
    url: str = WHEEL_URL,
    editable: bool = False,
) -> Wanted:
    return Wanted(
        name=nn(name),
        version=Version(version) if version else None,
        artifact=Artifact(kind=kind, url=url),
        editable=editable,
    )


def have(name: str, version: str) -> InstalledDist:
    return InstalledDist(name=nn(name), version=Version(version))


def install(name: str, version: str | None, **kw) -> Action:
    return Action(name=nn(name), change=Change.INSTALL, want=want(name, version, **kw))


def upgrade(name: str, old: str, new: str, **kw) -> Action:
    return Action(
        name=nn(name), change=Change.UPGRADE, have=have(name, old), want=want(name, new, **kw)
    )


def downgrade(name: str, old: str, new: str) -> Action:
    return Action(
        name=nn(name), change=Change.DOWNGRADE, have=have(name, old), want=want(name, new)
    )


def reinstall(name: str, version: str, reason: str | None, **kw) -> Action:
    return Action(
        name=nn(name),
        change=Change.REINSTALL,
        have=have(name, version),
        want=want(name, kw.pop("want_version", version), **kw),
        reason=reason,
    )


def remove(name: str, version: str, reason: str | None = None) -> Action:
    return Action(name=nn(name), change=Change.REMOVE, have=have(name, version), reason=reason)


def keep(name: str, version: str) -> Action:
    return Action(
        name=nn(name), change=Change.KEEP, have=have(name, version), want=want(name, version)
    )


def plan_of(*actions: Action) -> Plan:
    return Plan(actions=tuple(sorted(actions, key=lambda a: a.name)))


# --- one line per change kind ---------------------------------------------------------------

LINES = [
    pytest.param(install("rich", "13.7.1"), "+ rich 13.7.1", id="install"),
    pytest.param(
        install("mylib", "0.1", kind="directory", url="file:///abs/libs/mylib"),
        "+ mylib 0.1 (from file:///abs/libs/mylib)",
        id="install-directory",
    ),
    pytest.param(
        install("mylib", None, kind="directory", url="file:///abs/libs/my%20lib/", editable=True),
        "+ mylib my lib (editable, from file:///abs/libs/my%20lib/)",
        id="install-editable-directory-without-version",
    ),
    pytest.param(
        install("tool", "1.0", kind="archive", url="https://example.com/tool-1.0.tar.gz"),
        "+ tool 1.0 (from https://example.com/tool-1.0.tar.gz)",
        id="install-archive",
    ),
    pytest.param(install("six", "1.0", kind="sdist"), "+ six 1.0", id="install-sdist"),
    pytest.param(
        upgrade("requests", "2.31.0", "2.32.3"),
        "~ requests 2.31.0 -> 2.32.3 (upgrade)",
        id="upgrade",
    ),
    pytest.param(
        upgrade("mylib", "0.1", "0.2", kind="directory", url="file:///abs/mylib"),
        "~ mylib 0.1 -> 0.2 (upgrade, from file:///abs/mylib)",
        id="upgrade-directory",
    ),
    pytest.param(downgrade("idna", "3.7", "3.6"), "~ idna 3.7 -> 3.6 (downgrade)", id="downgrade"),
    pytest.param(
        reinstall("rich", "13.7.1", "hash differs"),
        "~ rich 13.7.1 (reinstall: hash differs)",
        id="reinstall",
    ),
    pytest.param(
        reinstall("rich", "13.7.1", None), "~ rich 13.7.1 (reinstall)", id="reinstall-no-reason"
    ),
    pytest.param(
        reinstall(
            "mylib",
            "0.1",
            "source differs",
            want_version=None,
            kind="directory",
            url="file:///a/mylib",
        ),
        "~ mylib 0.1 (reinstall: source differs, from file:///a/mylib)",
        id="reinstall-directory-without-version",
    ),
    pytest.param(
        Action(name=nn("pip"), change=Change.INSTALL, reason=SEED),
        "+ pip (seed: from the venv's ensurepip)",
        id="seed",
    ),
    pytest.param(remove("six", "1.16.0"), "- six 1.16.0", id="remove"),
    pytest.param(
        remove("six", "1.16.0", "installed twice"),
        "- six 1.16.0 (installed twice)",
        id="remove-duplicate",
    ),
]


@pytest.mark.parametrize(("action", "line"), LINES)
def test_each_change_kind_renders_one_line(action, line):
    counts = plan_counts(plan_of(action))
    assert render_plan(plan_of(action)).splitlines()[0] == line
    assert sum(counts.values()) == 1


def test_actions_without_their_sides_still_render():
    # The planner always fills these in; render stays total for hand-built plans.
    plan = plan_of(
        Action(name=nn("a"), change=Change.INSTALL),
        Action(name=nn("b"), change=Change.REMOVE),
    )
    assert render_plan(plan).splitlines()[:2] == ["+ a ?", "- b ?"]


# --- whole plans ----------------------------------------------------------------------------

MIXED = plan_of(
    install("attrs", "23.2.0"),
    install("mylib", "0.1", kind="directory", url="file:///abs/libs/mylib"),
    upgrade("requests", "2.31.0", "2.32.3"),
    downgrade("idna", "3.7", "3.6"),
    keep("certifi", "2024.2.2"),
    remove("six", "1.16.0"),
)

MIXED_TEXT = """\
+ attrs 23.2.0
~ idna 3.7 -> 3.6 (downgrade)
+ mylib 0.1 (from file:///abs/libs/mylib)
~ requests 2.31.0 -> 2.32.3 (upgrade)
- six 1.16.0

Plan: 2 to install, 1 to upgrade, 1 to downgrade, 0 to reinstall, 1 to remove."""


def test_plan_golden_text():
    assert render_plan(MIXED) == MIXED_TEXT


def test_lines_are_sorted_by_name_even_if_the_plan_is_not():
    unsorted = Plan(actions=(remove("zz", "1"), install("aa", "1")))
    assert render_plan(unsorted).splitlines()[:2] == ["+ aa 1", "- zz 1"]


def test_empty_plan():
    assert render_plan(Plan(actions=())) == NO_CHANGES
    assert render_plan(plan_of(keep("certifi", "2024.2.2"))) == (
        "No changes. The environment matches the lock."
    )


def test_plan_counts():
    assert plan_counts(MIXED) == {
        "install": 2,
        "upgrade": 1,
        "downgrade": 1,
        "reinstall": 0,
        "remove": 1,
    }
    assert list(plan_counts(Plan(actions=()))) == [
        "install",
        "upgrade",
        "downgrade",
        "reinstall",
        "remove",
    ]


# --- color ----------------------------------------------------------------------------------


@pytest.mark.parametrize("plan", [MIXED, Plan(actions=())], ids=["changes", "empty"])
def test_no_escape_codes_without_color(plan):
    assert "\x1b" not in render_plan(plan)
    assert "\x1b" not in render_plan(plan, color=False)


def test_color_wraps_each_symbol():
    lines = render_plan(MIXED, color=True).splitlines()
    assert lines[0] == "\x1b[32m+\x1b[0m attrs 23.2.0"
    assert lines[1] == "\x1b[33m~\x1b[0m idna 3.7 -> 3.6 (downgrade)"
    assert lines[4] == "\x1b[31m-\x1b[0m six 1.16.0"
    assert lines[-1].startswith(ESC)
    assert lines[-1].endswith("0 to reinstall, 1 to remove.")


def test_color_on_the_empty_plan():
    text = render_plan(Plan(actions=()), color=True)
    assert ESC in text
    assert NO_CHANGES in text


# --- errors ---------------------------------------------------------------------------------


def test_error_without_hint():
    assert render_error(EnvsyncError("the lock is missing")) == "error: the lock is missing"


def test_error_with_hint():
    err = EnvsyncError("the lock is stale", hint="run `envsync lock`")
    assert render_error(err) == "error: the lock is stale\nhint: run `envsync lock`"


def test_multi_line_error_keeps_its_lines():
    err = SpecError(
        "env.toml",
        [SpecProblem(key="env.python", expected="a string", found="3", line=2)],
    )
    assert render_error(err).splitlines() == [
        "error: env.toml is not a valid envsync spec:",
        "  env.toml:2: env.python: expected a string, found 3",
        "hint: fix the keys above; the format is described in the README (env.toml)",
    ]


def test_error_color_only_when_asked():
    err = EnvsyncError("boom", hint="try again")
    assert "\x1b" not in render_error(err)
    colored = render_error(err, color=True)
    assert ESC in colored
    assert "boom" in colored
    assert "try again" in colored


# --- JSON -----------------------------------------------------------------------------------


def test_json_shape():
    data = plan_to_json(
        plan_of(
            install("attrs", "23.2.0"),
            install("mylib", None, kind="directory", url="file:///abs/mylib"),
            upgrade("requests", "2.31.0", "2.32.3"),
            reinstall("rich", "13.7.1", "hash differs"),
            reinstall("local", "0.3", "source differs", want_version=None, kind="directory"),
            keep("certifi", "2024.2.2"),
            remove("six", "1.16.0"),
        )
    )
    assert data == {
        "changes": [
            {"name": "attrs", "action": "install", "from": None, "to": "23.2.0", "reason": None},
            {
                "name": "local",
                "action": "reinstall",
                "from": "0.3",
                "to": "0.3",
                "reason": "source differs",
            },
            {"name": "mylib", "action": "install", "from": None, "to": None, "reason": None},
            {
                "name": "requests",
                "action": "upgrade",
                "from": "2.31.0",
                "to": "2.32.3",
                "reason": None,
            },
            {
                "name": "rich",
                "action": "reinstall",
                "from": "13.7.1",
                "to": "13.7.1",
                "reason": "hash differs",
            },
            {"name": "six", "action": "remove", "from": "1.16.0", "to": None, "reason": None},
        ],
        "summary": {"install": 2, "upgrade": 1, "downgrade": 0, "reinstall": 2, "remove": 1},
    }


def test_json_key_order_is_stable_and_serializable():
    data = plan_to_json(MIXED)
    assert list(data) == ["changes", "summary"]
    assert all(list(c) == ["name", "action", "from", "to", "reason"] for c in data["changes"])
    assert json.loads(json.dumps(data)) == data


def test_json_of_an_empty_plan():
    assert plan_to_json(Plan(actions=())) == {
        "changes": [],
        "summary": {"install": 0, "upgrade": 0, "downgrade": 0, "reinstall": 0, "remove": 0},
    }
