"""pip-compile's (and uv's) failures, as the one error a user should read. NETWORK.

pip skips an index page it cannot read, then finds "no version", and its own network errors
seldom name the page. So when it fails that way, ``read_pages`` reads the pages itself: an
index that fails is then named as such, with envsync's own retries and message.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from envsync.core.pipoutput import (
    Conflict,
    Failure,
    classify,
    conflict,
    cut_off,
    missing_requirement,
    name_mismatch,
    without_tracebacks,
)
from envsync.errors import BuildError, EnvsyncError, IndexUnreachableError, ResolutionError
from envsync.index import retry, simpleapi
from envsync.resolve.artifacts import WORKERS
from envsync.system.process import redact, tail

if TYPE_CHECKING:
    from collections.abc import Sequence

    from envsync.core.targets import LockTarget
    from envsync.index.routes import Routes
    from envsync.resolve.protocol import ResolveRequest

__all__ = [
    "ConflictError",
    "CutOffError",
    "NoVersionError",
    "PipUnreachableError",
    "compile_error",
    "cut_off_text",
    "names_to_check",
    "read_pages",
]


class NoVersionError(ResolutionError):
    """pip found no version of a requirement: a wrong name, or an index page it could not read."""

    def __init__(self, requirement: str) -> None:
        super().__init__(
            f"no version of {requirement} is available from the configured indexes",
            hint="check the name and version in env.toml and [index] url",
        )
        self.requirement = requirement


class ConflictError(ResolutionError):
    """No set of versions meets every requirement: the resolver's account, as who requires what."""

    def __init__(self, found: Conflict | None, *, shown: str) -> None:
        # Without an account envsync can read: the tool's last lines (never a traceback).
        lines = found.lines() if found else shown.splitlines()
        listed = "\n".join(f"  {line.strip()}" for line in lines)
        super().__init__(
            f"the requirements conflict:\n{redact(listed)}",
            # No `--upgrade-package` here: kept pins never reach this far (resolve.keeppins
            # lets them all go before a conflict is reported), so it could not help.
            hint="loosen one of these requirements in env.toml (or the one that pulls it in)",
        )
        self.conflict = found


class PipUnreachableError(IndexUnreachableError):
    """pip (or uv) could not read an index, in its own words."""


class CutOffError(PipUnreachableError):
    """pip crashed on an answer that stopped short: worth running it again."""


def cut_off_text(exc: Exception) -> str | None:
    """Why *exc* is worth running the resolver again; None when it is not."""
    return "an answer from an index stopped short" if isinstance(exc, CutOffError) else None


def names_to_check(exc: EnvsyncError, request: ResolveRequest) -> list[str]:
    """The projects whose pages may explain *exc*: the one pip missed, or every top-level one."""
    if isinstance(exc, NoVersionError):
        with contextlib.suppress(InvalidRequirement):
            return [Requirement(exc.requirement).name]
    wanted = [*request.dependencies, *(r for g in request.groups for r in g.requirements)]
    local = {s.package for s in request.sources if s.path is not None}
    names = [r.name for r in wanted if not r.url and canonicalize_name(r.name) not in local]
    return list(dict.fromkeys(names))


def read_pages(names: Sequence[str], routes: Routes) -> None:
    """Read each project's pages (with retries): raises IndexUnreachableError if one fails."""
    pairs = [(where, name) for name in names for where in routes.for_project(name)]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(
            pool.map(lambda pair: simpleapi.fetch_page(pair[0], pair[1], routes.connections), pairs)
        )


def compile_error(
    output: str, *, tool: str = "pip-compile", target: LockTarget | None = None
) -> EnvsyncError:
    """Turn pip-compile's output into the one error a user should read.

    A failure envsync cannot read further is told as *tool*'s, for *target* (a lock target:
    of several resolved at once, the one that failed).
    """
    shown = tail(output)
    kind = classify(output)
    if kind == "name-mismatch":
        return _name_mismatch_error(output)
    failed = f"{tool} failed" + (f" for {target}" if target is not None else "")
    return _other_compile_error(output, kind, shown, failed)


def _other_compile_error(output: str, kind: Failure, shown: str, failed: str) -> EnvsyncError:
    """The errors of compile_error whose message quotes pip's output."""
    if kind == "no-version":
        return NoVersionError(missing_requirement(output))
    if cut_off(output):
        last = tail(output, lines=1).strip()  # the exception, not pip's traceback
        return CutOffError(
            f"an answer from a package index stopped short while resolving: {last}",
            hint="check that the index is up and your network; "
            f"{retry.RETRIES_VARIABLE} sets how often envsync tries",
        )
    if kind == "unreachable":
        return PipUnreachableError(
            "a package index could not be reached while resolving:\n"
            + tail(without_tracebacks(output)),
            hint="check [index] url in env.toml and your network",
        )
    if kind == "build":
        return BuildError(
            f"a package failed to build while resolving:\n{shown}",
            hint="the package's build needs fixing, or pin a version that ships a wheel",
        )
    if kind == "conflict":
        return ConflictError(conflict(output), shown=tail(without_tracebacks(output)))
    return ResolutionError(f"{failed}:\n{shown}")


def _name_mismatch_error(output: str) -> ResolutionError:
    """A distribution that calls itself another project: one sentence, not pip's traceback."""
    mismatch = name_mismatch(output)
    if mismatch is None:  # pragma: no cover - classify found one
        return ResolutionError(f"pip-compile failed:\n{tail(output)}")
    wanted = mismatch.wanted
    found = (
        f"its wheel holds the metadata folder {mismatch.found}"
        if mismatch.folder
        else f"its metadata says Name: {mismatch.found}"
    )
    return ResolutionError(
        f"the distribution found for {wanted} is not a distribution of {wanted}: {found}",
        hint=f"check the name and URL of {wanted} in env.toml; if they are right, the file "
        "is mislabelled and whoever publishes it must fix it",
    )
