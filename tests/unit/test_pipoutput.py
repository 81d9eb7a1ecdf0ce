"""_pipoutput: a network failure in pip's, pip-compile's or uv's words is read as one."""

from __future__ import annotations

import pytest

from envsync.core.pipoutput import (
    NameMismatch,
    classify,
    cut_off,
    name_mismatch,
    without_tracebacks,
)

CUT_OFF_PAGE = """\
Traceback (most recent call last):
  File "/x/pip/_vendor/requests/models.py", line 939, in generate
    raise ChunkedEncodingError(e)
pip._vendor.requests.exceptions.ChunkedEncodingError: ('Connection broken: IncompleteRead(548 bytes read, 549 more expected)', IncompleteRead(548 bytes read, 549 more expected))
"""  # noqa: E501 - pip's own line
TIMED_OUT = """\
  WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) after connection broken by 'ReadTimeoutError("HTTPConnectionPool(host='127.0.0.1', port=1): Read timed out. (read timeout=1.0)")': /files/a.whl.metadata
Traceback (most recent call last):
  File "/x/urllib3/connectionpool.py", line 534, in _make_request
    response = conn.getresponse()
TimeoutError: timed out

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/x/pip/_internal/network/session.py", line 549, in request
    raise_connection_error(e, url=failed_url, timeout=kwargs["timeout"])
pip._internal.exceptions.network.ConnectionTimeoutError: <ConnectionTimeoutError: connection-timeout>
"""  # noqa: E501 - pip's own line


@pytest.mark.parametrize(
    ("output", "kind"),
    [
        (
            "Max retries exceeded (Caused by ResponseError('too many 503 error responses'))",
            "unreachable",
        ),
        ("ConnectionRefusedError: [Errno 111] Connection refused", "unreachable"),
        (TIMED_OUT, "unreachable"),
        (CUT_OFF_PAGE, "unreachable"),
        ("pip._internal.exceptions.network.IncompleteDownloadError: <...>", "unreachable"),
        ("error: incomplete-download\n  Download failed after 4 attempts", "unreachable"),
        ("error: connection-timeout\n  Unable to fetch http://i/a.whl", "unreachable"),
        (
            "error: Request failed after 3 retries in 6.7s\n  cause: Failed to fetch: http://i/a/",
            "unreachable",
        ),
        ("ERROR: No matching distribution found for alpha", "no-version"),
        ("ResolutionImpossible: ...", "conflict"),
    ],
)
def test_classify(output: str, kind: str) -> None:
    assert classify(output) == kind


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (CUT_OFF_PAGE, True),
        ("pip._internal.exceptions.network.IncompleteDownloadError: <...>", False),
        (TIMED_OUT, False),
        ("ERROR: No matching distribution found for alpha", False),
    ],
)
def test_cut_off(output: str, expected: bool) -> None:
    assert cut_off(output) is expected


def test_tracebacks_are_cut_to_their_exceptions() -> None:
    kept = [line for line in without_tracebacks(TIMED_OUT).splitlines() if line.strip()]
    assert kept == [
        TIMED_OUT.splitlines()[0],  # pip's own warning stays: it names the URL
        "TimeoutError: timed out",
        TIMED_OUT.splitlines()[-1],
    ]


def test_output_without_a_traceback_is_kept() -> None:
    text = "ERROR: Could not find a version\n  indented detail\nlast line"
    assert without_tracebacks(text) == text


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (  # pip-compile's traceback, last line: the wheel's .dist-info folder
            (
                "Traceback (most recent call last):\n  File ...\n"
                "pip._internal.exceptions.wheel.UnsupportedWheel: foo has an invalid wheel, "
                ".dist-info directory 'bar-1.0.dist-info' does not start with 'foo'"
            ),
            NameMismatch(wanted="foo", found="bar-1.0.dist-info", folder=True),
        ),
        (  # uv pip compile
            (
                "  cause: The .dist-info directory `bar-1.0` does not start with the normalized "
                "package name: foo"
            ),
            NameMismatch(wanted="foo", found="bar-1.0.dist-info", folder=True),
        ),
        (  # pip's MetadataInconsistent (METADATA, PEP 658 metadata or a built sdist)
            (
                "Discarding http://i/files/foo-1.0-py3-none-any.whl: Requested foo from "
                "http://i/files/foo-1.0-py3-none-any.whl has inconsistent Name: expected 'foo', "
                "but metadata has 'bar'"
            ),
            NameMismatch(wanted="foo", found="bar", folder=False),
        ),
        (
            "error: Package metadata name `bar` does not match given name `foo`",
            NameMismatch(wanted="foo", found="bar", folder=False),
        ),
        ("ERROR: No matching distribution found for foo", None),
    ],
)
def test_a_distribution_naming_another_project_is_read_as_such(
    output: str, expected: NameMismatch | None
):
    assert name_mismatch(output) == expected
    assert (classify(output) == "name-mismatch") == (expected is not None)
