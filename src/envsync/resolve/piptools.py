"""The pip-tools backend: pip-compile run under the target interpreter. SUBPROCESS + NETWORK.

pip-compile resolves for the interpreter that runs it, so it runs under the *target* Python
(the venv's, or the one that will make the venv) with envsync's own copy of pip-tools put on
its path through a shim folder: nothing is installed into the user's venv, and markers such as
``python_version`` are evaluated for the environment the lock is for.

pip-compile chooses the versions; ``artifacts`` then lists every file of each chosen version
with its hash from the index, so the lock covers every platform the index publishes. For a
lock target that is not the interpreter's own (``request.foreign``), pip's own resolver
chooses them instead, with the target's markers (``foreign.py``).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from envsync.core.spec import direct_urls
from envsync.errors import EnvsyncError, IndexUnreachableError, ResolutionError
from envsync.index import retry, simpleapi
from envsync.index.pipaccess import pip_access
from envsync.index.routes import routes as make_routes
from envsync.resolve import artifacts, compile_output, foreign, foreignbatch
from envsync.resolve.compile_errors import (
    CutOffError,
    NoVersionError,
    PipUnreachableError,
    compile_error,
    cut_off_text,
    names_to_check,
    read_pages,
)
from envsync.resolve.inputs import editables, write_inputs, write_preferences
from envsync.resolve.prefetch import prefetching
from envsync.resolve.protocol import Resolution
from envsync.system import removal
from envsync.system.process import Runner, run
from envsync.system.shims import pycache_dir, shim_dir

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from envsync.index.credentials import Upstream
    from envsync.index.pipaccess import PipAccess
    from envsync.index.routes import Routes
    from envsync.resolve.protocol import ResolveRequest

__all__ = ["PipToolsResolver", "shared_args"]

#: What pip-compile needs importable in the target interpreter (all pure Python).
_PIPTOOLS_PACKAGES = (
    "piptools",
    "pip",
    "click",
    "build",
    "pyproject_hooks",
    "packaging",
    "tomli",
    "typing_extensions",
)
# argv[1]: the shim folder; argv[2]: where bytecode of the lent packages is cached, so pip
# is not recompiled on every run (and nothing is written into envsync's own site-packages).
_PIP_BOOT = (
    "import sys, runpy; sys.path.insert(0, sys.argv.pop(1)); sys.pycache_prefix = "
    "sys.argv.pop(1); sys.argv[0] = 'pip'; runpy.run_module('pip', run_name='__main__')"
)
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); sys.pycache_prefix = sys.argv.pop(1); "
    "sys.argv[0] = 'pip-compile'; from piptools.scripts.compile import cli; cli()"
)
#: The resolver's output file, in its working folder.
_OUTPUT = "resolved.txt"


class PipToolsResolver:
    """Resolves with pip-compile (run as a subprocess under the target interpreter)."""

    #: A foreign target goes to pip's own resolver with the target's markers (``foreign``).
    _FOREIGN_BY_PIP: ClassVar[bool] = True
    #: Foreign targets of one run share pip processes (``foreignbatch``).
    BATCHES_FOREIGN: ClassVar[bool] = True
    #: The resolving tool, as a failure names it.
    _TOOL: ClassVar[str] = "pip-compile"

    def __init__(self, *, runner: Runner = run) -> None:
        self._run = runner

    def resolve(self, request: ResolveRequest) -> Resolution:
        """Run pip-compile, then list every file of each pinned version."""
        routes = _routes_of(request)
        find_links = request.index.resolved(request.root).find_links
        with (
            _named_index(routes),
            removal.temporary_folder("envsync-lock-") as tmp,
            pip_access(routes, find_links) as access,
        ):
            work = Path(tmp)
            inputs = write_inputs(work, request)
            if request.foreign and self._FOREIGN_BY_PIP:
                pins = foreign.resolve(
                    work,
                    inputs,
                    request,
                    lambda: self._compile(work, inputs, request, access, routes),
                )
            else:
                write_preferences(work / _OUTPUT, request)
                with prefetching(request, routes):  # the listing's pages, while pip-compile runs
                    self._compile(work, inputs, request, access, routes)
                pins = compile_output.parse((work / _OUTPUT).read_text("utf-8"), editables(request))
            versions = self._local_versions(pins, request, access)
        packages = artifacts.with_files(pins, request, versions, routes)
        roots = compile_output.group_roots(pins)
        return Resolution(python=request.python_version, packages=packages, roots=roots)

    def resolve_foreign_batch(self, requests: Sequence[ResolveRequest]) -> list[Resolution | None]:
        """Resolve several foreign targets of one lock run in one pip process (``foreignbatch``).

        Each answer is the Resolution ``resolve`` gives, or None where the target's run
        failed: the caller resolves that one alone, for its own retries and error.
        """
        first = requests[0]  # one run: the same indexes, sources and interpreter for all
        routes = _routes_of(first)
        find_links = first.index.resolved(first.root).find_links
        with (
            removal.temporary_folder("envsync-lock-") as tmp,
            pip_access(routes, find_links) as access,
        ):

            def run_boot(jobs: Path) -> None:
                argv = [*_under_target(first.python, foreignbatch.BATCH_BOOT), os.fspath(jobs)]
                access.run(self._run, argv, error=compile_error, cwd=Path(tmp))

            found = foreignbatch.run_batch(requests, Path(tmp), access, run_boot)
            answers: list[Resolution | None] = []
            for request, pins in zip(requests, found, strict=True):
                if pins is None:
                    answers.append(None)
                    continue
                versions = self._local_versions(pins, request, access)
                packages = artifacts.with_files(pins, request, versions, routes)
                roots = compile_output.group_roots(pins)
                answers.append(
                    Resolution(python=request.python_version, packages=packages, roots=roots)
                )
        return answers

    def _compile(
        self,
        work: Path,
        inputs: Sequence[str],
        request: ResolveRequest,
        access: PipAccess,
        routes: Routes,
    ) -> None:
        """Run pip-compile (again, if a download was cut off); blame an index that fails."""
        argv = self._compile_argv(inputs, request, access)
        settings = retry.policy()
        tool = "pip" if request.foreign and self._FOREIGN_BY_PIP else self._TOOL
        error = functools.partial(compile_error, tool=tool, target=request.target)
        try:
            retry.again(
                lambda: access.run(self._run, argv, error=error, cwd=work),
                transient=cut_off_text,
                what="the resolver",
                settings=settings,
            )
        except (NoVersionError, PipUnreachableError) as exc:
            # pip skips an index page it cannot read, then finds "no version", and its own
            # network errors seldom name the page: read the pages ourselves, so that an index
            # that fails is named as such. (The routing proxy's failures are ours already.)
            read_pages(names_to_check(exc, request), routes)
            if isinstance(exc, CutOffError):
                raise IndexUnreachableError(
                    f"{exc.message} (tried {settings.attempts} times)", hint=exc.hint
                ) from exc
            raise

    def _compile_argv(
        self, inputs: Sequence[str], request: ResolveRequest, access: PipAccess
    ) -> list[str]:
        if request.foreign:  # pip-compile cannot evaluate markers for another platform
            return foreign.pip_argv(
                _under_target(request.python, foreign.BOOT), inputs, request, access
            )
        argv = [
            *_under_target(request.python, _BOOT),
            "--allow-unsafe",
            "--strip-extras",
            "--no-config",
            "--no-header",
            "--annotation-style=line",
            "--no-emit-index-url",
            "--no-emit-trusted-host",
            "--no-emit-find-links",
            *shared_args(inputs, request, access),
        ]
        if not request.build:  # pip builds an sdist just to read its metadata: never
            argv.append("--pip-args=--only-binary=:all:")
        return argv

    def _local_versions(
        self, pins: Sequence[compile_output.Pin], request: ResolveRequest, access: PipAccess
    ) -> dict[str, str]:
        """The versions of local project folders (by URL) and git checkouts (by commit id).

        pip-compile prints neither. PEP 751 keeps versions out of source-tree entries, but
        apply needs them to notice that a local package changed version; pip's installation
        report gives them (a git checkout is cloned once more for it).
        """
        folders = [u for p in pins if (u := p.requirement.url) and _is_folder(u)]
        # A git pin's URL names the commit already (its input line was pinned to it).
        commits = [str(p.requirement.url) for p in pins if p.name in request.vcs]
        if not folders and not commits:
            return {}
        argv = [
            *_under_target(request.python, _PIP_BOOT),
            "install",
            "--dry-run",
            "--no-deps",
            "--ignore-installed",
            "--quiet",
            "--report=-",
            *access.args,
            *(simpleapi.local_path(u).as_posix() for u in folders),
            *commits,
        ]
        proc = access.run(self._run, argv, error=compile_error)
        try:
            report = json.loads(proc.stdout)
            return {_report_key(item): item["metadata"]["version"] for item in report["install"]}
        except (ValueError, KeyError, TypeError) as exc:
            msg = f"could not read pip's report on the local packages: {exc}"
            raise ResolutionError(msg) from exc


def _routes_of(request: ResolveRequest) -> Routes:
    """The routes the run handed down with *request*, else those its inputs make."""
    return request.routes or make_routes(
        request.index,
        request.indexes,
        request.sources,
        direct=direct_urls(request.dependencies, *(g.requirements for g in request.groups)),
    )


@contextlib.contextmanager
def _named_index(routes: Routes) -> Iterator[None]:
    """When the resolver fails, an index that cannot be reached (or refuses us) is the cause.

    Each index is asked only then, so a resolver run that succeeds pays no round trip for
    it, and the error names the index in envsync's words rather than in pip's or uv's.
    """
    try:
        yield
    except EnvsyncError as failed:
        cause = next(filter(None, map(_probe, routes.upstreams())), None)
        if cause is not None:
            raise cause from failed
        raise


def _probe(where: Upstream) -> EnvsyncError | None:
    """Why *where* cannot serve this run (unreachable, refused), or None when it answers."""
    try:
        simpleapi.probe_index(where)
    except EnvsyncError as cause:
        return cause
    return None


def shared_args(inputs: Sequence[str], request: ResolveRequest, access: PipAccess) -> list[str]:
    """The arguments pip-compile and ``uv pip compile`` take alike, input files included."""
    upgrade = ["--upgrade"] if request.upgrade else []
    return [
        "--quiet",
        f"--output-file={_OUTPUT}",
        *access.args,
        *(f"--upgrade-package={p}" for p in sorted(request.upgrade_packages)),
        *inputs,
        *upgrade,
    ]


def _under_target(python: Path, boot: str) -> list[str]:
    """Run *boot* in the target interpreter with envsync's pip-tools and pip lent to it."""
    shims = shim_dir(_PIPTOOLS_PACKAGES)
    return [os.fspath(python), "-I", "-c", boot, os.fspath(shims), os.fspath(pycache_dir())]


def _report_key(item: dict[str, Any]) -> str:
    """A report item's key in ``_local_versions``: its commit id, else its URL."""
    info = item["download_info"]
    vcs_info = info.get("vcs_info")
    return str(vcs_info["commit_id"]) if isinstance(vcs_info, dict) else str(info["url"])


def _is_folder(url: str) -> bool:
    return url.startswith("file:") and simpleapi.local_path(url).is_dir()
