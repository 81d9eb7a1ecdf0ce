"""What every command handler gets: parsed options, output streams, and how to write."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from envsync.cli import text
from envsync.cli.color import use_color
from envsync.core import render
from envsync.errors import printable
from envsync.report import PinReleased, Planned, Progress

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from envsync.report import Event
    from envsync.resolve.ahead import Ahead
    from envsync.venv.earlyprobe import EarlyProbe

__all__ = ["Context", "TextReporter", "use_color"]

#: Version of the JSON report envelope (schemas/report.schema.json).
REPORT_VERSION = 1


@dataclass(kw_only=True)
class Context:
    """The run's options and streams."""

    args: argparse.Namespace
    """Parsed command line."""
    out: TextIO
    """Results: the plan, summaries, the JSON report."""
    err: TextIO
    """Progress and errors."""
    argv: Sequence[str] = ()
    """The command line as given (the no-change path keys its state on it)."""
    ahead: Ahead | None = None
    """The relock's resolver run the fast path started, for apply and lock to take over."""
    probe: EarlyProbe | None = None
    """The probe of envsync's own Python the fast path started, for apply to take over."""
    released: list[PinReleased] = field(default_factory=list)
    """The kept pins this run's relock let go of: shown as they go, and in the JSON report."""

    @property
    def json(self) -> bool:
        """``--json``: one JSON document on stdout, nothing else there."""
        return bool(getattr(self.args, "json", False))

    @property
    def quiet(self) -> bool:
        """``--quiet`` (implied by ``--json``): no progress lines."""
        return bool(self.args.quiet) or self.json

    @property
    def color(self) -> bool:
        """Whether stdout gets colour."""
        return not self.json and use_color(self.out)

    def reporter(self) -> TextReporter:
        """The reporter for this run's progress events."""
        return TextReporter(self)

    def write(self, text: str) -> None:
        """Write a line of results to stdout (never in JSON mode)."""
        if not self.json:
            self.out.write(text + "\n")
            self.out.flush()

    def warn(self, text: str) -> None:
        """Write ``warning: <text>`` to stderr, made printable as errors are (it quotes files)."""
        self.err.write(f"warning: {printable(text)}\n")

    def report(self, status: str, exit_code: int, data: dict[str, Any] | None) -> int:
        """In JSON mode, print the envelope; return *exit_code* either way."""
        if self.json:
            document = envelope(self.args.command, status, exit_code, data, [])
            self.out.write(json.dumps(document, indent=2) + "\n")
        return exit_code


def envelope(
    command: str,
    status: str,
    exit_code: int,
    data: dict[str, Any] | None,
    errors: list[dict[str, str | None]],
) -> dict[str, Any]:
    """The versioned JSON report every ``--json`` run prints."""
    return {
        "version": REPORT_VERSION,
        "command": command,
        "status": status,
        "exit_code": exit_code,
        "data": data,
        "errors": errors,
    }


class TextReporter:
    """Progress lines on stderr; the plan (before apply acts on it) on stdout."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def emit(self, event: Event) -> None:
        """Show *event*."""
        if isinstance(event, PinReleased):
            self.ctx.released.append(event)
        if isinstance(event, Planned):
            self.ctx.write(render.render_plan(event.plan, color=self.ctx.color))
            return
        if self.ctx.quiet:
            return
        if isinstance(event, Progress):
            self._bar(event)
            return
        self.ctx.err.write(printable(text.progress_line(event)) + "\n")
        self.ctx.err.flush()

    def _bar(self, event: Progress) -> None:
        """A bar redrawn in place on a terminal; nothing in a log (the step line says it)."""
        if not _is_tty(self.ctx.err):
            return
        filled = _BAR * event.done // max(event.total, 1)
        bar = "#" * filled + "-" * (_BAR - filled)
        end = "\n" if event.done >= event.total else ""
        self.ctx.err.write(f"\r  {event.step:<10} [{bar}] {event.done}/{event.total}{end}")
        self.ctx.err.flush()


_BAR = 30


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
