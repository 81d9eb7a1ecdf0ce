"""The command line. ``main(argv)`` is the entry point (console script ``envsync``).

The no-change path of ``apply`` is tried first, before the rest of envsync is imported, so
an up-to-date venv answers in about the time Python takes to start. SIGTERM is handled
before either: from the first line of ``main`` to the exit it ends the run as exit 143.
"""

from __future__ import annotations

import gc
import sys

from envsync import interrupt

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (5 ms): start-up path

if TYPE_CHECKING:
    from collections.abc import Sequence

    from envsync.resolve.ahead import Ahead
    from envsync.venv.earlyprobe import EarlyProbe

__all__ = ["main"]

_INTERRUPTED = {interrupt.EXIT_TERMINATED, interrupt.EXIT_INTERRUPTED}


def main(argv: Sequence[str] | None = None) -> int:
    """Run envsync with *argv* (default: sys.argv[1:]) and return the exit code.

    Without *argv* this is the program itself (console script, ``python -m envsync``): the
    SIGTERM handler then stays until the process exits. With *argv* (a caller in-process)
    the caller's handler is put back on return.
    """
    with interrupt.TermGuard(until_exit=argv is None) as guard:
        args = list(sys.argv[1:] if argv is None else argv)
        code = _guarded(args)
        guard.close()
        # A SIGTERM after the result was decided, or one that something swallowed (an
        # exception raised where Python cannot pass it on): the run still ends as 143.
        if (guard.unanswered or guard.raised) and code not in _INTERRUPTED:
            code = _interrupted(args, interrupt.Interrupted(interrupt.TERMINATED))
    if argv is None:
        # The process ends next. Python's last collections would walk every object the run
        # made (~20 ms after a relock) only to free what the exit frees anyway; frozen, they
        # are left to it. Files are closed where they are used, and stdio is still flushed.
        gc.freeze()
    return code


def _guarded(args: list[str]) -> int:
    """``_run``, and an interruption that came before the full path's own ``except``."""
    try:
        return _run(args)
    except KeyboardInterrupt as exc:
        interrupt.disarm()
        return _interrupted(args, exc)
    except Exception as exc:
        wrapped = interrupt.interruption_in(exc)  # say, raised while a module was imported
        if wrapped is None:
            raise
        interrupt.disarm()
        return _interrupted(args, wrapped)


def _run(args: list[str]) -> int:
    """The answer before anything is imported, else the full command line.

    Before: ``--version``, ``--help`` (argparse's text, kept), and the fast paths of apply
    and lock when they can answer.
    """
    if args == ["--version"]:  # what argparse's version action prints, without argparse
        from envsync import __version__  # noqa: PLC0415

        sys.stdout.write(f"envsync {__version__}\n")
        return 0
    if args in (["--help"], ["-h"]):
        from envsync.cli import helptext  # noqa: PLC0415

        if helptext.columns() >= helptext.MIN_COLUMNS:  # else argparse wraps it its own way
            sys.stdout.write(helptext.HELP)
            return 0
    if args[:1] not in (["apply"], ["lock"]):
        return _full(args, None)
    answered = _fast(args)
    if answered is not None:
        return answered
    # A relock's resolver and a new venv's probe, started now, run while the full path loads.
    ahead = _ahead(args)
    probe = _probe(args)
    try:
        return _full(args, ahead, probe)
    finally:
        for started in (ahead, probe):
            if started is not None:
                started.close()


def _full(args: list[str], ahead: Ahead | None, probe: EarlyProbe | None = None) -> int:
    from envsync.cli._main import main as full  # noqa: PLC0415 - the heavy path, on demand

    return full(args, ahead=ahead, probe=probe)


def _fast(args: list[str]) -> int | None:
    """The fast paths' answer to an apply or a lock; None for the full path to decide."""
    from envsync.cli import fastpath  # noqa: PLC0415 - imports only the standard library

    try:
        answered = fastpath.try_apply(args)
        return answered if answered is not None else fastpath.try_lock(args)
    except RecursionError:  # an env.toml nested thousands deep: the full path reports it
        return None


def _ahead(args: list[str]) -> Ahead | None:
    """The relock's resolver, started before the full path loads, when a recipe says how."""
    from envsync.cli import fastpath  # noqa: PLC0415 - imports only the standard library

    try:
        return fastpath.start_ahead(args)
    except RecursionError:
        return None


def _probe(args: list[str]) -> EarlyProbe | None:
    """For ``apply``, the probe of the Python a new venv would be made from, when none is kept."""
    if args[:1] != ["apply"]:
        return None
    from envsync.usecases import headstart  # noqa: PLC0415 - once the fast paths did not answer

    return headstart.probe_started()


def _interrupted(args: list[str], exc: KeyboardInterrupt) -> int:
    """Report Ctrl-C or SIGTERM that came where the full path's own ``except`` was not yet.

    That is the no-change path, the imports of the full path, or parsing the command line.
    """
    from envsync.cli._main import report_interrupt  # noqa: PLC0415 - only when interrupted

    return report_interrupt(args, exc)
