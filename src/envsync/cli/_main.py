"""Parse, dispatch to a command module, and turn every error into a message and an exit code.

``main`` is the only place that catches EnvsyncError; it never lets a traceback through.
Each command lives in a ``cmd_*`` module with ``configure(parser)`` and ``run(args, ctx) ->
int``; ``COMMANDS`` names them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import textwrap
from typing import TYPE_CHECKING, NoReturn

from envsync import __version__, interrupt
from envsync.cli._options import add_common

if TYPE_CHECKING:
    from collections.abc import Sequence

    from envsync.cli._context import Context
    from envsync.errors import EnvsyncError
    from envsync.resolve.ahead import Ahead
    from envsync.venv.earlyprobe import EarlyProbe

__all__ = ["main", "report_error"]

COMMANDS: dict[str, tuple[str, str]] = {
    "init": (
        "envsync.cli.cmd_init",
        "write a starter env.toml, or one made from a requirements file or pyproject.toml",
    ),
    "lock": (
        "envsync.cli.cmd_lock",
        "resolve env.toml into pylock.toml (a fresh lock is kept as it is)",
    ),
    "plan": (
        "envsync.cli.cmd_plan",
        "show what apply would change (venv, lock, packages); changes nothing",
    ),
    "apply": (
        "envsync.cli.cmd_apply",
        "lock if needed, create the venv if needed, and make it match the lock exactly",
    ),
    "check": (
        "envsync.cli.cmd_check",
        "exit 0 if pylock.toml is fresh and the venv equals it, 2 if not, 1 on error",
    ),
    "run": (
        "envsync.cli.cmd_run",
        "run a command in the environment (synced first), as if it were activated",
    ),
    "envs": (
        "envsync.cli.cmd_envs",
        "list env.toml's environments with their venv, Python, groups and state (reads only)",
    ),
    "cache": (
        "envsync.cli.cmd_cache",
        "look after the wheel cache: dir, verify [--fix], prune [--all], clean",
    ),
    "export": (
        "envsync.cli.cmd_export",
        "write what pylock.toml installs here as a requirements file with hashes, or an SBOM",
    ),
    "why": (
        "envsync.cli.cmd_why",
        "show why pylock.toml installs a package: each path from env.toml, with its requirements",
    ),
    "tree": (
        "envsync.cli.cmd_tree",
        "show what pylock.toml installs as a tree (--depth N, --invert), from the lock alone",
    ),
    "add": (
        "envsync.cli.cmd_add",
        "add requirements to env.toml (comments and formatting kept), then lock and apply",
    ),
    "remove": (
        "envsync.cli.cmd_remove",
        "remove requirements from env.toml, then lock and apply",
    ),
    "upgrade": (
        "envsync.cli.cmd_upgrade",
        "lock again with some packages (or all) unpinned, then apply",
    ),
}
"""Each command's module and one-line help; a module is imported only when its command runs."""

PURPOSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("project (env.toml)", ("init", "add", "remove")),
    ("environment (the venvs)", ("apply", "plan", "check", "run", "envs")),
    ("lock (pylock.toml)", ("lock", "upgrade", "export")),
    ("inspection and upkeep", ("why", "tree", "cache")),
)
"""How ``envsync --help`` groups the commands: each command under one purpose, in this order."""


#: A bad command line (as in errors.EXIT_USAGE, which --help need not import).
_EXIT_USAGE = 64


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits 64: 2 already means "out of sync" for check."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(_EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="envsync",
        description="Make a virtual environment match env.toml exactly, through pylock.toml.\n\n"
        + command_list(),
        epilog=textwrap.fill(
            "exit codes: 0 ok; 1 error; 2 out of sync (check, plan --detailed-exitcode); "
            "64 bad command line; 127 run: command not found; 130 interrupted; 143 terminated",
            79,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"envsync {__version__}")
    # The commands are listed by purpose in the description; argparse's own flat list of
    # them would say it all again, so it shows only the metavar.
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="one of the commands above"
    )
    # Only the command being run is imported and given its options: `envsync --help` and
    # each command start without loading the others' machinery.
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    if chosen is None:  # --help, --version or nothing: the description lists the commands
        return parser
    for name, (module_name, text) in COMMANDS.items():
        sub = commands.add_parser(name, description=text)
        if name == chosen:
            add_common(sub)
            module = importlib.import_module(module_name)
            module.configure(sub)
            sub.set_defaults(handler=module.run)
    return parser


def command_list(width: int = 79) -> str:
    """The commands under their purposes, each with its one-line help wrapped to *width*."""
    pad = max(len(name) for name in COMMANDS) + 4
    lines: list[str] = []
    for title, names in PURPOSES:
        lines += ["", f"{title}:"] if lines else [f"{title}:"]
        for name in names:
            text = textwrap.wrap(COMMANDS[name][1], width - pad) or [""]
            lines.append(f"  {name:<{pad - 2}}{text[0]}")
            lines += [" " * pad + more for more in text[1:]]
    return "\n".join(lines)


def main(
    argv: Sequence[str] | None = None,
    *,
    ahead: Ahead | None = None,
    probe: EarlyProbe | None = None,
) -> int:
    """Run envsync with *argv* (default: sys.argv[1:]) and return the exit code.

    *ahead*: the relock's resolver run the fast path started (``usecases.headstart``);
    *probe*: the probe of envsync's own Python it started (``venv.earlyprobe``).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser(argv).parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error: argparse has spoken
        return exc.code if isinstance(exc.code, int) else _EXIT_USAGE
    # Imported once a command runs: --help and --version print without them.
    from envsync.cli._context import Context  # noqa: PLC0415
    from envsync.errors import EXIT_ERROR, EnvsyncError  # noqa: PLC0415

    ctx = Context(args=args, out=sys.stdout, err=sys.stderr, argv=argv, ahead=ahead, probe=probe)
    if args.verbose:
        import logging  # noqa: PLC0415

        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
    try:
        return int(args.handler(args, ctx))
    except EnvsyncError as exc:
        return _fail(ctx, exc.code, exc.message, exc.hint, exc.exit_code)
    except KeyboardInterrupt as exc:
        return _report_interrupt(ctx, exc)
    except Exception as exc:
        wrapped = interrupt.interruption_in(exc)
        if wrapped is not None:  # a SIGTERM Python turned into another error (an import's)
            return _report_interrupt(ctx, wrapped)
        if args.verbose:
            import logging  # noqa: PLC0415

            logging.getLogger("envsync").exception("internal error")
        message = f"internal error in envsync: {type(exc).__name__}: {exc}"
        hint = "this is a bug in envsync; rerun with --verbose for details and report it"
        return _fail(ctx, "internal", message, hint, EXIT_ERROR)


def report_error(ctx: Context, exc: EnvsyncError) -> int:
    """Report *exc* as ``main`` does, and return its exit code (one environment of several)."""
    return _fail(ctx, exc.code, exc.message, exc.hint, exc.exit_code)


def report_interrupt(argv: Sequence[str], exc: KeyboardInterrupt) -> int:
    """Report an interruption that came before the command line was parsed."""
    command = next((arg for arg in argv if not arg.startswith("-")), "envsync")
    args = argparse.Namespace(command=command, json="--json" in argv, quiet=False)
    from envsync.cli._context import Context  # noqa: PLC0415 - see main

    return _report_interrupt(Context(args=args, out=sys.stdout, err=sys.stderr, argv=argv), exc)


def _report_interrupt(ctx: Context, exc: KeyboardInterrupt) -> int:
    """Ctrl-C (130) or SIGTERM (143), said once: a later SIGTERM is only noted (_interrupt)."""
    from envsync.errors import Interrupted  # noqa: PLC0415 - see main

    interrupt.disarm()
    if not isinstance(exc, Interrupted):  # Ctrl-C, as Python raises it
        exc = Interrupted()
    return _fail(ctx, "interrupted", exc.message, None, exc.exit_code)


def _fail(ctx: Context, code: str, message: str, hint: str | None, exit_code: int) -> int:
    """Report one error: as text on stderr, and as the JSON report with --json.

    Every message and hint passes here, so this is where what they quote from files and
    users is made printable (``printable``), once for both forms.
    """
    import json  # noqa: PLC0415 - see main

    from envsync.cli._context import envelope  # noqa: PLC0415
    from envsync.cli.color import use_color  # noqa: PLC0415
    from envsync.core import render  # noqa: PLC0415
    from envsync.errors import EnvsyncError, printable  # noqa: PLC0415

    error = EnvsyncError(printable(message), hint=None if hint is None else printable(hint))
    ctx.err.write(render.render_error(error, color=use_color(ctx.err)) + "\n")
    if ctx.json:
        errors: list[dict[str, str | None]] = [
            {"code": code, "message": error.message, "hint": error.hint}
        ]
        document = envelope(ctx.args.command, "error", exit_code, None, errors)
        ctx.out.write(json.dumps(document, indent=2) + "\n")
    return exit_code
