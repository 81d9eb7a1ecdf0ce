"""Named indexes, per-package pins and index credentials, through real pip-compile and pip.

Two local indexes: "public" (the wheelhouse, plus a malicious ``private-pkg 99.0``) and
"internal" (the real ``private-pkg 1.0``, and a ``beta 9.0`` it must never serve to anyone).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import tomli_w

from envsync.errors import EnvsyncError
from envsync.index.credentials import Upstream
from envsync.index.pipaccess import pip_access
from envsync.index.routes import Routes

from helpers import envsync, lock_packages, lock_versions, venv_packages
from support.pkgindex import PackageIndex
from support.wheels import build_wheel

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.e2e

USER = "envsync-user"
SECRET = "s3cr3t-token"  # noqa: S105 - the test looks for it in every output
PIN: dict[str, object] = {"private-pkg": {"index": "internal"}}


@pytest.fixture(autouse=True)
def _no_personal_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the machine's ~/.netrc and ENVSYNC_INDEX_* variables out of these tests."""
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    for name in [n for n in os.environ if n.startswith("ENVSYNC_INDEX")]:
        monkeypatch.delenv(name)


def serve(root: Path, auth: tuple[str, str] | None = None) -> PackageIndex:
    return PackageIndex(root, auth=auth).start()


@pytest.fixture
def public(tmp_path: Path, wheelhouse: Path) -> Iterator[PackageIndex]:
    """The default index: the whole wheelhouse, and an attacker's private-pkg 99.0."""
    root = tmp_path / "public"
    shutil.copytree(wheelhouse, root)
    build_wheel(root, "private-pkg", "99.0")
    index = serve(root)
    yield index
    index.stop()


def internal_files(root: Path) -> Path:
    """The real private-pkg 1.0 (needing beta), and a beta no unpinned name may come from."""
    build_wheel(root, "private-pkg", "1.0", requires=["beta>=1.0"])
    build_wheel(root, "beta", "9.0")
    return root


@pytest.fixture
def internal(tmp_path: Path) -> Iterator[PackageIndex]:
    """The named index, open to all."""
    index = serve(internal_files(tmp_path / "internal"))
    yield index
    index.stop()


@pytest.fixture
def locked_internal(tmp_path: Path) -> Iterator[PackageIndex]:
    """The named index behind basic auth."""
    index = serve(internal_files(tmp_path / "internal"), auth=(USER, SECRET))
    yield index
    index.stop()


def write_spec(
    root: Path,
    *,
    index: dict[str, object],
    internal: str | None = None,
    sources: dict[str, object] | None = None,
    dependencies: tuple[str, ...] = ("private-pkg", "alpha"),
) -> Path:
    data: dict[str, object] = {"env": {"dependencies": list(dependencies)}, "index": index}
    if internal is not None:
        data["indexes"] = {"internal": {"url": internal}}
    if sources:
        data["sources"] = sources
    path = root / "env.toml"
    path.write_text(tomli_w.dumps(data), "utf-8")
    return path


def asked_for(index: PackageIndex, project: str) -> list[str]:
    """The requests *index* got for *project*'s page or files."""
    stems = (f"/simple/{project}", f"/files/{project.replace('-', '_')}-")
    return [path for path in index.requests if path.startswith(stems)]


def apply_ok(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> str:
    result = envsync(capsys, "apply", "--spec", str(root / "env.toml"), *args)
    assert result.code == 0, result.err
    return result.out


# -- pinning ----------------------------------------------------------------------------------


def test_a_pinned_package_comes_from_its_index_only(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    public: PackageIndex,
    internal: PackageIndex,
) -> None:
    write_spec(tmp_path, index={"url": public.url}, internal=internal.url, sources=PIN)

    apply_ok(capsys, tmp_path)

    packages = lock_packages(tmp_path)
    assert packages["private-pkg"]["version"] == "1.0"
    assert packages["private-pkg"]["index"] == internal.url
    wheels = packages["private-pkg"]["wheels"]
    assert isinstance(wheels, list)
    assert [w["url"] for w in wheels] == [
        f"{internal.base_url}/files/private_pkg-1.0-py3-none-any.whl"
    ]
    assert venv_packages(tmp_path) == {"private-pkg": "1.0", "alpha": "2.0", "beta": "2.0"}
    assert asked_for(public, "private-pkg") == []  # never even asked: no confusion possible


def test_an_unpinned_dependency_of_a_pinned_package_comes_from_the_default_index(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    public: PackageIndex,
    internal: PackageIndex,
) -> None:
    write_spec(
        tmp_path,
        index={"url": public.url},
        internal=internal.url,
        sources=PIN,
        dependencies=("private-pkg",),
    )

    apply_ok(capsys, tmp_path)

    beta = lock_packages(tmp_path)["beta"]
    assert (beta["version"], beta["index"]) == ("2.0", public.url)  # not internal's beta 9.0
    assert asked_for(internal, "beta") == []  # a named index serves only what is pinned to it
    assert venv_packages(tmp_path) == {"private-pkg": "1.0", "beta": "2.0"}


def test_without_a_pin_the_higher_public_version_wins(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    public: PackageIndex,
    internal: PackageIndex,
) -> None:
    # The attack the pin prevents: both indexes searched, the higher version taken.
    write_spec(tmp_path, index={"url": public.url, "extra-urls": [internal.url]})

    result = envsync(capsys, "lock", "--spec", str(tmp_path / "env.toml"))

    assert result.code == 0, result.err
    assert lock_versions(tmp_path)["private-pkg"] == "99.0"
    assert asked_for(public, "private-pkg")


# -- credentials ------------------------------------------------------------------------------


def spec_for_locked_internal(root: Path, public: PackageIndex, internal: PackageIndex) -> None:
    write_spec(root, index={"url": public.url}, internal=internal.url, sources=PIN)


def every_output(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, root: Path
) -> str:
    """Run each command (with --verbose, and --json where it exists); all they said."""
    spec = ("--spec", str(root / "env.toml"), "--verbose")
    commands = [
        ("lock",),
        ("plan",),
        ("plan", "--json"),
        ("apply",),
        ("apply", "--json"),
        ("check",),
        ("check", "--json"),
        ("export",),
        ("run", *spec, "--", "python", "-c", "pass"),
    ]
    said = []
    with caplog.at_level(logging.DEBUG, logger="envsync"):
        for command in commands:
            args = command if command[0] == "run" else (*command, *spec)
            result = envsync(capsys, *args)
            assert result.code == 0, (command, result.err)
            said += [result.out, result.err]
    assert "running: " in caplog.text  # --verbose logged the command lines (redacted)
    return "\n".join([*said, caplog.text, (root / "pylock.toml").read_text("utf-8")])


def give_credentials(how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Give envsync the internal index's login in environment variables, or a netrc file."""
    if how == "environment-variables":
        monkeypatch.setenv("ENVSYNC_INDEX_INTERNAL_USERNAME", USER)
        monkeypatch.setenv("ENVSYNC_INDEX_INTERNAL_PASSWORD", SECRET)
        return
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1\n  login {USER}\n  password {SECRET}\n", "utf-8")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))


@pytest.mark.parametrize("how", ["environment-variables", "netrc-file"])
def test_credentials_from_environment_variables_or_a_netrc_file(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    public: PackageIndex,
    locked_internal: PackageIndex,
    how: str,
) -> None:
    give_credentials(how, tmp_path, monkeypatch)
    spec_for_locked_internal(tmp_path, public, locked_internal)

    said = every_output(capsys, caplog, tmp_path)

    assert venv_packages(tmp_path) == {"private-pkg": "1.0", "alpha": "2.0", "beta": "2.0"}
    assert SECRET not in said


@pytest.mark.parametrize(
    ("password", "why"),
    [(None, "found no credentials"), ("wrong", "credentials envsync found for it were refused")],
)
def test_missing_or_wrong_credentials_name_the_index_and_how_to_log_in(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    public: PackageIndex,
    locked_internal: PackageIndex,
    password: str | None,
    why: str,
) -> None:
    if password is not None:
        monkeypatch.setenv("ENVSYNC_INDEX_INTERNAL_USERNAME", USER)
        monkeypatch.setenv("ENVSYNC_INDEX_INTERNAL_PASSWORD", password)
    spec_for_locked_internal(tmp_path, public, locked_internal)

    result = envsync(capsys, "apply", "--spec", str(tmp_path / "env.toml"))

    assert result.code == 1
    assert f'the index "internal" ({locked_internal.url}) refused access (HTTP 401)' in result.err
    assert why in result.err
    hint = "set ENVSYNC_INDEX_INTERNAL_USERNAME and ENVSYNC_INDEX_INTERNAL_PASSWORD"
    assert hint in result.err
    assert "machine 127.0.0.1 login USER password SECRET" in result.err
    assert "netrc" in result.err
    assert "Traceback" not in result.err
    assert not (tmp_path / "pylock.toml").exists()
    assert not (tmp_path / ".venv").exists()


@pytest.mark.parametrize("pinned", [False, True], ids=["direct", "through-the-proxy"])
def test_a_secret_in_the_index_url_never_reaches_any_output(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    wheelhouse: Path,
    internal: PackageIndex,
    pinned: bool,
) -> None:
    served = tmp_path / "served"
    shutil.copytree(wheelhouse, served)
    with PackageIndex(served, auth=("user", SECRET)) as index:
        write_spec(
            tmp_path,
            index={"url": index.url_with_auth},
            internal=internal.url,
            sources=PIN if pinned else None,
            dependencies=("private-pkg", "alpha") if pinned else ("alpha",),
        )
        said = every_output(capsys, caplog, tmp_path)

    expected = {"alpha": "2.0", "beta": "2.0"} | ({"private-pkg": "1.0"} if pinned else {})
    assert venv_packages(tmp_path) == expected
    assert SECRET in (tmp_path / "env.toml").read_text("utf-8")  # it was there to leak
    assert SECRET not in said


# -- pip's access to the indexes (the routing proxy itself: test_proxy.py) -------------------


def test_without_pins_no_secret_goes_on_pips_command_line() -> None:
    routes = Routes(
        default=(
            Upstream(url="https://a.example/simple", login=("user", "pass")),
            Upstream(url="https://b.example/simple", login=("token", "")),  # no netrc for that
            Upstream(url="https://a.example:8443/simple", login=("other", "x")),  # a.example taken
        ),
        others=(Upstream(url="https://c.example/links", login=("me", "pw")),),
    )
    with pip_access(routes, ["/links", "https://me:pw@c.example/links"]) as access:
        netrc = Path(access.env["NETRC"]).read_text("utf-8")
    # a.example has two logins (netrc has no port): both go in the URLs pip gets in its
    # variables. c.example's one login goes in netrc, so that find-links stays on the line.
    assert access.args == ("--find-links=/links", "--find-links=https://c.example/links")
    extra = "https://token:@b.example/simple https://other:x@a.example:8443/simple"
    assert {k: v for k, v in access.env.items() if "INDEX" in k} == {
        "PIP_INDEX_URL": "https://user:pass@a.example/simple",
        "UV_INDEX_URL": "https://user:pass@a.example/simple",
        "PIP_EXTRA_INDEX_URL": extra,
        "UV_EXTRA_INDEX_URL": extra,
    }
    assert netrc == "machine c.example login me password pw\n"
    assert access.proxy is None
    assert access.file_url("https://a.example:8443/f.whl") == "https://other:x@a.example:8443/f.whl"
    assert access.file_url("https://c.example/f.whl") == "https://c.example/f.whl"  # netrc's


def test_a_token_for_the_first_index_goes_in_its_variable_and_folders_stay_on_the_line() -> None:
    routes = Routes(default=(Upstream(url="https://a.example/simple", login=("TOKEN", "")),))
    with pip_access(routes, ["/links", "https://TOK2@c.example/links"]) as access:
        assert "NETRC" not in access.env
    assert access.args == ()
    assert access.env["PIP_INDEX_URL"] == access.env["UV_INDEX_URL"]
    assert access.env["PIP_INDEX_URL"] == "https://TOKEN:@a.example/simple"
    assert access.env["PIP_FIND_LINKS"] == "/links https://TOK2:@c.example/links"
    assert access.env["UV_FIND_LINKS"] == "/links,https://TOK2:@c.example/links"


def test_a_folder_that_cannot_share_a_variable_with_a_secret_is_one_clear_error() -> None:
    routes = Routes(default=(Upstream(url="https://a.example/simple"),))
    with (
        pytest.raises(EnvsyncError, match=r"/my links cannot be passed to pip and uv") as info,
        pip_access(routes, ["/my links", "https://TOK@c.example/links"]),
    ):
        pass
    assert "TOK" not in str(info.value)
