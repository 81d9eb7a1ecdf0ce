"""Bounded retries with backoff for envsync's HTTP requests, and the same policy for pip and uv.

An index that answers 503 once, drops a connection or stalls for a moment should cost a
second try, not a failed lock. Every request envsync makes itself (the index probe, project
pages, find-links pages, downloads, hashing) runs through ``call``, which tries again after:

* a refused, reset or dropped connection, and a timeout (connecting, or waiting for bytes);
* HTTP 429, 500, 502, 503 and 504;
* a body cut short of its Content-Length (``check_complete`` catches what ``read(n)`` hides).

Anything else is not worth another try and is raised at once: 401/403/404 and other
statuses, an unknown host, a bad URL, and a hash mismatch (the bytes arrived whole).

Waits double from ``ENVSYNC_HTTP_BACKOFF`` (capped at 4 s), each stretched by up to a
quarter at random so parallel downloads do not retry in step. After the last attempt the
caller gets one IndexUnreachableError naming the URL, what went wrong and how often it was
tried. Each retry is logged at debug level (``--verbose``), credentials redacted.

The settings are read here and nowhere else (``policy``) and handed to every pip, pip-compile
and uv run (``Policy.subprocess_env``), so the whole tool waits and retries alike:

* ``ENVSYNC_HTTP_TIMEOUT``: seconds to wait to connect, or for the next bytes (default 15);
* ``ENVSYNC_HTTP_RETRIES``: tries after the first (default 3, so 4 in all; 0: no retry);
* ``ENVSYNC_HTTP_BACKOFF``: seconds before the first retry (default 0.25).
"""

from __future__ import annotations

import http.client
import logging
import math
import os
import random
import socket
import time
import urllib.error
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

from envsync.errors import EnvsyncError, IndexUnreachableError
from envsync.system.process import redact

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "BACKOFF_VARIABLE",
    "RETRIES_VARIABLE",
    "RETRY_STATUSES",
    "TIMEOUT_VARIABLE",
    "Fault",
    "Policy",
    "again",
    "call",
    "check_complete",
    "classify",
    "policy",
]

_LOG = logging.getLogger("envsync.index.retry")
_T = TypeVar("_T")

TIMEOUT_VARIABLE = "ENVSYNC_HTTP_TIMEOUT"
RETRIES_VARIABLE = "ENVSYNC_HTTP_RETRIES"
BACKOFF_VARIABLE = "ENVSYNC_HTTP_BACKOFF"
#: Statuses that say "not now" rather than "no": overloaded, restarting, or a proxy's hiccup.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: The longest wait between two tries, before jitter.
_MAX_WAIT = 4.0
#: Each wait is stretched by up to this share of itself, at random.
_JITTER = 0.25

Kind = Literal["status", "timeout", "connection", "truncated"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Policy:
    """How long to wait for an index, and how often to try again."""

    timeout: float = 15.0
    """Seconds to wait to connect, or for the next bytes of an answer."""
    retries: int = 3
    """Tries after the first one."""
    backoff: float = 0.25
    """Seconds before the first retry; each later wait doubles, up to 4 s."""

    @property
    def attempts(self) -> int:
        """Tries in all."""
        return self.retries + 1

    def wait(self, failed: int, jitter: float = 0.0) -> float:
        """Seconds to wait after try number *failed* (1-based); *jitter* in [0, 1)."""
        base = min(_MAX_WAIT, self.backoff * 2.0 ** (failed - 1))
        return base * (1 + _JITTER * jitter)

    def subprocess_env(self) -> dict[str, str]:
        """The same policy in the words of pip (and pip-compile) and uv."""
        return {
            "PIP_TIMEOUT": f"{self.timeout:g}",
            "PIP_RETRIES": str(self.retries),
            "PIP_RESUME_RETRIES": str(self.retries),  # a download cut short (pip >= 25.1)
            "UV_HTTP_TIMEOUT": str(max(1, math.ceil(self.timeout))),  # uv takes whole seconds
            "UV_HTTP_RETRIES": str(self.retries),
        }


def policy() -> Policy:
    """The policy the environment variables set (the defaults where they are unset)."""
    default = Policy()
    return Policy(
        timeout=_number(TIMEOUT_VARIABLE, default.timeout, minimum=0.001),
        retries=int(_number(RETRIES_VARIABLE, default.retries, minimum=0, whole=True)),
        backoff=_number(BACKOFF_VARIABLE, default.backoff, minimum=0.0),
    )


def _number(name: str, default: float, *, minimum: float, whole: bool = False) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value < minimum:
        what = "a whole number" if whole else "a number of seconds"
        raise EnvsyncError(
            f"{name} must be {what} of at least {minimum:g}, found {text!r}",
            hint=f"fix or unset {name}; unset, it is {default:g}",
        )
    return value


# -- what is worth another try ----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class Fault:
    """A failure worth another try, said for a user."""

    kind: Kind
    """What sort of failure: decides the hint."""
    text: str
    """What happened, such as ``the server answered HTTP 503 Service Unavailable``."""


# The first match counts: more specific classes first.
_SOCKET_FAULTS: tuple[tuple[type[BaseException], Kind, str], ...] = (
    (TimeoutError, "timeout", "the server did not answer in time"),  # socket.timeout too
    (ConnectionRefusedError, "connection", "the connection was refused"),
    (
        http.client.RemoteDisconnected,
        "connection",
        "the server closed the connection without answering",
    ),
    (ConnectionError, "connection", "the connection was reset or broken"),
)


def classify(exc: BaseException) -> Fault | None:
    """The transient fault *exc* reports; None when trying again would not help."""
    if isinstance(exc, urllib.error.HTTPError):
        text = f"the server answered HTTP {exc.code} {exc.reason}"
        return Fault(kind="status", text=text) if exc.code in RETRY_STATUSES else None
    if isinstance(exc, urllib.error.URLError):  # urllib wraps errors raised while connecting
        return classify(exc.reason) if isinstance(exc.reason, BaseException) else None
    if isinstance(exc, http.client.IncompleteRead):
        missing = exc.expected if exc.expected is not None else "some"
        text = f"the connection closed before the whole answer arrived ({missing} bytes missing)"
        return Fault(kind="truncated", text=text)
    if isinstance(exc, socket.gaierror):  # only "try again later" is worth a retry
        text = "the host name could not be looked up just now"
        return Fault(kind="connection", text=text) if exc.errno == socket.EAI_AGAIN else None
    return next((Fault(kind=k, text=t) for c, k, t in _SOCKET_FAULTS if isinstance(exc, c)), None)


def check_complete(content_length: str | None, received: int) -> None:
    """Raise IncompleteRead if fewer than *content_length* bytes were *received*.

    ``HTTPResponse.read(n)`` returns ``b""`` at a connection closed early, as if the body had
    ended: a download read in chunks must count, or a cut-off wheel looks like a bad hash.
    """
    if content_length is None or not content_length.strip().isdigit():
        return
    missing = int(content_length) - received
    if missing > 0:
        raise http.client.IncompleteRead(b"", missing)


# -- trying -----------------------------------------------------------------------------------


def call(
    attempt: Callable[[float], _T],
    *,
    url: str,
    doing: str,
    settings: Policy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> _T:
    """``attempt(timeout)`` until it returns, fails for good, or the tries run out.

    *doing* and *url* start the message of the error raised after the last try: ``cannot
    download`` + the URL. Errors that are not worth another try propagate unchanged, for the
    caller to turn into its own message (a 404 may mean "no such project", a 401 a login).
    """
    settings = settings or policy()
    try:
        return again(
            lambda: attempt(settings.timeout),
            transient=_fault_text,
            what=url,
            settings=settings,
            sleep=sleep,
        )
    except (OSError, http.client.HTTPException) as exc:  # URLError is an OSError
        _close(exc)  # an error answer's connection: the error outlives this call
        fault = classify(exc)
        if fault is None:
            raise
        raise _gave_up(url, doing, fault, settings) from exc


def again(
    operation: Callable[[], _T],
    *,
    transient: Callable[[Exception], str | None],
    what: str,
    settings: Policy,
    sleep: Callable[[float], None] = time.sleep,
) -> _T:
    """``operation()``, once more after each error *transient* explains, as *settings* allow.

    The last error, and any error *transient* returns None for, is raised as it is. Each
    retry is logged (at debug level) with *what* was tried and why it is tried again.
    """
    for number in range(1, settings.attempts + 1):
        try:
            return operation()
        except Exception as exc:  # noqa: PERF203 - a network round trip per try
            why = transient(exc)
            if why is None or number == settings.attempts:
                raise
            wait = settings.wait(number, random.random())  # noqa: S311 - jitter, not a secret
            _LOG.debug(
                "%s: %s (try %d of %d); trying again in %.2f s",
                redact(what),
                why,
                number,
                settings.attempts,
                wait,
            )
            sleep(wait)
    raise AssertionError("unreachable: the last try returns or raises")  # pragma: no cover


def _fault_text(exc: Exception) -> str | None:
    fault = classify(exc)
    if fault is not None:
        _close(exc)  # tried again: this answer is done with
    return fault.text if fault is not None else None


def _close(exc: BaseException) -> None:
    """Close the answer an HTTPError holds: its connection stays open until then.

    Unclosed, it warns wherever it is collected. urllib makes some HTTPErrors without one.
    """
    if isinstance(exc, urllib.error.HTTPError) and exc.fp is not None:
        exc.close()


def _gave_up(url: str, doing: str, fault: Fault, settings: Policy) -> IndexUnreachableError:
    tries = "once" if settings.attempts == 1 else f"{settings.attempts} times"
    return IndexUnreachableError(
        redact(f"{doing} {url}: {fault.text} (tried {tries})"),
        hint=_hint(fault.kind, settings),
    )


def _hint(kind: Kind, settings: Policy) -> str:
    if kind == "timeout":
        return (
            f"the index did not answer within {settings.timeout:g} s; if it is only slow, "
            f"raise {TIMEOUT_VARIABLE} (seconds) or {RETRIES_VARIABLE}"
        )
    if kind == "status":
        return (
            "the index is failing or overloaded: try again later, and check that [index] url "
            "in env.toml points at a working index"
        )
    return (
        "check that the index is up, that [index] url in env.toml is right, and your network "
        f"(or proxy); {RETRIES_VARIABLE} sets how often envsync tries"
    )
