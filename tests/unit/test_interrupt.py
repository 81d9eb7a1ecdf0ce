"""_interrupt: SIGTERM raises once inside the guard, is noted after, and is found when wrapped.

The guard is entered in-process (``until_exit=False``), so pytest's own handler is put back.
"""

from __future__ import annotations

import os
import signal
import sys

import pytest

from envsync.interrupt import TERMINATED, Interrupted, TermGuard, interruption_in, rearm


def _term() -> None:
    """SIGTERM to this process; Python runs the handler before the next line."""
    os.kill(os.getpid(), signal.SIGTERM)


def test_the_first_sigterm_raises_and_a_second_is_only_noted():
    with TermGuard(until_exit=False) as guard:
        with pytest.raises(Interrupted) as info:
            _term()
        _term()  # cleaning up after the first: must not be cut short
        assert guard.raised
        assert guard.unanswered
    assert info.value.what == TERMINATED
    assert info.value.exit_code == 143


def test_rearmed_after_a_handled_sigterm_the_next_raises_again():
    with TermGuard(until_exit=False) as guard:
        with pytest.raises(Interrupted):
            _term()
        rearm()  # as envsync run does once it passed the signal on
        assert not guard.raised
        with pytest.raises(Interrupted):
            _term()


def test_after_close_a_sigterm_is_noted_not_raised():
    with TermGuard(until_exit=False) as guard:
        guard.close()
        _term()
        assert guard.unanswered
        assert not guard.raised


def test_the_previous_handler_is_back_after_an_in_process_run():
    before = signal.getsignal(signal.SIGTERM)
    with TermGuard(until_exit=False):
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before


class _TermsWhenCollected:
    """Sends SIGTERM from ``__del__``: the handler's raise lands where Python cannot pass it on."""

    def __del__(self) -> None:
        _term()


def test_a_sigterm_swallowed_where_python_cannot_raise_is_silent_and_rearms(
    monkeypatch: pytest.MonkeyPatch,
):
    reported: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    with TermGuard(until_exit=False) as guard:
        _TermsWhenCollected()  # collected at once: the Interrupted is swallowed in __del__
        assert reported == []  # no "Exception ignored ... Traceback" for the user
        assert guard.raised  # the run still ends as 143
        with pytest.raises(Interrupted):  # and nothing is cleaning up: the next one raises
            _term()
    assert sys.unraisablehook == reported.append


def test_other_errors_python_cannot_raise_still_reach_the_previous_hook(
    monkeypatch: pytest.MonkeyPatch,
):
    class Fails:
        def __del__(self) -> None:
            raise ValueError("boom")

    reported: list[sys.UnraisableHookArgs] = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    with TermGuard(until_exit=False) as guard:
        Fails()
    assert [type(args.exc_value) for args in reported] == [ValueError]
    assert not guard.raised


def test_a_sigterm_python_wraps_in_another_error_is_still_found():
    class Named:
        def __set_name__(self, owner: type, name: str) -> None:
            _term()

    with TermGuard(until_exit=False) as guard, pytest.raises(BaseException) as info:  # noqa: PT011 - 3.11 wraps it in RuntimeError, 3.12 passes it on
        type("Owner", (), {"field": Named()})
    if sys.version_info < (3, 12):
        assert isinstance(info.value, RuntimeError)
    found = interruption_in(info.value)
    assert found is not None
    assert found.what == TERMINATED
    assert guard.raised


def test_an_error_without_an_interruption_in_its_chain_is_not_one():
    error = RuntimeError("second")
    error.__cause__ = ValueError("first")
    error.__context__ = error.__cause__
    assert interruption_in(error) is None
    error.__cause__.__context__ = error  # a loop ends too
    assert interruption_in(error) is None
