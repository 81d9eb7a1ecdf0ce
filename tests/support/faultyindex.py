"""A test index that misbehaves on request: the package index of `pkgindex`, with faults.

`FaultyIndex(root).fail(r"/simple/alpha/", "status-503", times=2)` answers the first two
requests for that path with HTTP 503 and the rest as the plain index would. The faults are
what a sick index or network does to a client:

* ``status-500`` / ``status-503``: an error status, with a short body;
* ``hang``: no answer for ``delay`` seconds (longer than the client's timeout), then a close;
* ``drop``: the connection closed without a word (the client reads an empty status line);
* ``truncate``: the real headers, Content-Length included, but half the body, then a close;
* ``slow``: the real answer, ``delay`` seconds late (within the client's timeout).

A rule may name the ``agent`` it is for (a prefix of the User-Agent: ``"envsync"`` or
``"pip"``), so a test can aim at envsync's own requests or at pip's. Rules are tried in the
order they were added; the first that matches an unspent rule's path and agent applies.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from envsync.index.loopback import LoopbackHandler

from support.pkgindex import PackageIndex

if TYPE_CHECKING:
    from pathlib import Path


Fault = Literal["status-500", "status-503", "hang", "drop", "truncate", "slow"]
FAULTS: tuple[Fault, ...] = ("status-500", "status-503", "hang", "drop", "truncate", "slow")


@dataclass
class Rule:
    """One way to misbehave, and how often."""

    pattern: re.Pattern[str]
    """Searched for in the request path."""
    fault: Fault
    """What to do instead of answering."""
    times: int | None
    """How many requests to spoil; None: every one."""
    agent: str | None
    """Only requests whose User-Agent starts with this; None: any client."""
    delay: float
    """Seconds to wait, for ``hang`` and ``slow``."""
    hits: int = 0
    """Requests spoiled so far."""

    def applies(self, path: str, agent: str) -> bool:
        """Whether this rule spoils a request for *path* from *agent* (and counts it)."""
        if self.times is not None and self.hits >= self.times:
            return False
        if self.agent is not None and not agent.startswith(self.agent):
            return False
        return self.pattern.search(path) is not None


class _FaultyHandler(LoopbackHandler):
    """The index's handler, spoiling what the index's rules say."""

    def reply(self, *, head: bool) -> None:
        index = self.server.site
        assert isinstance(index, FaultyIndex)
        rule = index.fault_for(self.path, self.headers.get("User-Agent", ""))
        if rule is None:
            super().reply(head=head)
            return
        index.record(self.path)
        self.close_connection = True  # whatever went wrong, this connection is done
        if rule.fault in {"status-500", "status-503"}:
            self._status(int(rule.fault.removeprefix("status-")))
        elif rule.fault == "hang":
            index.stopping.wait(rule.delay)
        elif rule.fault == "truncate":
            self._truncated(index)
        elif rule.fault == "slow":
            index.stopping.wait(rule.delay)
            self.close_connection = False
            super().reply(head=head)
        # "drop": say nothing; the server closes the connection when this returns.

    def _status(self, code: int) -> None:
        body = f"the test index is failing on purpose (HTTP {code})\n".encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _truncated(self, index: FaultyIndex) -> None:
        response = index.respond(  # the request is recorded already
            self.path,
            accept=self.headers.get("Accept"),
            authorization=self.headers.get("Authorization"),
            if_none_match=self.headers.get("If-None-Match"),
        )
        self.write_head(response)  # announces the whole body; half of it follows
        self.wfile.write(response.body[: len(response.body) // 2])
        self.wfile.flush()


class FaultyIndex(PackageIndex):
    """A `PackageIndex` that spoils the requests its rules match (thread-safe)."""

    handler = _FaultyHandler

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self._rules: list[Rule] = []
        self._rules_lock = threading.Lock()
        self.stopping = threading.Event()
        """Set on stop, so that a hanging answer ends with the server."""

    def fail(
        self,
        pattern: str,
        fault: Fault,
        *,
        times: int | None = None,
        agent: str | None = None,
        delay: float = 5.0,
    ) -> Rule:
        """Spoil the next *times* requests (all, if None) whose path matches *pattern*."""
        rule = Rule(re.compile(pattern), fault, times, agent, delay)
        with self._rules_lock:
            self._rules.append(rule)
        return rule

    def heal(self) -> None:
        """Forget every rule: from now on, the index behaves."""
        with self._rules_lock:
            self._rules.clear()

    def fault_for(self, path: str, agent: str) -> Rule | None:
        """The rule that spoils this request, its hit counted; None to answer it properly."""
        with self._rules_lock:
            rule = next((r for r in self._rules if r.applies(path, agent)), None)
            if rule is not None:
                rule.hits += 1
            return rule

    def stop(self) -> None:
        """Stop serving; a hanging answer is cut short."""
        self.stopping.set()
        super().stop()
