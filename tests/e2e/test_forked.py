"""Helpers forked from this process (``system.forked``): real forks, their lines, their end.

What the unpacking relies on: each line sent comes back as the work made it; a helper whose
work fails ends, and says so; each helper ends when its input is closed, even with later
helpers forked after it (they must not hold its pipe open); nothing a helper prints reaches
the terminal, and a signal ends it without running this process's handlers; no helper
outlives ``finish``. The suite's index serves from a thread of this process, so the tests
fork as ``start`` would only with none running (the work they fork with takes no lock).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

import pytest

from envsync.system import forked

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks only on Linux"),
]


def _collect(count: int) -> tuple[list[list[str]], object]:
    """What each of *count* helpers writes back, and the ``on_line`` that records it."""
    seen: list[list[str]] = [[] for _ in range(count)]
    lock = threading.Lock()

    def on_line(index: int) -> object:
        def record(line: str) -> None:
            with lock:
                seen[index].append(line)

        return record

    return seen, on_line


def _ended(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_each_line_comes_back_as_the_work_made_it_and_no_helper_outlives_finish() -> None:
    seen, on_line = _collect(2)
    helpers = forked.start(2, lambda line: f"{os.getpid()}:{line.upper()}", on_line)  # type: ignore[arg-type]
    pids = [helper.pid for helper in helpers]
    assert os.getpid() not in pids
    for number in range(5):
        assert helpers[number % 2].send(f"wheel-{number}")

    # The later one first: an earlier one's end is the next test's (it would hang here).
    assert [helper.finish() for helper in reversed(helpers)] == [None, None]
    assert seen == [
        [f"{pids[0]}:WHEEL-0", f"{pids[0]}:WHEEL-2", f"{pids[0]}:WHEEL-4"],
        [f"{pids[1]}:WHEEL-1", f"{pids[1]}:WHEEL-3"],
    ]
    assert all(map(_ended, pids))
    assert not any(helper.running for helper in helpers)


def test_a_helper_whose_work_fails_ends_and_says_so() -> None:
    def work(line: str) -> str:
        if line == "bad":
            raise ValueError(line)
        return line

    seen, on_line = _collect(1)
    (helper,) = forked.start(1, work, on_line)  # type: ignore[arg-type]
    assert helper.send("good")
    assert helper.send("bad")
    deadline = time.monotonic() + 10
    while helper.running and time.monotonic() < deadline:
        time.sleep(0.01)

    assert not helper.running
    assert not helper.send("after")  # gone: the caller does this work itself
    assert helper.finish() == f"helper {helper.pid} ended with 3"
    assert seen == [["good"]]


def test_an_earlier_helper_ends_when_its_input_closes_with_later_ones_forked_after() -> None:
    # Each later helper inherits this process's ends of the earlier ones' pipes unless it
    # closes them: the earlier helper's input would then never end, and finish never return.
    _, on_line = _collect(3)
    helpers = forked.start(3, lambda line: line, on_line)  # type: ignore[arg-type]
    first = threading.Thread(target=helpers[0].finish, daemon=True)
    first.start()
    first.join(timeout=10)

    assert not first.is_alive()
    assert _ended(helpers[0].pid)
    assert helpers[1].running
    assert helpers[2].running
    assert [helper.finish() for helper in reversed(helpers[1:])] == [None, None]


def test_what_a_helper_prints_goes_nowhere(capfd: pytest.CaptureFixture[str]) -> None:
    def noisy(line: str) -> str:
        print(f"stdout {line}")  # what a stray print in the work would do
        sys.stderr.write(f"stderr {line}\n")
        sys.stderr.flush()
        return line

    capfd.readouterr()
    seen, on_line = _collect(1)
    (helper,) = forked.start(1, noisy, on_line)  # type: ignore[arg-type]
    helper.send("x")
    assert helper.finish() is None

    assert seen == [["x"]]
    assert capfd.readouterr() == ("", "")


def test_a_signal_ends_a_helper_without_this_process_s_handler(tmp_path: Path) -> None:
    ran = tmp_path / "handler-ran"

    def handler(number: int, _: object) -> None:
        ran.write_text(f"{os.getpid()} {number}")

    before = signal.signal(signal.SIGTERM, handler)
    try:
        _, on_line = _collect(1)
        (helper,) = forked.start(1, lambda line: line, on_line)  # type: ignore[arg-type]
        os.kill(helper.pid, signal.SIGTERM)
        assert helper.finish() == f"helper {helper.pid} ended with -{int(signal.SIGTERM)}"
    finally:
        signal.signal(signal.SIGTERM, before)
    assert not ran.exists()  # the helper died by the default action, ran nothing of ours


def test_helpers_are_forked_only_with_no_other_thread_running() -> None:
    alone = subprocess.run(
        [sys.executable, "-c", "from envsync.system import forked; print(forked.may_fork())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert alone.stdout == "True\n"  # Linux, one thread: as envsync's own process is
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert not forked.may_fork()
    finally:
        release.set()
        other.join()
