"""The command line: parse, call a use case, render, and turn errors into exit codes.

``main`` is the only place that catches EnvsyncError; it never lets a traceback through.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from envsync import __version__, projectfiles, reconcile, render
from envsync.errors import EXIT_ERROR, EXIT_OK, EnvsyncError
from envsync.report import Event, Locked, Planned, Resolving, Step

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]

_EXIT_INTERRUPTED = 130


class _TextReporter:
    """Progress lines on stderr; the plan on stdout."""

    def __init__(self, *, quiet: bool, color: bool, out: TextIO, err: TextIO) -> None:
        self.quiet = quiet
        self.color = color
        self.out = out
        self.err = err

    def emit(self, event: Event) -> None:
        """Show *event*."""
        if isinstance(event, Planned):
            self.out.write(render.render_plan(event.plan, color=self.color) + "\n")
            self.out.flush()
            return
        if self.quiet:
            return
        self.err.write(_progress_line(event) + "\n")
        self.err.flush()


def _progress_line(event: Event) -> str:
    if isinstance(event, Resolving):
        return f"Resolving {event.requirements} requirement(s) for Python {event.python}..."
    if isinstance(event, Locked):
        return f"Locked {event.packages} package(s) in pylock.toml"
    if isinstance(event, Step):
        return event.what[:1].upper() + event.what[1:] + "..."
    return str(event)  # pragma: no cover - every event type is handled above


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--spec",
        type=Path,
        default=Path("env.toml"),
        metavar="PATH",
        help="the env.toml to use (default: ./env.toml)",
    )
    common.add_argument("-q", "--quiet", action="store_true", help="print only results and errors")
    common.add_argument("-v", "--verbose", action="store_true", help="log subprocess commands")

    parser = argparse.ArgumentParser(
        prog="envsync",
        description="Make a virtual environment match env.toml exactly, through pylock.toml.",
    )
    parser.add_argument("--version", action="version", version=f"envsync {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    lock = commands.add_parser("lock", parents=[common], help="resolve env.toml into pylock.toml")
    lock.add_argument("--upgrade", action="store_true", help="ignore every existing pin")
    lock.add_argument(
        "--upgrade-package",
        action="append",
        default=[],
        metavar="NAME",
        help="ignore the existing pin of NAME (repeatable)",
    )
    for name, text in (
        ("plan", "show what apply would change; changes nothing"),
        ("apply", "lock if needed, create the venv if needed, make it match the lock"),
    ):
        sub = commands.add_parser(name, parents=[common], help=text)
        sub.add_argument(
            "--group",
            action="append",
            default=[],
            metavar="NAME",
            help="also install the dependency group NAME (repeatable)",
        )
        modes = sub.add_mutually_exclusive_group()
        modes.add_argument(
            "--frozen",
            action="store_const",
            const="frozen",
            dest="mode",
            help="install pylock.toml as it is; never resolve (fails if there is none)",
        )
        modes.add_argument(
            "--locked",
            action="store_const",
            const="locked",
            dest="mode",
            help="fail, changing nothing, if pylock.toml is out of date",
        )
        sub.set_defaults(mode="auto")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run envsync with *argv* (default: sys.argv[1:]) and return the exit code."""
    args = _parser().parse_args(argv)
    color = _use_color(sys.stdout)
    reporter = _TextReporter(quiet=args.quiet, color=color, out=sys.stdout, err=sys.stderr)
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
    try:
        return _dispatch(args, reporter)
    except EnvsyncError as exc:
        sys.stderr.write(render.render_error(exc, color=_use_color(sys.stderr)) + "\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return _EXIT_INTERRUPTED
    except Exception as exc:
        if args.verbose:
            logging.getLogger("envsync").exception("internal error")
        sys.stderr.write(
            f"error: internal error in envsync: {type(exc).__name__}: {exc}\n"
            "hint: this is a bug in envsync; rerun with --verbose for details and report it\n"
        )
        return EXIT_ERROR


def _dispatch(args: argparse.Namespace, reporter: _TextReporter) -> int:
    spec = projectfiles.load_spec(args.spec)
    services = reconcile.Services(reporter=reporter)
    if args.command == "lock":
        outcome = reconcile.lock(
            spec,
            upgrade=args.upgrade,
            upgrade_packages=args.upgrade_package,
            services=services,
        )
        reporter.out.write(_lock_summary(outcome) + "\n")
        return EXIT_OK
    if args.command == "plan":
        result = reconcile.plan(spec, groups=args.group, mode=args.mode, services=services)
        reporter.out.write(_plan_text(result, color=reporter.color) + "\n")
        return EXIT_OK
    result = reconcile.apply(spec, groups=args.group, mode=args.mode, services=services)
    if not result.plan.is_empty():  # an empty plan already said "No changes."
        reporter.out.write(_apply_summary(result) + "\n")
    return EXIT_OK


def _lock_summary(outcome: reconcile.LockOutcome) -> str:
    verb = {"unchanged": "is up to date", "created": "written", "updated": "updated"}
    return (
        f"{outcome.path.name} {verb[outcome.change]}: "
        f"{outcome.packages} package(s) for Python {outcome.python}"
    )


def _plan_text(result: reconcile.Outcome, *, color: bool) -> str:
    lines = []
    if result.venv_change == "create":
        lines.append(f"+ venv {result.venv} (Python {result.python})")
    elif result.venv_change == "recreate":
        lines.append(
            f"~ venv {result.venv} recreated with Python {result.python}: {result.venv_reason}"
        )
    if result.lock.change != "unchanged":
        lines.append(f"~ {result.lock.path.name} will be {result.lock.change} by apply")
    if lines:
        lines.append("")
    lines.append(render.render_plan(result.plan, color=color))
    return "\n".join(lines)


def _apply_summary(result: reconcile.Outcome) -> str:
    counts = render.plan_counts(result.plan)
    done = ", ".join(f"{n} {_past[k]}" for k, n in counts.items() if n)
    return f"Applied to {result.venv}: {done}."


_past = {
    "install": "installed",
    "upgrade": "upgraded",
    "downgrade": "downgraded",
    "reinstall": "reinstalled",
    "remove": "removed",
}


def _use_color(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
