"""Index credentials: found in the URL, the environment, netrc or keyring. READS ENV + FILES.

Credentials are never written to pylock.toml, logs or messages, nor put on a command line,
where any user of the machine can read them (``ps``, /proc/PID/cmdline). envsync sends them
itself (an ``Authorization`` header, see simpleapi) and hands them to pip, pip-compile and uv
for the length of one run: through a private netrc file named by ``NETRC`` where netrc can
carry the login, else in the URL given in an environment variable (``PIP_INDEX_URL``,
``UV_INDEX_URL``...), which only the same user and root can read (/proc/PID/environ).
"""

from __future__ import annotations

import contextlib
import logging
import netrc
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from envsync.errors import EnvsyncError, IndexAuthError
from envsync.system import removal
from envsync.system.process import run

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = [
    "DEFAULT",
    "ChildOptions",
    "Login",
    "SecretLocationError",
    "Upstream",
    "as_given",
    "child_options",
    "env_names",
    "fits_netrc",
    "for_url",
    "login_for",
    "netrc_logins",
    "pip_netrc",
    "refused",
    "split_userinfo",
    "upstream",
    "with_userinfo",
]

_LOG = logging.getLogger("envsync.index.credentials")

#: A user name and a password (or token), as HTTP basic auth sends them.
Login = tuple[str, str]

#: The ``index`` name of ``[index] url``: its variables are ENVSYNC_INDEX_USERNAME/_PASSWORD.
DEFAULT = ""

_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
# What stdlib netrc reads back unchanged on every supported Python (3.10 has no quoting).
_NETRC_SAFE = re.compile(r"[!$-\[\]-~][!#-\[\]-~]*")


# -- lookup -----------------------------------------------------------------------------------


def env_names(index: str) -> tuple[str, str]:
    """The user-name and password variables of the index called *index* (DEFAULT: [index])."""
    stem = "ENVSYNC_INDEX" + (f"_{_NOT_ALNUM.sub('_', index).upper()}" if index else "")
    return f"{stem}_USERNAME", f"{stem}_PASSWORD"


def split_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """*url* without ``user:password@``, and the (percent-decoded) user and password in it."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url, None, None
    user, colon, password = userinfo.partition(":")
    plain = urlunsplit(parts._replace(netloc=host))
    return plain, unquote(user), unquote(password) if colon else None


def with_userinfo(url: str, login: Login | None) -> str:
    """*url* with *login* as its (percent-encoded) ``user:password@``."""
    if login is None:
        return url
    user, password = (quote(part, safe="") for part in login)
    parts = urlsplit(split_userinfo(url)[0])
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{parts.netloc}"))


def for_url(url: str, index: str | None = None) -> Login | None:
    """The credentials for the index at *url*, or None when there are none.

    Looked for in order: ``user:password@`` in *url*; the variables of ``env_names(index)``
    (only when *index* is given: an [indexes] name, or DEFAULT for [index] url); the netrc
    file (``$NETRC`` or ``~/.netrc``) entry of the URL's host; and, when a user name is known
    by then, ``keyring get URL USER``. A user name alone is sent with an empty password, and a
    password alone with an empty user name, as pip does.
    """
    plain, user, password = split_userinfo(url)
    if index is not None:
        user_var, password_var = env_names(index)
        user = user if user is not None else (os.environ.get(user_var) or None)
        password = password if password is not None else (os.environ.get(password_var) or None)
    if password is not None:
        return user or "", password
    found = _from_netrc(plain) or (_from_keyring(plain, user) if user is not None else None)
    if found is not None:
        return found
    return None if user is None else (user, "")


def _from_netrc(url: str) -> Login | None:
    """The netrc entry for *url*'s host (matched without the port, as pip does)."""
    path = Path(os.environ.get("NETRC") or Path("~/.netrc").expanduser())
    host = urlsplit(url).hostname
    if host is None or not path.is_file():
        return None
    try:
        entry = netrc.netrc(os.fspath(path)).authenticators(host)
    except netrc.NetrcParseError as exc:  # its message may quote a password: not shown
        _LOG.debug("ignoring the netrc file %s: it cannot be read (line %s)", path, exc.lineno)
        return None
    except OSError as exc:
        _LOG.debug("ignoring the netrc file %s: %s", path, exc.strerror)
        return None
    if entry is None:
        return None
    login, account, password = entry
    return login or account or "", password or ""


def _from_keyring(url: str, user: str) -> Login | None:
    """``keyring get URL USER``, as pip's keyring provider asks it; None on any failure."""
    keyring = shutil.which("keyring")
    if keyring is None:
        return None
    try:
        proc = run([keyring, "get", url, user], error=lambda _: EnvsyncError("keyring failed"))
    except EnvsyncError:
        return None
    password = proc.stdout.rstrip("\r\n")
    return (user, password) if password else None


# -- the indexes a run talks to ---------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class Upstream:
    """An index envsync or pip fetches from, with the credentials found for it."""

    url: str
    """Its simple-API URL, without any ``user:password@``: safe to log and to show."""
    index: str | None = None
    """Its [indexes] name, DEFAULT for [index] url, None for an extra or pip's default index."""
    login: Login | None = field(default=None, repr=False)
    """The credentials found for it, if any (kept out of repr)."""

    def describe(self) -> str:
        """Name the index for a message."""
        if self.index:
            return f'the index "{self.index}" ({self.url})'
        return f"the {'default ' if self.index == DEFAULT else ''}index {self.url}"


def upstream(url: str, index: str | None = None) -> Upstream:
    """*url* as an Upstream, its credentials looked up with ``for_url``."""
    return Upstream(url=split_userinfo(url)[0], index=index, login=for_url(url, index))


def login_for(url: str, upstreams: Iterable[Upstream]) -> Login | None:
    """The login of the first upstream on the same host and port as *url* (for its files)."""
    netloc = urlsplit(split_userinfo(url)[0]).netloc
    return next((u.login for u in upstreams if u.login and urlsplit(u.url).netloc == netloc), None)


def refused(where: Upstream, status: int) -> IndexAuthError:
    """The error for an index that answered 401 or 403: which one, and how to log in."""
    why = (
        "the credentials envsync found for it were refused"
        if where.login
        else "envsync found no credentials for it"
    )
    msg = f"{where.describe()} refused access (HTTP {status}): {why}"
    return IndexAuthError(msg, hint=_how_to_log_in(where))


def _how_to_log_in(where: Upstream) -> str:
    host = urlsplit(where.url).hostname or "HOST"
    ways = [] if where.index is None else ["set {} and {}".format(*env_names(where.index))]
    ways += [
        f'add "machine {host} login USER password SECRET" to ~/.netrc (or the file $NETRC names)',
        f"store the password with `keyring set {where.url} USER` and give the user name",
    ]
    return "; or ".join(ways)


# -- handing credentials to pip ---------------------------------------------------------------


def fits_netrc(login: Login) -> bool:
    """Whether a netrc file can carry *login* so that every supported Python reads it back.

    Python 3.10's netrc has no quoting and needs a password: empty parts, spaces, quotes and
    backslashes do not survive.
    """
    return all(_NETRC_SAFE.fullmatch(part) for part in login)


def netrc_logins(upstreams: Iterable[Upstream], *, first_wins: bool = False) -> dict[str, Login]:
    """Host -> login: what ``pip_netrc`` writes.

    netrc has one login per host, whatever the port, and pip and uv take it before any
    login they saw in a URL for that host and port: a host with two different logins (two
    indexes on one machine, say) gets none there, so that each goes in its own URL. With
    *first_wins* it gets the first one instead: behind the routing index pip sees no
    upstream URL, and netrc is the only way a login reaches its file downloads.
    """
    found: dict[str, list[Login]] = {}
    for where in upstreams:
        host = urlsplit(where.url).hostname
        if where.login is not None and host is not None:
            found.setdefault(host, []).append(where.login)
    entries: dict[str, Login] = {}
    for host, logins in found.items():
        login = logins[0] if len(set(logins)) == 1 or first_wins else None
        if login is not None and fits_netrc(login):
            entries[host] = login
        else:
            _LOG.debug("no netrc entry for %s: its login goes in the URL", host)
    return entries


@contextlib.contextmanager
def pip_netrc(
    upstreams: Iterable[Upstream], *, first_wins: bool = False
) -> Iterator[dict[str, str]]:
    """Environment variables that give a pip run the *upstreams*' credentials.

    ``NETRC`` names a file in a private temporary folder (mode 0600), deleted on exit; pip's
    requests reads it for every page and file on those hosts. Without credentials: ``{}``.
    """
    entries = netrc_logins(upstreams, first_wins=first_wins)
    if not entries:
        yield {}
        return
    text = "".join(f"machine {h} login {u} password {p}\n" for h, (u, p) in entries.items())
    with removal.temporary_folder("envsync-netrc-") as folder:
        path = Path(folder) / "netrc"
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        yield {"NETRC": os.fspath(path)}


# -- index and find-links options for pip, pip-compile and uv --------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class ChildOptions:
    """Index or find-links locations as one child process gets them."""

    args: tuple[str, ...] = ()
    """Command-line options: only for locations that hold no secret."""
    env: dict[str, str] = field(default_factory=dict)
    """Variables for locations of which one holds a secret: pip's and uv's names both."""


#: Each option's variables (pip's, uv's) and the separators they split on. pip merges its
#: variable with the command line for the list options, but uv reads a variable only when
#: the option is absent, so all of an option's locations go one way or the other.
_VARIABLES = {
    "--index-url": ("PIP_INDEX_URL", "UV_INDEX_URL", " "),
    "--extra-index-url": ("PIP_EXTRA_INDEX_URL", "UV_EXTRA_INDEX_URL", " "),
    "--find-links": ("PIP_FIND_LINKS", "UV_FIND_LINKS", ","),
}


class SecretLocationError(EnvsyncError):
    """A location that must share an environment variable with a secret cannot be split."""


def as_given(where: Upstream, in_netrc: dict[str, Login]) -> tuple[str, bool]:
    """The URL a child gets for *where*, and whether it holds a secret (so never in argv).

    A login the netrc file carries is left out of the URL; any other (a token without a
    password, a second login for one host, a character netrc cannot hold) goes in it.
    """
    host = urlsplit(where.url).hostname or ""
    if where.login is None or in_netrc.get(host) == where.login:
        return where.url, False
    return with_userinfo(where.url, where.login), True


def child_options(option: str, locations: list[tuple[str, bool]]) -> ChildOptions:
    """*locations* (URL or folder, whether it holds a secret) for *option*, as a child gets them.

    None secret: ``--option=value`` arguments. Any secret: all in the environment.
    """
    values = [value for value, _ in locations]
    if not any(secret for _, secret in locations):
        return ChildOptions(args=tuple(f"{option}={value}" for value in values))
    pip_name, uv_name, uv_separator = _VARIABLES[option]
    for value in values:
        if any(char.isspace() for char in value) or uv_separator in value:
            raise SecretLocationError(
                f"{_plain(value)} cannot be passed to pip and uv in {pip_name} / {uv_name} "
                "beside a location whose credentials must not go on their command line",
                hint="rename the folder without spaces or commas, or serve it as a URL",
            )
    return ChildOptions(env={pip_name: " ".join(values), uv_name: uv_separator.join(values)})


def _plain(value: str) -> str:
    return split_userinfo(value)[0] if "://" in value else value
