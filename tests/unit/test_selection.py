"""--group / --only-group / --all-groups / --no-default-groups -> the groups to install."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envsync.core.selection import Chosen, GroupSelection, UnknownGroupError, choose

KNOWN = ("dev", "docs", "Test_Tools")


@pytest.mark.parametrize(
    ("selection", "default", "expected"),
    [
        pytest.param(GroupSelection(), (), Chosen(groups=()), id="nothing asked"),
        pytest.param(GroupSelection(), ("dev",), Chosen(groups=("dev",)), id="defaults"),
        pytest.param(
            GroupSelection(no_default=True), ("dev",), Chosen(groups=()), id="no defaults"
        ),
        pytest.param(
            GroupSelection(groups=("docs",)),
            ("dev",),
            Chosen(groups=("dev", "docs")),
            id="--group adds to the defaults",
        ),
        pytest.param(
            GroupSelection(only=("docs",)),
            ("dev",),
            Chosen(groups=("docs",), main=False),
            id="--only-group drops main and defaults",
        ),
        pytest.param(
            GroupSelection(only=("docs",), groups=("dev",)),
            (),
            Chosen(groups=("dev", "docs"), main=False),
            id="--only-group with --group",
        ),
        pytest.param(
            GroupSelection(all_groups=True),
            (),
            Chosen(groups=("dev", "docs", "test-tools")),
            id="--all-groups",
        ),
        pytest.param(
            GroupSelection(groups=("TEST.tools",)),
            (),
            Chosen(groups=("test-tools",)),
            id="names compare normalized",
        ),
    ],
)
def test_choose(selection: GroupSelection, default: tuple[str, ...], expected: Chosen) -> None:
    assert choose(selection, known=KNOWN, default=default) == expected


@pytest.mark.parametrize(
    "selection",
    [GroupSelection(groups=("tests",)), GroupSelection(only=("tests",))],
)
def test_an_unknown_group_names_the_known_ones(selection: GroupSelection) -> None:
    with pytest.raises(UnknownGroupError) as caught:
        choose(selection, known=KNOWN)
    assert str(caught.value) == "there is no group named 'tests' (groups: dev, docs, test-tools)"
    assert caught.value.exit_code == 1


def test_no_groups_defined_says_so() -> None:
    with pytest.raises(UnknownGroupError, match=r"\(groups: none are defined\)"):
        choose(GroupSelection(groups=("dev",)), known=())


@given(
    st.lists(st.sampled_from(KNOWN)),
    st.lists(st.sampled_from(KNOWN)),
    st.lists(st.sampled_from(KNOWN)),
    st.booleans(),
    st.booleans(),
)
def test_chosen_groups_are_known_sorted_and_include_what_was_asked(
    groups: list[str], only: list[str], default: list[str], all_groups: bool, no_default: bool
) -> None:
    selection = GroupSelection(
        groups=tuple(groups), only=tuple(only), all_groups=all_groups, no_default=no_default
    )
    chosen = choose(selection, known=KNOWN, default=default)
    normalized = {"dev", "docs", "test-tools"}
    assert set(chosen.groups) <= normalized
    assert list(chosen.groups) == sorted(set(chosen.groups))
    asked = {g.lower().replace("_", "-") for g in groups + only}
    assert asked <= set(chosen.groups)
    assert chosen.main is not bool(only)
