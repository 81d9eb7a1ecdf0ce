"""git requirements in the pure core: URLs taken apart, the lock's [packages.vcs] round trip,
what lockcheck refuses, what select, the planner, export and init make of a git commit."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.markers import default_environment
from packaging.pylock import Pylock
from packaging.utils import canonicalize_name
from packaging.version import Version

from envsync.core import export
from envsync.core.lockfile import LockedVcs, ResolvedPackage, dumps, parse, select
from envsync.core.lockmerge import split
from envsync.core.planner import (
    COMMIT_DIFFERS,
    Change,
    DirectUrl,
    InstalledDist,
    Policy,
    make_plan,
)
from envsync.core.spec import parse_spec
from envsync.core.vcsurl import VcsUrl, is_commit, parse_vcs, pinned_url, vcs_problem
from envsync.errors import LockError, SpecError
from envsync.install.wheelplace import extra_files
from envsync.system.git import git_env

from support.locks import single_lock, target

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

PROJECT = Path("/proj")
COMMIT = "0123456789abcdef0123456789abcdef01234567"
OTHER = "f" * 40
SPEC = parse_spec(
    '[env]\npython = "3.12"\ndependencies = ["gitpkg @ git+https://git.example/r.git@v1"]\n',
    path=PROJECT / "env.toml",
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("git+https://h/r.git", VcsUrl(vcs="git", url="https://h/r.git")),
        ("git+https://h/r.git@v1", VcsUrl(vcs="git", url="https://h/r.git", rev="v1")),
        (
            "git+ssh://git@h/r.git@main#subdirectory=a/b",
            VcsUrl(vcs="git", url="ssh://git@h/r.git", rev="main", subdirectory="a/b"),
        ),
        ("git+file:///tmp/r@" + COMMIT, VcsUrl(vcs="git", url="file:///tmp/r", rev=COMMIT)),
        ("GIT+https://h/r", VcsUrl(vcs="git", url="https://h/r")),
        ("hg+https://h/r@1", VcsUrl(vcs="hg", url="https://h/r", rev="1")),
        ("https://h/r.tar.gz", None),
        ("foo+https://h/r", None),
        ("file:///tmp/x.whl", None),
    ],
)
def test_parse_vcs(url: str, expected: VcsUrl | None) -> None:
    assert parse_vcs(url) == expected


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("git+https://h/r@v1", None),
        ("https://h/r.whl", None),
        ("hg+https://h/r", "hg+ URLs are not supported: envsync locks git repositories only"),
        ("svn+https://h/r", "svn+ URLs are not supported: envsync locks git repositories only"),
        ("bzr+https://h/r", "bzr+ URLs are not supported: envsync locks git repositories only"),
        ("git+ssh://git@h/r", None),
        ("git+file:///srv/r", None),
        ("git+GIT://h/r", None),
        (
            "git+ext::sh -c touch% /tmp/x",
            "git+ext: URLs are not supported: use git+https, git+ssh or git+file",
        ),
        ("git+fd::17", "git+fd: URLs are not supported: use git+https, git+ssh or git+file"),
    ],
)
def test_vcs_problem(url: str, problem: str | None) -> None:
    assert vcs_problem(url) == problem


def test_a_git_url_without_a_scheme_after_the_prefix_is_refused() -> None:
    assert vcs_problem("git+:r") == (
        "a git URL needs a scheme after git+ (git+https://, git+ssh://, git+file://)"
    )


def test_the_spec_refuses_other_vcs_by_name() -> None:
    with pytest.raises(SpecError, match=r"hg\+ URLs are not supported"):
        parse_spec('[env]\ndependencies = ["x @ hg+https://h/x"]\n', path=PROJECT / "env.toml")


_REV = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)
_SUB = st.from_regex(r"[a-z][a-z0-9_]{0,8}(/[a-z][a-z0-9_]{0,8}){0,2}", fullmatch=True)


@given(rev=_REV, sub=st.none() | _SUB, host=st.sampled_from(["https://h/r.git", "file:///t/r"]))
def test_pinned_url_reads_back_as_written(rev: str, sub: str | None, host: str) -> None:
    assert parse_vcs(pinned_url(host, rev, sub)) == VcsUrl(
        vcs="git", url=host, rev=rev, subdirectory=sub
    )


def test_is_commit() -> None:
    assert is_commit(COMMIT)
    assert not is_commit(COMMIT[:39])
    assert not is_commit(COMMIT.upper())


# --- the lock's [packages.vcs] ------------------------------------------------------------


def git_package(vcs: LockedVcs, version: str | None = "1.0") -> ResolvedPackage:
    return ResolvedPackage(
        name=canonicalize_name("gitpkg"),
        version=Version(version) if version else None,
        groups=frozenset(),
        vcs=vcs,
    )


_VCS = st.builds(
    LockedVcs,
    url=st.sampled_from(["https://git.example/r.git", "file:///tmp/r", "ssh://git@h/r"]),
    commit_id=st.from_regex(r"[0-9a-f]{40}", fullmatch=True),
    requested_revision=st.none() | _REV,
    subdirectory=st.none() | _SUB,
)


@given(vcs=_VCS)
def test_the_vcs_table_round_trips(vcs: LockedVcs) -> None:
    lock = single_lock(spec=SPEC, python="3.12.4", packages=[git_package(vcs)])
    text = dumps(lock)
    parsed = parse(text).lock

    assert dumps(parsed) == text
    (back,) = split(parsed, target("3.12.4"), {}).packages
    assert back.vcs == vcs
    assert back.version == Version("1.0")


def test_the_vcs_table_as_written() -> None:
    vcs = LockedVcs(url="https://git.example/r.git", commit_id=COMMIT, requested_revision="v1")
    lock = single_lock(spec=SPEC, python="3.12.4", packages=[git_package(vcs)])

    (package,) = tomllib.loads(dumps(lock))["packages"]

    assert package["version"] == "1.0"
    assert package["vcs"] == {
        "type": "git",
        "url": "https://git.example/r.git",
        "requested-revision": "v1",
        "commit-id": COMMIT,
    }


def test_credentials_never_reach_the_vcs_table() -> None:
    vcs = LockedVcs(url="https://user:secret@git.example/r.git", commit_id=COMMIT)
    text = dumps(single_lock(spec=SPEC, python="3.12.4", packages=[git_package(vcs)]))
    assert "secret" not in text
    assert 'url = "https://git.example/r.git"' in text


def _with_vcs(**fields: object) -> str:
    vcs = LockedVcs(url="https://git.example/r.git", commit_id=COMMIT)
    data = tomllib.loads(
        dumps(single_lock(spec=SPEC, python="3.12.4", packages=[git_package(vcs)]))
    )
    data["packages"][0]["vcs"].update(fields)
    import tomli_w  # noqa: PLC0415

    return tomli_w.dumps(data)


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"type": "hg"}, 'packages[0].vcs.type must be "git"'),
        ({"commit-id": "abc"}, "packages[0].vcs.commit-id must be a full commit id"),
        ({"url": "https://h/a b"}, "packages[0].vcs.url must be a URL git can open"),
        ({"subdirectory": "../up"}, "packages[0].vcs.subdirectory must be a relative folder"),
        ({"subdirectory": "/abs"}, "packages[0].vcs.subdirectory must be a relative folder"),
    ],
)
def test_lockcheck_refuses_a_vcs_entry_envsync_cannot_install(
    fields: dict[str, object], said: str
) -> None:
    with pytest.raises(LockError, match=r".") as caught:
        parse(_with_vcs(**fields))
    assert said in str(caught.value)


def test_a_vcs_entry_without_a_url_is_refused() -> None:
    text = _with_vcs().replace('url = "https://git.example/r.git"', 'path = "r"')
    with pytest.raises(LockError) as caught:
        parse(text)
    assert "packages[0].vcs.url must be the repository's URL" in str(caught.value)


# --- select, plan, direct_url.json, export ------------------------------------------------


def _env() -> dict[str, str]:
    env = {k: str(v) for k, v in default_environment().items()}
    return {**env, "python_full_version": "3.12.4", "python_version": "3.12"}


VCS = LockedVcs(url="https://git.example/r.git", commit_id=COMMIT, requested_revision="v1")
LOCK = single_lock(spec=SPEC, python="3.12.4", packages=[git_package(VCS)])


def test_select_gives_the_commit_to_install() -> None:
    (wanted,) = select(LOCK, environment=_env(), tags=["py3-none-any"], groups=(), root=PROJECT)
    assert wanted.artifact.kind == "vcs"
    assert wanted.artifact.url == f"git+https://git.example/r.git@{COMMIT}"
    assert wanted.artifact.vcs == VCS


@pytest.mark.parametrize(
    ("installed", "change", "reason"),
    [
        (DirectUrl(url="https://git.example/r.git", commit_id=COMMIT), Change.KEEP, None),
        (
            DirectUrl(url="https://git.example/r.git", commit_id=OTHER),
            Change.REINSTALL,
            COMMIT_DIFFERS,
        ),
        (
            DirectUrl(url="https://files.example/gitpkg.whl", sha256="a" * 64),
            Change.REINSTALL,
            COMMIT_DIFFERS,
        ),
        (None, Change.REINSTALL, COMMIT_DIFFERS),
    ],
)
def test_the_planner_compares_commits(
    installed: DirectUrl | None, change: Change, reason: str | None
) -> None:
    wanted = select(LOCK, environment=_env(), tags=["py3-none-any"], groups=(), root=PROJECT)
    have = InstalledDist(
        name=canonicalize_name("gitpkg"), version=Version("1.0"), direct_url=installed
    )

    (action,) = make_plan(wanted, [have], Policy()).actions

    assert (action.change, action.reason) == (change, reason)


def test_direct_url_json_names_the_commit_as_pip_writes_it() -> None:
    vcs = LockedVcs(url="https://git.example/r.git", commit_id=COMMIT, subdirectory="pkg")
    (wanted,) = select(
        single_lock(spec=SPEC, python="3.12.4", packages=[git_package(vcs)]),
        environment=_env(),
        tags=["py3-none-any"],
        groups=(),
        root=PROJECT,
    )
    data = json.loads(extra_files(wanted.artifact)["direct_url.json"])
    assert data == {
        "url": "https://git.example/r.git",
        "vcs_info": {"vcs": "git", "commit_id": COMMIT},
        "subdirectory": "pkg",
    }


def test_export_lists_the_commit_in_a_comment() -> None:
    done = export.requirements(
        LOCK, environment=_env(), tags=["py3-none-any"], groups=(), root=PROJECT
    )
    assert done.vcs == ("gitpkg",)
    assert done.packages == ()
    assert done.text.endswith(
        f"#   pip install --no-deps 'gitpkg @ git+https://git.example/r.git@{COMMIT}'\n"
    )


# --- git's environment --------------------------------------------------------------------


def test_git_runs_without_the_variables_that_could_redirect_it() -> None:
    env = git_env(
        {
            "PATH": "/bin",
            "GIT_DIR": "/elsewhere",
            "GIT_WORK_TREE": "/w",
            "GIT_CONFIG_PARAMETERS": "'url.x.insteadOf'='y'",
            "GIT_SSH_COMMAND": "ssh -i key",
        }
    )
    assert env == {
        "PATH": "/bin",
        "GIT_SSH_COMMAND": "ssh -i key",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ALLOW_PROTOCOL": "https:http:ssh:git:file",
    }


def _unchecked(**fields: object) -> Pylock:
    """A lock PEP 751 allows and envsync's own checks would refuse (as a caller may hold)."""
    return Pylock.from_dict(tomllib.loads(_with_vcs(**fields)))


def test_select_refuses_another_vcs_even_in_an_unchecked_lock() -> None:
    with pytest.raises(LockError, match="envsync installs git repositories only"):
        select(
            _unchecked(type="hg"),
            environment=_env(),
            tags=["py3-none-any"],
            groups=(),
            root=PROJECT,
        )


def test_split_keeps_no_vcs_entry_without_a_url() -> None:
    text = _with_vcs().replace('url = "https://git.example/r.git"', 'path = "r"')
    (package,) = split(Pylock.from_dict(tomllib.loads(text)), target("3.12.4"), {}).packages
    assert package.vcs is None
