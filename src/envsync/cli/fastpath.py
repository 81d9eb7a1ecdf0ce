"""The fast paths of the command line: ``apply`` or ``lock`` answered before the full one.

``apply`` that changes nothing, that makes a missing venv from the replica of the same
inputs (``usecases.replay``), or whose env.toml only lost requirements
(``usecases.quickremove``); and ``lock`` that changes nothing.

Runs before the rest of envsync is imported. It reads only the options it understands (all
of them ones argparse accepts, which tests/e2e/test_fastpath.py checks against the full
parser), asks the no-change use case, and prints its answer. Any other option, or any doubt,
returns None and the full command line decides.
"""

from __future__ import annotations

import os
import sys

from envsync.cli.color import use_color
from envsync.core.names import NO_CHANGES, SPEC_NAME
from envsync.usecases import nochange

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (5 ms): start-up path

if TYPE_CHECKING:
    from collections.abc import Sequence

    from envsync.resolve.ahead import Ahead

__all__ = [
    "FLAGS",
    "MODES",
    "OUTPUT_ONLY",
    "VALUED",
    "chosen",
    "start_ahead",
    "try_apply",
    "try_lock",
]

#: Options without a value that the no-change path understands, per command.
FLAGS = {
    "apply": {"-q", "--quiet", "--all-groups", "--no-default-groups", "--frozen", "--locked"},
    "lock": {"-q", "--quiet"},
}
#: Options with one value that the no-change path understands, per command.
VALUED = {
    "apply": {"--spec", "--group", "--only-group", "--lock-timeout"},
    "lock": {"--spec", "--lock-timeout"},
}
#: Options that change how a run talks or waits, never what it installs: not in the key.
OUTPUT_ONLY = {"-q", "--quiet", "--lock-timeout"}
#: The modes that keep a stale lock as it is (or refuse it): never a relock, so no removal.
MODES = {"--frozen", "--locked"}


def try_apply(argv: Sequence[str]) -> int | None:
    """Answer ``apply`` at once, or None for the full path to decide.

    At once: when the state file proves nothing changed, or when the venv is missing and
    the same inputs left a replica of it (``replay``), made again from that.
    """
    options = _options(argv, "apply")
    if options is None:
        return None
    spec = options.pop("--spec", [SPEC_NAME])[-1]
    chosen = _without_output(options)
    # The venv env.toml names, as noted (no TOML parsed): there, only nothing-changed can
    # answer; missing (or not noted), a replay may make it.
    venv = nochange.noted(spec)
    there = venv is not None and os.path.lexists(venv)
    made = None if there else _replayed(spec, chosen)
    if made is None:
        if nochange.applied(spec, chosen, venv=venv):
            sys.stdout.write(NO_CHANGES + "\n")
            return 0
        return _removed(spec, chosen, quiet=bool({"-q", "--quiet"} & options.keys()))
    out, progress = made
    if not {"-q", "--quiet"} & options.keys():
        sys.stderr.write("".join(f"{line}\n" for line in progress))
    sys.stdout.write(out)
    return 0


def _replayed(spec: str, chosen: dict[str, list[str]]) -> tuple[str, list[str]] | None:
    """The venv made again from its replica (``replay``): only when it is missing."""
    from envsync.usecases import replay  # noqa: PLC0415 - a venv that is there needs none

    return replay.created(spec, chosen, color=use_color(sys.stdout))


def _removed(spec: str, chosen: dict[str, list[str]], *, quiet: bool) -> int | None:
    """Apply an env.toml that only lost requirements (``quickremove``), as the full path says it.

    Not with ``--frozen`` (which installs the lock as it is) or ``--locked`` (which refuses a
    stale lock): only the full path says those.
    """
    if MODES & chosen.keys():
        return None
    from envsync.usecases import quickremove  # noqa: PLC0415 - tried after the two above

    done = quickremove.removed(spec, chosen)
    if done is None:
        return None
    from envsync.cli import removaltext  # noqa: PLC0415 - the full path's words for it

    out, progress = removaltext.texts(done, color=use_color(sys.stdout))
    nochange.record_lock(
        spec=spec, venv=done.venv, local_files=[], summary=removaltext.fresh_summary(done)
    )
    if not quiet:
        sys.stderr.write("".join(f"{line}\n" for line in progress))
    sys.stdout.write(out)
    return 0


def try_lock(argv: Sequence[str]) -> int | None:
    """Answer ``lock`` at once when nothing it depends on changed since it last ran."""
    options = _options(argv, "lock")
    if options is None:
        return None
    summary = nochange.locked(options.get("--spec", [SPEC_NAME])[-1])
    if summary is None:
        return None
    sys.stdout.write(f"{summary}\n")
    return 0


def start_ahead(argv: Sequence[str]) -> Ahead | None:
    """The resolver run the full path's relock will ask for, started now (``headstart``).

    Only for a command line the fast paths read (``lock``, or ``apply`` that may relock).
    """
    options = _options(argv, argv[0]) if argv and argv[0] in FLAGS else None
    if options is None or MODES & options.keys():
        return None
    from envsync.usecases import headstart  # noqa: PLC0415 - when the fast paths did not answer

    return headstart.started(options.get("--spec", [SPEC_NAME])[-1])


def chosen(argv: Sequence[str]) -> dict[str, list[str]] | None:
    """The options of an ``apply`` command line that choose what it installs, for its state.

    None when the no-change path would not read this command line at all.
    """
    options = _options(argv, "apply")
    if options is None:
        return None
    options.pop("--spec", None)
    return _without_output(options)


def _without_output(options: dict[str, list[str]]) -> dict[str, list[str]]:
    return {k: v for k, v in options.items() if k not in OUTPUT_ONLY}


def _options(argv: Sequence[str], command: str) -> dict[str, list[str]] | None:
    """*command*'s options when they are all ones the no-change path understands, else None."""
    if not argv or argv[0] != command:
        return None
    found: dict[str, list[str]] = {}
    rest = list(argv[1:])
    while rest:
        arg = rest.pop(0)
        name, eq, value = arg.partition("=")
        if name in VALUED[command]:
            if not eq:
                if not rest:
                    return None
                value = rest.pop(0)
            found.setdefault(name, []).append(value)
        elif arg in FLAGS[command]:
            found.setdefault(arg, []).append("")
        else:
            return None
    # A bad --lock-timeout is a usage error, and only the full command line says so.
    if not all(_seconds(v) for v in found.get("--lock-timeout", [])):
        return None
    return found


def _seconds(value: str) -> bool:
    """Whether *value* is a number of seconds --lock-timeout accepts."""
    try:
        return float(value) >= 0
    except ValueError:
        return False
