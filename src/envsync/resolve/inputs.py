"""pip-compile's input files: one per group, and the pins to keep. WRITES FILES.

The main dependencies go in one input file and each group in its own (see
``compile_output.input_name``), so that the output's ``via`` annotations say which group
needs which package. A [sources] path replaces the index for its package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from envsync.core.requirementtext import requirement_line
from envsync.core.vcsurl import parse_vcs, pinned_url
from envsync.resolve import compile_output

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from packaging.requirements import Requirement
    from packaging.version import Version

    from envsync._types import NormalizedName
    from envsync.core.spec import Source
    from envsync.resolve.protocol import ResolveRequest

__all__ = ["editables", "preferences_text", "write_inputs", "write_preferences"]


def write_inputs(work: Path, request: ResolveRequest) -> list[str]:
    """Write the input files into *work*; their names, main dependencies first."""
    files = {compile_output.input_name(None): request.dependencies}
    for group in request.groups:
        files[compile_output.input_name(group.name)] = group.requirements
    for name, reqs in files.items():
        lines = [_input_line(r, request) for r in reqs]
        (work / name).write_text("".join(f"{line}\n" for line in lines), "utf-8")
    return list(files)


def _path_source(name: str, request: ResolveRequest) -> Source | None:
    wanted = canonicalize_name(name)
    return next((s for s in request.sources if s.package == wanted and s.path), None)


def _folder_uri(path: str, root: Path) -> str:
    return (root / path).resolve().as_uri()


def _input_line(req: Requirement, request: ResolveRequest) -> str:
    """One input line: a [sources] path replaces the index for that package."""
    source = _path_source(req.name, request)
    locked = request.vcs.get(canonicalize_name(req.name))
    vcs = parse_vcs(req.url) if req.url else None
    if vcs is not None and locked is not None:  # the commit the lock records, not the branch
        return requirement_line(req, url=pinned_url(vcs.url, locked.commit_id, vcs.subdirectory))
    if source is None or source.path is None:
        return _absolute_requirement(req, request.root)
    uri = _folder_uri(source.path, request.root)
    return requirement_line(req, url=uri, editable=source.editable)


def editables(request: ResolveRequest) -> dict[str, NormalizedName]:
    """The ``-e`` URLs envsync writes, mapped to their package names."""
    return {
        _folder_uri(s.path, request.root): s.package
        for s in request.sources
        if s.path is not None and s.editable
    }


def _absolute_requirement(req: Requirement, root: Path) -> str:
    """*req* with a relative ``file:`` URL made absolute against the project folder."""
    if not req.url or not req.url.startswith("file:"):
        return str(req)
    path = req.url[len("file:") :]
    if path.startswith("//"):
        return str(req)
    return requirement_line(req, url=(root / path).resolve().as_uri())


def write_preferences(output: Path, request: ResolveRequest) -> None:
    """Write the pins to keep where pip-compile writes its output (unless upgrading all)."""
    # pip-compile keeps the pins it finds in an existing output file: that is how a relock
    # changes only what it must.
    if request.upgrade:
        return
    text = preferences_text(request.preferred)
    if text is not None:
        output.write_text(text, "utf-8")


def preferences_text(preferred: Mapping[NormalizedName, Version]) -> str | None:
    """The pins to keep as pip-compile reads them from its output file; None for none."""
    lines = [f"{name}=={version}\n" for name, version in sorted(preferred.items())]
    return "".join(lines) or None
