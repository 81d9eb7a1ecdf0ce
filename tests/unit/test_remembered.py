"""The remembered group options: as the state file holds them, and less unknown groups."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envsync.core.selection import GroupSelection
from envsync.usecases.remembered import as_options, from_options, with_group, without_unknown

NAMES = st.lists(st.sampled_from(["dev", "docs", "Test_Tools", "old"]), max_size=3).map(tuple)
SELECTIONS = st.builds(
    GroupSelection, groups=NAMES, only=NAMES, all_groups=st.booleans(), no_default=st.booleans()
)


@pytest.mark.parametrize(
    ("selection", "options"),
    [
        pytest.param(GroupSelection(), {}, id="nothing"),
        pytest.param(GroupSelection(groups=("dev", "docs")), {"--group": ["dev", "docs"]}, id="g"),
        pytest.param(GroupSelection(only=("docs",)), {"--only-group": ["docs"]}, id="only"),
        pytest.param(GroupSelection(all_groups=True), {"--all-groups": [""]}, id="all"),
        pytest.param(GroupSelection(no_default=True), {"--no-default-groups": [""]}, id="none"),
    ],
)
def test_a_selection_is_held_as_the_no_change_path_reads_a_command_line(
    selection: GroupSelection, options: dict[str, list[str]]
) -> None:
    assert as_options(selection) == options
    assert from_options(options) == selection


@given(SELECTIONS)
def test_options_round_trip(selection: GroupSelection) -> None:
    assert from_options(as_options(selection)) == selection


@pytest.mark.parametrize(
    ("selection", "kept", "dropped"),
    [
        pytest.param(GroupSelection(groups=("dev",)), GroupSelection(groups=("dev",)), (), id="ok"),
        pytest.param(
            GroupSelection(groups=("dev", "old")),
            GroupSelection(groups=("dev",)),
            ("old",),
            id="a group gone",
        ),
        pytest.param(
            GroupSelection(only=("old",), no_default=True),
            GroupSelection(no_default=True),
            ("old",),
            id="the only group gone",
        ),
        pytest.param(
            GroupSelection(groups=("test-tools",)),
            GroupSelection(groups=("test-tools",)),
            (),
            id="names compare normalized",
        ),
        pytest.param(
            GroupSelection(groups=("old",), only=("old",)),
            GroupSelection(),
            ("old",),
            id="named once",
        ),
    ],
)
def test_groups_env_toml_no_longer_defines_are_dropped(
    selection: GroupSelection, kept: GroupSelection, dropped: tuple[str, ...]
) -> None:
    assert without_unknown(selection, ["dev", "docs", "Test_Tools"]) == (kept, dropped)


@given(SELECTIONS)
def test_nothing_dropped_is_kept_and_everything_kept_is_known(selection: GroupSelection) -> None:
    kept, dropped = without_unknown(selection, ["dev", "docs", "Test_Tools"])
    assert "old" not in (*kept.groups, *kept.only)
    assert set(dropped) <= {"old"}
    assert (kept.all_groups, kept.no_default) == (selection.all_groups, selection.no_default)


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        pytest.param(GroupSelection(), GroupSelection(groups=("docs",)), id="defaults"),
        pytest.param(
            GroupSelection(groups=("dev",)), GroupSelection(groups=("dev", "docs")), id="beside"
        ),
        pytest.param(GroupSelection(groups=("docs",)), GroupSelection(groups=("docs",)), id="has"),
        pytest.param(
            GroupSelection(only=("dev",)), GroupSelection(only=("dev", "docs")), id="only"
        ),
        pytest.param(GroupSelection(all_groups=True), GroupSelection(all_groups=True), id="all"),
        pytest.param(
            GroupSelection(no_default=True),
            GroupSelection(groups=("docs",), no_default=True),
            id="no-default",
        ),
    ],
)
def test_an_edited_group_is_installed_beside_the_remembered_ones(
    selection: GroupSelection, expected: GroupSelection
) -> None:
    assert with_group(selection, "docs") == expected
