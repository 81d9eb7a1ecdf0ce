"""make_plan: a table test per rule, and properties over random wanted/installed sets."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version

from envsync.core.lockfile import Artifact, Wanted
from envsync.core.planner import (
    SEED,
    Action,
    Change,
    DirectUrl,
    InstalledDist,
    Plan,
    Policy,
    make_plan,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from envsync._types import ArtifactKind, NormalizedName

SHA_A = "a" * 64
SHA_B = "b" * 64
INDEX_URL = "https://index.example/files/pkg-1.0-py3-none-any.whl"
DIR_URL = "file:///abs/libs/pkg"
OTHER_DIR_URL = "file:///abs/other/pkg"
ARCHIVE_URL = "https://example.com/pkg-1.0.tar.gz"


def nn(name: str) -> NormalizedName:
    return cast("NormalizedName", name)


def want(
    version: str | None = "1.0",
    *,
    name: str = "pkg",
    kind: ArtifactKind = "wheel",
    url: str = INDEX_URL,
    sha256: str | None = SHA_A,
    editable: bool = False,
) -> Wanted:
    return Wanted(
        name=nn(name),
        version=Version(version) if version else None,
        artifact=Artifact(kind=kind, url=url, sha256=sha256),
        editable=editable,
    )


def have(
    version: str = "1.0",
    *,
    name: str = "pkg",
    direct_url: DirectUrl | None = None,
) -> InstalledDist:
    return InstalledDist(name=nn(name), version=Version(version), direct_url=direct_url)


def archive_du(sha256: str | None = SHA_A, url: str = INDEX_URL) -> DirectUrl:
    return DirectUrl(url=url, sha256=sha256)


def dir_du(url: str = DIR_URL, *, editable: bool = False) -> DirectUrl:
    return DirectUrl(url=url, is_dir=True, editable=editable)


def only(plan: Plan) -> Action:
    assert len(plan.actions) == 1
    return plan.actions[0]


LAX = Policy()
REPAIR = Policy(reinstall=frozenset({nn("pkg")}))
REPAIR_OTHER = Policy(reinstall=frozenset({nn("other")}))


# --- one name on both sides -----------------------------------------------------------------

# Columns: id, wanted, installed, policy, then the expected change and reason.
# One row per case reads as a table; the formatter would explode the longer rows.
# fmt: off
BOTH_SIDES = [
    ("upgrade", want("2.0"), have("1.0"), LAX, Change.UPGRADE, None),
    ("downgrade", want("1.0"), have("2.0"), LAX, Change.DOWNGRADE, None),
    ("pep440-equal-versions", want("1.0"), have("1.0.0"), LAX, Change.KEEP, None),
    ("upgrade-wins-over-hash", want("2.0"), have("1.0", direct_url=archive_du(SHA_B)), LAX,
     Change.UPGRADE, None),
    ("same-from-index", want(), have(), LAX, Change.KEEP, None),
    ("same-matching-hash", want(), have(direct_url=archive_du()), LAX, Change.KEEP, None),
    ("hash-case-insensitive", want(sha256=SHA_A.upper()), have(direct_url=archive_du()), LAX,
     Change.KEEP, None),
    ("hash-differs", want(), have(direct_url=archive_du(SHA_B)), LAX,
     Change.REINSTALL, "hash differs"),
    ("no-installed-hash", want(), have(direct_url=archive_du(None)), LAX, Change.KEEP, None),
    ("no-wanted-hash", want(sha256=None), have(direct_url=archive_du()), LAX, Change.KEEP, None),
    ("wheel-url-ignored", want(), have(direct_url=archive_du(url="https://mirror/x.whl")), LAX,
     Change.KEEP, None),
    ("unverified", want(), have(), LAX, Change.KEEP, None),
    ("editable-wanted", want(None, kind="directory", url=DIR_URL, sha256=None, editable=True),
     have(direct_url=dir_du()), LAX, Change.REINSTALL, "editable mode differs"),
    ("editable-installed", want(None, kind="directory", url=DIR_URL, sha256=None),
     have(direct_url=dir_du(editable=True)), LAX, Change.REINSTALL, "editable mode differs"),
    ("editable-wanted-from-index", want(editable=True), have(), LAX,
     Change.REINSTALL, "editable mode differs"),
    ("editable-same", want(None, kind="directory", url=DIR_URL, sha256=None, editable=True),
     have(direct_url=dir_du(editable=True)), LAX, Change.KEEP, None),
    ("dir-same", want("1.0", kind="directory", url=DIR_URL, sha256=None),
     have(direct_url=dir_du()), LAX, Change.KEEP, None),
    ("dir-other-path", want(None, kind="directory", url=DIR_URL, sha256=None),
     have(direct_url=dir_du(OTHER_DIR_URL)), LAX, Change.REINSTALL, "source differs"),
    ("dir-over-index-install", want(None, kind="directory", url=DIR_URL, sha256=None),
     have(), LAX, Change.REINSTALL, "source differs"),
    ("dir-version-differs", want("2.0", kind="directory", url=DIR_URL, sha256=None),
     have(direct_url=dir_du()), LAX, Change.UPGRADE, None),
    ("wheel-over-dir", want(), have(direct_url=dir_du()), LAX, Change.REINSTALL, "source differs"),
    ("sdist-over-dir", want(kind="sdist"), have(direct_url=dir_du()), LAX,
     Change.REINSTALL, "source differs"),
    ("archive-over-dir", want(kind="archive", url=ARCHIVE_URL), have(direct_url=dir_du()), LAX,
     Change.REINSTALL, "source differs"),
    ("archive-same", want(kind="archive", url=ARCHIVE_URL),
     have(direct_url=archive_du(url=ARCHIVE_URL)), LAX, Change.KEEP, None),
    # Precedence: the first rule that applies names the reason.
    ("editable-before-source", want(editable=True), have(direct_url=dir_du()), LAX,
     Change.REINSTALL, "editable mode differs"),
    ("source-before-unverified", want(None, kind="directory", url=DIR_URL, sha256=None), have(),
     LAX, Change.REINSTALL, "source differs"),
    # Files that no longer match RECORD: repaired only where nothing else would happen.
    ("files-modified", want(), have(), REPAIR, Change.REINSTALL, "files modified"),
    ("files-modified-verified-source", want(), have(direct_url=archive_du()), REPAIR,
     Change.REINSTALL, "files modified"),
    ("files-modified-of-another", want(), have(), REPAIR_OTHER, Change.KEEP, None),
    ("upgrade-before-files-modified", want("2.0"), have("1.0"), REPAIR, Change.UPGRADE, None),
    ("downgrade-before-files-modified", want("1.0"), have("2.0"), REPAIR, Change.DOWNGRADE, None),
    ("hash-before-files-modified", want(), have(direct_url=archive_du(SHA_B)), REPAIR,
     Change.REINSTALL, "hash differs"),
]
# fmt: on


@pytest.mark.parametrize(
    ("wanted", "installed", "policy", "change", "reason"),
    [pytest.param(*row[1:], id=row[0]) for row in BOTH_SIDES],
)
def test_name_on_both_sides(wanted, installed, policy, change, reason):
    action = only(make_plan([wanted], [installed], policy))
    assert action == Action(
        name=nn("pkg"), change=change, have=installed, want=wanted, reason=reason
    )


# --- one name on one side -------------------------------------------------------------------


def test_wanted_not_installed_is_installed():
    wanted = want()
    assert only(make_plan([wanted], [], LAX)) == Action(
        name=nn("pkg"), change=Change.INSTALL, want=wanted
    )


def test_extra_is_removed():
    installed = have()
    assert only(make_plan([], [installed], LAX)) == Action(
        name=nn("pkg"), change=Change.REMOVE, have=installed
    )


def test_extra_in_keep_is_kept():
    installed = have(name="pip")
    plan = make_plan([], [installed], Policy(keep=frozenset({nn("pip")})))
    assert only(plan) == Action(name=nn("pip"), change=Change.KEEP, have=installed)
    assert plan.is_empty()


def test_modified_extra_is_still_removed():
    installed = have()
    assert only(make_plan([], [installed], REPAIR)) == Action(
        name=nn("pkg"), change=Change.REMOVE, have=installed
    )


def test_modified_extra_in_keep_is_still_kept():
    installed = have(name="pip")
    policy = Policy(keep=frozenset({nn("pip")}), reinstall=frozenset({nn("pip")}))
    assert only(make_plan([], [installed], policy)).change is Change.KEEP


def test_modified_name_not_installed_is_just_installed():
    wanted = want()
    assert only(make_plan([wanted], [], REPAIR)) == Action(
        name=nn("pkg"), change=Change.INSTALL, want=wanted
    )


def test_keep_does_not_shield_a_wanted_name():
    keep_pip = Policy(keep=frozenset({nn("pip")}))
    plan = make_plan([want("2.0", name="pip")], [have(name="pip")], keep_pip)
    assert only(plan).change is Change.UPGRADE


# --- duplicates -----------------------------------------------------------------------------


def test_duplicate_wanted_is_a_programming_error():
    with pytest.raises(ValueError, match="'pkg' is wanted twice"):
        make_plan([want("1.0"), want("2.0")], [], LAX)


def test_installed_twice_and_wanted_is_reinstalled():
    old, new = have("1.0"), have("2.0")
    wanted = want("2.0")
    assert only(make_plan([wanted], [new, old], LAX)) == Action(
        name=nn("pkg"), change=Change.REINSTALL, have=new, want=wanted, reason="installed twice"
    )


def test_installed_twice_and_not_wanted_is_removed():
    old, new = have("1.0"), have("2.0")
    assert only(make_plan([], [old, new], LAX)) == Action(
        name=nn("pkg"), change=Change.REMOVE, have=new, reason="installed twice"
    )


def test_installed_twice_and_modified_says_twice():
    wanted = want("2.0")
    action = only(make_plan([wanted], [have("1.0"), have("2.0")], REPAIR))
    assert (action.change, action.reason) == (Change.REINSTALL, "installed twice")


def test_installed_twice_but_kept_is_left_alone():
    plan = make_plan([], [have("1.0"), have("2.0")], Policy(keep=frozenset({nn("pkg")})))
    assert only(plan).change is Change.KEEP


# --- the Plan value -------------------------------------------------------------------------


def test_plan_sorts_and_filters():
    plan = make_plan(
        [want(name="c"), want("2.0", name="a")],
        [have(name="b"), have(name="a"), have(name="k")],
        Policy(keep=frozenset({nn("k")})),
    )
    assert [(a.name, a.change) for a in plan.actions] == [
        ("a", Change.UPGRADE),
        ("b", Change.REMOVE),
        ("c", Change.INSTALL),
        ("k", Change.KEEP),
    ]
    assert [a.name for a in plan.changes()] == ["a", "b", "c"]
    assert [a.name for a in plan.of(Change.INSTALL, Change.REMOVE)] == ["b", "c"]
    assert not plan.is_empty()


def test_empty_inputs_give_an_empty_plan():
    plan = make_plan([], [], LAX)
    assert plan.actions == ()
    assert plan.is_empty()


# --- properties -----------------------------------------------------------------------------

NAMES = ["a", "b", "c", "d", "e"]
VERSIONS = ["1.0", "1.1", "2.0"]
SHAS = [None, SHA_A, SHA_B]
URLS = [INDEX_URL, ARCHIVE_URL, DIR_URL, OTHER_DIR_URL]

names_st = st.sampled_from(NAMES).map(nn)
versions_st = st.sampled_from(VERSIONS).map(Version)


@st.composite
def wanted_st(draw: st.DrawFn) -> Wanted:
    kind = draw(st.sampled_from(["wheel", "sdist", "directory", "archive"]))
    is_dir = kind == "directory"
    return Wanted(
        name=draw(names_st),
        version=draw(st.none() | versions_st) if is_dir else draw(versions_st),
        artifact=Artifact(
            kind=kind,
            url=draw(st.sampled_from(URLS)),
            sha256=None if is_dir else draw(st.sampled_from(SHAS)),
        ),
        editable=draw(st.booleans()) if is_dir else False,
    )


direct_url_st = st.none() | st.builds(
    DirectUrl,
    url=st.sampled_from(URLS),
    sha256=st.sampled_from(SHAS),
    is_dir=st.booleans(),
    editable=st.booleans(),
)
installed_st = st.lists(
    st.builds(InstalledDist, name=names_st, version=versions_st, direct_url=direct_url_st),
    max_size=8,
)
wanted_list_st = st.lists(wanted_st(), unique_by=lambda w: w.name, max_size=5)
policy_st = st.builds(
    Policy,
    keep=st.frozensets(names_st, max_size=3),
    reinstall=st.frozensets(names_st, max_size=3),
)


def as_installed(wanted: Wanted) -> InstalledDist:
    """What a faithful installer leaves behind for a wanted package."""
    return InstalledDist(
        name=wanted.name,
        # Any version will do for a version-less directory: the planner does not compare it.
        version=wanted.version or Version("0.1"),
        direct_url=DirectUrl(
            url=wanted.artifact.url,
            sha256=wanted.artifact.sha256,
            is_dir=wanted.artifact.kind == "directory",
            editable=wanted.editable,
        ),
    )


def simulate(plan: Plan, installed: Iterable[InstalledDist]) -> list[InstalledDist]:
    """Apply a plan to a list of dists, the way reconcile drives the installer."""
    state = list(installed)
    for action in plan.changes():
        state = [dist for dist in state if dist.name != action.name]
        if action.change is not Change.REMOVE:
            assert action.want is not None
            state.append(as_installed(action.want))
    return state


@given(wanted=wanted_list_st, installed=installed_st, policy=policy_st)
def test_applying_the_plan_converges(wanted, installed, policy):
    result = simulate(make_plan(wanted, installed, policy), installed)

    wanted_names = {w.name for w in wanted}
    kept_extras = {d.name for d in installed} & policy.keep - wanted_names
    assert {d.name for d in result} == wanted_names | kept_extras
    by_name = {d.name: [x for x in result if x.name == d.name] for d in result}
    for w in wanted:
        assert len(by_name[w.name]) == 1
        assert w.version is None or by_name[w.name][0].version == w.version
    # Reinstalled files match their RECORD again, so the next verify finds nothing.
    assert make_plan(wanted, result, replace(policy, reinstall=frozenset())).is_empty()


@given(wanted=wanted_list_st, policy=policy_st)
def test_a_matching_environment_gives_an_empty_plan(wanted, policy):
    clean = replace(policy, reinstall=frozenset())
    assert make_plan(wanted, [as_installed(w) for w in wanted], clean).is_empty()


@given(wanted=wanted_list_st, policy=policy_st)
def test_a_matching_environment_reinstalls_exactly_the_modified(wanted, policy):
    plan = make_plan(wanted, [as_installed(w) for w in wanted], policy)
    assert {a.name for a in plan.changes()} == {w.name for w in wanted} & policy.reinstall
    assert {(a.change, a.reason) for a in plan.changes()} <= {(Change.REINSTALL, "files modified")}


@given(wanted=wanted_list_st, keep=st.frozensets(names_st))
def test_index_installs_match(wanted, keep):
    files = [w for w in wanted if w.artifact.kind != "directory"]
    index_installs = [InstalledDist(name=w.name, version=cast("Version", w.version)) for w in files]
    assert make_plan(files, index_installs, Policy(keep=keep)).is_empty()


@given(wanted=wanted_list_st, installed=installed_st, policy=policy_st)
def test_actions_are_sorted_and_one_per_name(wanted, installed, policy):
    names = [a.name for a in make_plan(wanted, installed, policy).actions]
    assert names == sorted({w.name for w in wanted} | {d.name for d in installed})


@given(wanted=wanted_list_st, installed=installed_st, policy=policy_st)
def test_remove_never_touches_kept_names(wanted, installed, policy):
    removed = {a.name for a in make_plan(wanted, installed, policy).of(Change.REMOVE)}
    assert not removed & policy.keep


# --- seed = true: pip belongs in the venv, from its ensurepip --------------------------------

SEEDED_POLICY = Policy(seed=True)


@pytest.mark.parametrize(
    ("wanted", "installed", "policy", "expected"),
    [
        pytest.param(
            [want(name="alpha")],
            [have(name="alpha")],
            SEEDED_POLICY,
            [("alpha", Change.KEEP), ("pip", Change.INSTALL)],
            id="no pip: seeded",
        ),
        pytest.param(
            [],
            [have("24.0", name="pip"), have("65.5", name="setuptools")],
            SEEDED_POLICY,
            [("pip", Change.KEEP), ("setuptools", Change.KEEP)],
            id="what ensurepip put there is kept",
        ),
        pytest.param(
            [],
            [have("24.0", name="pip"), have("65.5", name="setuptools")],
            Policy(keep=frozenset({nn("pip")})),
            [("pip", Change.KEEP), ("setuptools", Change.REMOVE)],
            id="seed off: keep decides",
        ),
        pytest.param(
            [],
            [have("24.0", name="pip")],
            Policy(),
            [("pip", Change.REMOVE)],
            id="seed off, keep = []: pip goes",
        ),
        pytest.param(
            [want("25.0", name="pip")],
            [],
            SEEDED_POLICY,
            [("pip", Change.INSTALL)],
            id="pip in the lock: the lock's pip, not a seed",
        ),
        pytest.param(
            [want("25.0", name="pip")],
            [have("24.0", name="pip")],
            SEEDED_POLICY,
            [("pip", Change.UPGRADE)],
            id="pip in the lock wins over the seed",
        ),
    ],
)
def test_seed_puts_pip_in_and_keeps_it(wanted, installed, policy, expected) -> None:
    plan = make_plan(wanted, installed, policy)
    assert [(a.name, a.change) for a in plan.actions] == expected
    seeded = [a for a in plan.actions if a.reason == SEED]
    assert all(a.want is None and a.name == "pip" for a in seeded)
    pip_locked = any(w.name == "pip" for w in wanted)
    assert len(seeded) == (0 if pip_locked else expected.count(("pip", Change.INSTALL)))


@given(st.sets(st.sampled_from(["pip", "setuptools", "alpha", "beta"])))
def test_a_seeded_venv_is_never_left_without_pip_nor_robbed_of_it(names: set[str]) -> None:
    installed = [have(name=n) for n in sorted(names)]
    plan = make_plan([], installed, SEEDED_POLICY)
    changes = {a.name: a.change for a in plan.actions}
    assert changes["pip"] is (Change.KEEP if "pip" in names else Change.INSTALL)
    assert all(changes[n] is Change.KEEP for n in names & {"pip", "setuptools"})
    assert [a.name for a in plan.actions] == sorted(changes)
