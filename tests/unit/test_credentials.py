"""credentials: where a login is found (URL, environment, netrc, keyring), and how pip gets it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from envsync.index.credentials import (
    DEFAULT,
    Upstream,
    env_names,
    fits_netrc,
    for_url,
    login_for,
    netrc_logins,
    pip_netrc,
    refused,
    split_userinfo,
    upstream,
    with_userinfo,
)

URL = "https://pypi.internal.example/simple"
NETRC = "machine pypi.internal.example login netrc-user password netrc-pass\n"
INTERNAL = {
    "ENVSYNC_INDEX_INTERNAL_USERNAME": "env-user",
    "ENVSYNC_INDEX_INTERNAL_PASSWORD": "env-pass",
}
DEFAULT_VARS = {"ENVSYNC_INDEX_USERNAME": "dflt-user", "ENVSYNC_INDEX_PASSWORD": "dflt-pass"}


@pytest.fixture(autouse=True)
def _clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ENVSYNC_INDEX_* variables, no netrc, no keyring: each test adds what it needs."""
    for name in [n for n in os.environ if n.startswith("ENVSYNC_INDEX")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("NETRC", str(tmp_path / "absent-netrc"))
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def use_netrc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    path = tmp_path / "netrc"
    path.write_text(text, "utf-8")
    monkeypatch.setenv("NETRC", str(path))


def fake_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `keyring` first on PATH: answers `get URL alice` with k-pass; logs every call."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "keyring"
    script.write_text(
        "#!/bin/sh\n"
        'echo "$@" >> "${0%/*}/calls"\n'
        f'if [ "$*" = "get {URL} alice" ]; then echo k-pass; exit 0; fi\n'
        "exit 1\n",
        "utf-8",
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return folder / "calls"


# -- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "names"),
    [
        ("internal", ("ENVSYNC_INDEX_INTERNAL_USERNAME", "ENVSYNC_INDEX_INTERNAL_PASSWORD")),
        (
            "My-Index.v2",
            ("ENVSYNC_INDEX_MY_INDEX_V2_USERNAME", "ENVSYNC_INDEX_MY_INDEX_V2_PASSWORD"),
        ),
        ("corp_pypi", ("ENVSYNC_INDEX_CORP_PYPI_USERNAME", "ENVSYNC_INDEX_CORP_PYPI_PASSWORD")),
        (DEFAULT, ("ENVSYNC_INDEX_USERNAME", "ENVSYNC_INDEX_PASSWORD")),
    ],
)
def test_environment_variable_names(index, names):
    assert env_names(index) == names


@pytest.mark.parametrize(
    ("url", "split"),
    [
        (URL, (URL, None, None)),
        ("https://u:p@h/simple", ("https://h/simple", "u", "p")),
        ("https://token@h:8443/simple", ("https://h:8443/simple", "token", None)),
        ("https://u%40corp:p%3Aw@h/s", ("https://h/s", "u@corp", "p:w")),
        ("https://u:@h/s", ("https://h/s", "u", "")),
    ],
)
def test_split_userinfo(url, split):
    assert split_userinfo(url) == split


def test_with_userinfo_round_trips_awkward_characters():
    url = with_userinfo("https://old:x@h/s", ("u@corp", "p:w/?#"))
    assert split_userinfo(url) == ("https://h/s", "u@corp", "p:w/?#")
    assert with_userinfo(URL, None) == URL


# -- the lookup order -------------------------------------------------------------------------

CASES = {
    "url userinfo beats everything": (
        "https://url-user:url-pass@pypi.internal.example/simple",
        "internal",
        INTERNAL,
        NETRC,
        ("url-user", "url-pass"),
    ),
    "env vars of a named index": (URL, "internal", INTERNAL, NETRC, ("env-user", "env-pass")),
    "env vars of another index are not used": (
        URL,
        "other",
        INTERNAL,
        NETRC,
        ("netrc-user", "netrc-pass"),
    ),
    "the default index's env vars": (URL, DEFAULT, DEFAULT_VARS, None, ("dflt-user", "dflt-pass")),
    "no env vars for an extra index": (URL, None, DEFAULT_VARS | INTERNAL, None, None),
    "netrc by host, the port ignored": (
        "https://pypi.internal.example:8443/simple",
        None,
        {},
        NETRC,
        ("netrc-user", "netrc-pass"),
    ),
    "netrc of another host": (URL, None, {}, "machine elsewhere login a password b\n", None),
    "netrc default entry": (URL, None, {}, "default login any password thing\n", ("any", "thing")),
    "a broken netrc is ignored": (URL, None, {}, "machine\n", None),
    "nothing anywhere": (URL, "internal", {}, None, None),
    "a user name alone gets an empty password": ("https://tok@h/s", None, {}, None, ("tok", "")),
    "a password alone gets an empty user name": (
        URL,
        "internal",
        {"ENVSYNC_INDEX_INTERNAL_PASSWORD": "only"},
        None,
        ("", "only"),
    ),
    "the url's user name with the env password": (
        "https://url-user@pypi.internal.example/simple",
        "internal",
        INTERNAL,
        None,
        ("url-user", "env-pass"),
    ),
    "empty variables count as unset": (
        URL,
        "internal",
        {"ENVSYNC_INDEX_INTERNAL_USERNAME": "", "ENVSYNC_INDEX_INTERNAL_PASSWORD": ""},
        NETRC,
        ("netrc-user", "netrc-pass"),
    ),
}


@pytest.mark.parametrize(("url", "index", "env", "netrc", "expected"), CASES.values(), ids=CASES)
def test_lookup_order(tmp_path, monkeypatch, url, index, env, netrc, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if netrc is not None:
        use_netrc(tmp_path, monkeypatch, netrc)
    assert for_url(url, index) == expected


def test_keyring_not_on_path_leaves_the_password_empty():
    assert for_url(f"https://alice@{URL.removeprefix('https://')}") == ("alice", "")


def test_keyring_gives_the_password_for_a_known_user_name(tmp_path, monkeypatch):
    calls = fake_keyring(tmp_path, monkeypatch)
    monkeypatch.setenv("ENVSYNC_INDEX_INTERNAL_USERNAME", "alice")

    assert for_url(URL, "internal") == ("alice", "k-pass")
    assert calls.read_text("utf-8").split("\n")[0] == f"get {URL} alice"  # no userinfo in URL


def test_keyring_is_asked_for_the_url_without_userinfo(tmp_path, monkeypatch):
    fake_keyring(tmp_path, monkeypatch)
    assert for_url(f"https://alice@{URL.removeprefix('https://')}") == ("alice", "k-pass")


def test_a_failing_keyring_is_ignored(tmp_path, monkeypatch):
    calls = fake_keyring(tmp_path, monkeypatch)
    assert for_url(f"https://bob@{URL.removeprefix('https://')}") == ("bob", "")
    assert calls.exists()


@pytest.mark.parametrize("user", [None, "alice"])
def test_keyring_comes_last_and_needs_a_user_name(tmp_path, monkeypatch, user):
    calls = fake_keyring(tmp_path, monkeypatch)
    use_netrc(tmp_path, monkeypatch, NETRC)
    if user:
        monkeypatch.setenv("ENVSYNC_INDEX_INTERNAL_USERNAME", user)

    assert for_url(URL, "internal") == ("netrc-user", "netrc-pass")
    assert not calls.exists()


def test_no_user_name_no_keyring(tmp_path, monkeypatch):
    calls = fake_keyring(tmp_path, monkeypatch)
    assert for_url(URL, "internal") is None
    assert not calls.exists()


# -- upstreams, messages ----------------------------------------------------------------------


def test_an_upstream_keeps_its_secret_out_of_its_url_and_repr(monkeypatch):
    monkeypatch.setenv("ENVSYNC_INDEX_INTERNAL_PASSWORD", "s3cr3t")
    where = upstream("https://me:s3cr3t@pypi.internal.example/simple", "internal")
    assert where.url == URL
    assert where.login == ("me", "s3cr3t")
    assert "s3cr3t" not in repr(where)


@pytest.mark.parametrize(
    ("where", "message", "hint"),
    [
        (
            Upstream(url=URL, index="internal"),
            (
                f'the index "internal" ({URL}) refused access (HTTP 401): '
                "envsync found no credentials for it"
            ),
            (
                "set ENVSYNC_INDEX_INTERNAL_USERNAME and ENVSYNC_INDEX_INTERNAL_PASSWORD; or add "
                '"machine pypi.internal.example login USER password SECRET" to ~/.netrc (or the '
                f"file $NETRC names); or store the password with `keyring set {URL} USER` and "
                "give the user name"
            ),
        ),
        (
            Upstream(url=URL, index=DEFAULT, login=("u", "p")),
            (
                f"the default index {URL} refused access (HTTP 401): "
                "the credentials envsync found for it were refused"
            ),
            "set ENVSYNC_INDEX_USERNAME and ENVSYNC_INDEX_PASSWORD; or add",
        ),
        (
            Upstream(url=URL),
            f"the index {URL} refused access (HTTP 401): envsync found no credentials for it",
            'add "machine pypi.internal.example',
        ),
    ],
)
def test_a_refusal_names_the_index_and_how_to_log_in(where, message, hint):
    error = refused(where, 401)
    assert error.message == message
    assert error.hint is not None
    assert error.hint.startswith(hint)


def test_login_for_matches_host_and_port():
    ups = [
        Upstream(url="http://127.0.0.1:8000/simple"),
        Upstream(url="http://127.0.0.1:9000/simple", login=("a", "b")),
    ]
    assert login_for("http://127.0.0.1:9000/files/x.whl", ups) == ("a", "b")
    assert login_for("http://127.0.0.1:8000/files/x.whl", ups) is None
    assert login_for("http://other:9000/files/x.whl", ups) is None


# -- handing logins to pip --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("login", "fits"),
    [
        (("user", "pa$$w0rd!'%"), True),
        (("__token__", "pypi-AgEIcHlwaS5vcmc"), True),
        (("tok", ""), False),
        (("", "pass"), False),
        (("user", "with space"), False),
        (("user", 'with"quote'), False),
        (("user", "back\\slash"), False),
        (("user", "#starts-a-comment"), False),
        (("user", "has#inside"), True),
    ],
)
def test_what_a_netrc_file_can_carry(login, fits):
    assert fits_netrc(login) is fits


def test_pip_netrc_writes_a_private_file_and_removes_it():
    ups = [
        Upstream(url="http://127.0.0.1:8000/simple"),
        Upstream(url="http://127.0.0.1:9000/simple", login=("a", "b")),
        Upstream(url="http://127.0.0.1:9001/simple", login=("c", "d")),  # same host: neither
        Upstream(url="https://h.example/simple", login=("tok", "")),  # left to the URL
        Upstream(url="https://g.example/simple", login=("e", "f")),
        Upstream(url="https://g.example:8443/links", login=("e", "f")),  # the same login
    ]
    with pip_netrc(ups) as env:
        path = Path(env["NETRC"])
        text = path.read_text("utf-8")
        mode = stat.S_IMODE(path.stat().st_mode)
    # netrc has no port, and pip takes its entry before a login seen in a URL: a host with
    # two logins gets none, so each goes in its own URL.
    assert text == "machine g.example login e password f\n"
    assert mode == 0o600
    assert not path.parent.exists()


def test_behind_the_routing_index_the_first_login_of_a_host_goes_in_netrc():
    ups = [
        Upstream(url="http://127.0.0.1:9000/simple", login=("a", "b")),
        Upstream(url="http://127.0.0.1:9001/simple", login=("c", "d")),
    ]
    assert netrc_logins(ups) == {}
    assert netrc_logins(ups, first_wins=True) == {"127.0.0.1": ("a", "b")}


def test_pip_netrc_without_logins_sets_nothing():
    with pip_netrc([Upstream(url=URL)]) as env:
        assert env == {}
