"""The run context: what one run reads and learns, built once and passed down.

Every use case starts with ``start``: env.toml's project files are read once (pylock.toml
parsed and its tool table validated once, local packages' build files hashed once), and a
Prober is made that remembers every interpreter answer for the rest of the run. Each step
after takes the context; none reads those files or asks those interpreters again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from envsync.usecases.backends import Services
from envsync.usecases.project import open_project
from envsync.venv.prober import Prober

if TYPE_CHECKING:
    from packaging.pylock import Pylock

    from envsync.core.lockfile import LockInfo
    from envsync.core.spec import Spec
    from envsync.index.routes import Routes
    from envsync.resolve.ahead import Calls
    from envsync.usecases.project import Project

__all__ = ["RunContext", "RunMemory", "start"]


@dataclass(kw_only=True, slots=True)
class RunMemory:
    """What a run looks up at most once, and only when a step needs it."""

    routes: Routes | None = None
    """The indexes' routes with their logins (netrc, keyring), once a step needed them."""
    calls: Calls | None = None
    """The resolver's runs, once the run resolved: what the next relock may start ahead."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RunContext:
    """One run's inputs and memory."""

    project: Project
    """env.toml, pylock.toml as found, and the local packages' hashes."""
    services: Services = field(default_factory=Services)
    """The resolver, installer and reporter the run uses."""
    prober: Prober = field(default_factory=Prober)
    """What interpreters and venvs answered so far in this run."""
    memory: RunMemory = field(default_factory=RunMemory)
    """The run's other lookups, each made once."""

    @property
    def spec(self) -> Spec:
        """env.toml, validated."""
        return self.project.spec

    def routes(self) -> Routes:
        """Which index serves which project, each index's login looked up once per run.

        The resolver and the installer share it: netrc is read, and keyring asked, once, and
        the connections to the indexes are kept open between their requests.
        """
        if self.memory.routes is None:
            # Imported here: check and plan never reach an index.
            from envsync.index import routes as routing  # noqa: PLC0415
            from envsync.index.connections import Connections  # noqa: PLC0415

            spec = self.spec
            self.memory.routes = routing.routes(
                spec.index,
                spec.indexes,
                spec.sources,
                direct=spec.direct_urls(),
                connections=Connections(),  # kept open for every request of the run
            )
        return self.memory.routes

    def table_of(self, lock: Pylock) -> LockInfo | None:
        """*lock*'s ``[tool.envsync]`` table when it is the lock on disk, read once; else None.

        A lock resolved in memory this run has no table read yet: the callee reads it.
        """
        return self.project.lock.info if lock is self.project.lock.lock else None


def start(spec: Spec, services: Services | None = None) -> RunContext:
    """The context of a run on *spec*: its files read, nothing probed yet.

    The probe the fast path started (``services.probe``) goes to the run's prober.
    """
    services = services or Services()
    return RunContext(
        project=open_project(spec), services=services, prober=Prober(early=services.probe)
    )
