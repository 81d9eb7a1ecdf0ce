"""retry: which failures are tried again, how long between tries, how many, and the settings."""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import urllib.error
from email.message import Message

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envsync.errors import EnvsyncError, IndexUnreachableError
from envsync.index.retry import Policy, again, call, check_complete, classify, policy

URL = "http://127.0.0.1:9/simple/alpha/"


def http_error(code: int, reason: str = "Whatever") -> urllib.error.HTTPError:
    return urllib.error.HTTPError(URL, code, reason, Message(), io.BytesIO())


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (http_error(429, "Too Many Requests"), "status"),
        (http_error(500, "Internal Server Error"), "status"),
        (http_error(502, "Bad Gateway"), "status"),
        (http_error(503, "Service Unavailable"), "status"),
        (http_error(504, "Gateway Timeout"), "status"),
        (http_error(400), None),
        (http_error(401), None),
        (http_error(403), None),
        (http_error(404), None),
        (http_error(501), None),
        (urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")), "connection"),
        (urllib.error.URLError(TimeoutError("timed out")), "timeout"),
        (urllib.error.URLError(socket.gaierror(socket.EAI_AGAIN, "Try again")), "connection"),
        (urllib.error.URLError(socket.gaierror(socket.EAI_NONAME, "Name unknown")), None),
        (urllib.error.URLError("unknown url type: ftp"), None),
        (urllib.error.URLError(ssl.SSLCertVerificationError("bad certificate")), None),
        (TimeoutError("timed out"), "timeout"),
        (ConnectionResetError(104, "Connection reset by peer"), "connection"),
        (ConnectionAbortedError(103, "Software caused connection abort"), "connection"),
        (BrokenPipeError(32, "Broken pipe"), "connection"),
        (http.client.RemoteDisconnected("Remote end closed connection"), "connection"),
        (http.client.IncompleteRead(b"abc", 10), "truncated"),
        (http.client.BadStatusLine("HTTP/9 what"), None),
        (FileNotFoundError(2, "No such file"), None),
        (ValueError("not a network error"), None),
    ],
    ids=repr,
)
def test_classify(exc: BaseException, kind: str | None) -> None:
    fault = classify(exc)
    assert (fault.kind if fault else None) == kind


@pytest.mark.parametrize(
    ("exc", "text"),
    [
        (
            http_error(503, "Service Unavailable"),
            "the server answered HTTP 503 Service Unavailable",
        ),
        (
            http.client.IncompleteRead(b"", 1234),
            "before the whole answer arrived (1234 bytes missing)",
        ),
        (http.client.RemoteDisconnected("x"), "the server closed the connection without answering"),
        (ConnectionRefusedError(111, "Connection refused"), "the connection was refused"),
    ],
)
def test_faults_are_said_for_users(exc: BaseException, text: str) -> None:
    fault = classify(exc)
    assert fault is not None
    assert text in fault.text


@pytest.mark.parametrize(
    ("backoff", "failed", "jitter", "wait"),
    [
        (0.25, 1, 0.0, 0.25),
        (0.25, 2, 0.0, 0.5),
        (0.25, 3, 0.0, 1.0),
        (0.25, 4, 0.0, 2.0),
        (0.25, 5, 0.0, 4.0),
        (0.25, 9, 0.0, 4.0),  # capped
        (0.25, 1, 0.5, 0.28125),  # jitter stretches by up to a quarter
        (0.25, 9, 1.0, 5.0),
        (1.0, 2, 0.0, 2.0),
        (0.0, 3, 0.9, 0.0),  # no backoff: no waits at all
    ],
)
def test_waits_double_up_to_a_cap(backoff: float, failed: int, jitter: float, wait: float) -> None:
    assert Policy(backoff=backoff).wait(failed, jitter) == pytest.approx(wait)


@given(
    backoff=st.floats(0, 10),
    failed=st.integers(1, 50),
    jitter=st.floats(0, 1, exclude_max=True),
)
def test_waits_never_shrink_and_stay_bounded(backoff: float, failed: int, jitter: float) -> None:
    settings = Policy(backoff=backoff)
    assert settings.wait(failed) <= settings.wait(failed + 1)
    assert settings.wait(failed, jitter) <= 4.0 * 1.25


class Script:
    """An attempt that raises the given errors in turn, then returns "done"."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.timeouts: list[float] = []

    def __call__(self, timeout: float) -> str:
        self.timeouts.append(timeout)
        if self.errors:
            raise self.errors.pop(0)
        return "done"


@pytest.mark.parametrize(
    ("errors", "retries", "tries", "sleeps"),
    [
        ((), 3, 1, 0),
        ((TimeoutError(),), 3, 2, 1),
        ((http_error(503), ConnectionResetError()), 3, 3, 2),
        ((http_error(500),) * 3, 3, 4, 3),
        ((http.client.IncompleteRead(b"", 5),), 1, 2, 1),
    ],
)
def test_transient_failures_are_tried_again(
    errors: tuple[BaseException, ...], retries: int, tries: int, sleeps: int
) -> None:
    attempt = Script(*errors)
    waited: list[float] = []
    settings = Policy(timeout=2.5, retries=retries, backoff=0.1)

    done = call(attempt, url=URL, doing="cannot x", settings=settings, sleep=waited.append)

    assert done == "done"

    assert attempt.timeouts == [2.5] * tries
    assert len(waited) == sleeps
    assert waited == sorted(waited)


@pytest.mark.parametrize(
    ("retries", "said"),
    [(3, "(tried 4 times)"), (1, "(tried 2 times)"), (0, "(tried once)")],
)
def test_after_the_last_try_one_error_says_what_and_how_often(retries: int, said: str) -> None:
    attempt = Script(*[http_error(503, "Service Unavailable")] * 10)
    waited: list[float] = []
    settings = Policy(retries=retries, backoff=0.1)

    with pytest.raises(IndexUnreachableError) as raised:
        call(attempt, url=URL, doing="cannot reach", settings=settings, sleep=waited.append)

    assert len(attempt.timeouts) == retries + 1
    assert len(waited) == retries
    assert raised.value.message == (
        f"cannot reach {URL}: the server answered HTTP 503 Service Unavailable {said}"
    )
    assert raised.value.hint
    assert "try again later" in raised.value.hint


@pytest.mark.parametrize(
    "error",
    [http_error(404), http_error(401), urllib.error.URLError("unknown url type"), ValueError()],
)
def test_other_failures_are_raised_at_once(error: Exception) -> None:
    attempt = Script(error)
    waited: list[float] = []
    with pytest.raises(type(error)):
        call(attempt, url=URL, doing="cannot x", settings=Policy(), sleep=waited.append)
    assert (len(attempt.timeouts), waited) == (1, [])


def test_credentials_never_reach_the_message() -> None:
    with_login = "http://someone:s3cret@127.0.0.1:9/simple/"
    with pytest.raises(IndexUnreachableError) as raised:
        call(Script(TimeoutError()), url=with_login, doing="x", settings=Policy(retries=0))
    assert "s3cret" not in raised.value.message
    assert "http://***@127.0.0.1:9/simple/" in raised.value.message
    assert "ENVSYNC_HTTP_TIMEOUT" in (raised.value.hint or "")


def test_again_takes_any_notion_of_transient() -> None:
    runs: list[int] = []

    def flaky() -> int:
        runs.append(1)
        if len(runs) < 3:
            raise KeyError(len(runs))
        return len(runs)

    def transient(exc: Exception) -> str | None:
        return "a key went missing" if isinstance(exc, KeyError) else None

    assert again(flaky, transient=transient, what="x", settings=Policy(), sleep=lambda _: None) == 3


@pytest.mark.parametrize(
    ("content_length", "received", "missing"),
    [
        (None, 0, None),
        ("10", 10, None),
        ("10", 12, None),  # more than announced is http.client's business, not a cut-off
        ("0", 0, None),
        ("not a number", 3, None),
        ("10", 4, 6),
        (" 10 ", 0, 10),
    ],
)
def test_a_body_short_of_its_content_length_is_cut_off(
    content_length: str | None, received: int, missing: int | None
) -> None:
    if missing is None:
        check_complete(content_length, received)
        return
    with pytest.raises(http.client.IncompleteRead) as raised:
        check_complete(content_length, received)
    assert raised.value.expected == missing


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, Policy(timeout=15.0, retries=3, backoff=0.25)),
        ({"ENVSYNC_HTTP_TIMEOUT": "1"}, Policy(timeout=1.0)),
        ({"ENVSYNC_HTTP_TIMEOUT": " 2.5 "}, Policy(timeout=2.5)),
        ({"ENVSYNC_HTTP_RETRIES": "0"}, Policy(retries=0)),
        ({"ENVSYNC_HTTP_RETRIES": "10"}, Policy(retries=10)),
        ({"ENVSYNC_HTTP_BACKOFF": "0"}, Policy(backoff=0.0)),
        ({"ENVSYNC_HTTP_TIMEOUT": ""}, Policy()),
    ],
)
def test_policy_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: Policy
) -> None:
    for name in ("ENVSYNC_HTTP_TIMEOUT", "ENVSYNC_HTTP_RETRIES", "ENVSYNC_HTTP_BACKOFF"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert policy() == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ENVSYNC_HTTP_TIMEOUT", "soon"),
        ("ENVSYNC_HTTP_TIMEOUT", "0"),
        ("ENVSYNC_HTTP_TIMEOUT", "-1"),
        ("ENVSYNC_HTTP_TIMEOUT", "nan"),
        ("ENVSYNC_HTTP_TIMEOUT", "inf"),
        ("ENVSYNC_HTTP_RETRIES", "1.5"),
        ("ENVSYNC_HTTP_RETRIES", "-1"),
        ("ENVSYNC_HTTP_BACKOFF", "-0.1"),
    ],
)
def test_a_bad_setting_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(EnvsyncError, match=f"{name} must be .* found '{value}'"):
        policy()


def test_pip_and_uv_are_given_the_same_policy() -> None:
    assert Policy(timeout=1.5, retries=2).subprocess_env() == {
        "PIP_TIMEOUT": "1.5",
        "PIP_RETRIES": "2",
        "PIP_RESUME_RETRIES": "2",
        "UV_HTTP_TIMEOUT": "2",
        "UV_HTTP_RETRIES": "2",
    }
