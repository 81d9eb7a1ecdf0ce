"""Resolver protocol + the pip-tools backend. SUBPROCESS + NETWORK.

pip-compile resolves for the interpreter that runs it, so it runs under the *target* Python
(the venv's, or the one that will make the venv) with envsync's own copy of pip-tools put on
its path through a shim folder: nothing is installed into the user's venv, and markers such as
``python_version`` are evaluated for the environment the lock is for.

pip-compile chooses the versions; simpleapi then lists every file of each chosen version with
its hash from the index, so the lock covers every platform the index publishes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from envsync.core.lockfile import LockedFile, ResolvedPackage
from envsync.core.pipoutput import (
    Failure,
    classify,
    cut_off,
    missing_requirement,
    name_mismatch,
    without_tracebacks,
)
from envsync.core.spec import direct_urls
from envsync.errors import (
    BuildError,
    EnvsyncError,
    IndexUnreachableError,
    ResolutionError,
)
from envsync.index import credentials, proxy, retry, simpleapi
from envsync.resolve import compile_output
from envsync.system import removal
from envsync.system.process import Runner, run, tail
from envsync.system.shims import pycache_dir, shim_dir

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from envsync._types import NormalizedName
    from envsync.core.spec import Group, IndexConfig, NamedIndex, Source
    from envsync.index.proxy import PipAccess, Routes

__all__ = [
    "PipToolsResolver",
    "Resolution",
    "ResolveRequest",
    "Resolver",
    "UvResolver",
    "find_uv",
]

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
_OUTPUT = "resolved.txt"
_WORKERS = 8


@dataclass(frozen=True, kw_only=True, slots=True)
class ResolveRequest:
    """Everything a resolution depends on."""

    dependencies: tuple[Requirement, ...]
    """Top-level requirements."""
    groups: tuple[Group, ...]
    """Groups, resolved together with the dependencies so versions agree."""
    python: Path
    """The interpreter to resolve for."""
    python_version: str
    """Its full version, recorded in the lock."""
    index: IndexConfig
    """Where packages come from."""
    root: Path
    """Project folder: relative paths in requirements and find-links are relative to it."""
    preferred: Mapping[NormalizedName, Version] = field(default_factory=dict)
    """Existing pins to keep when they still fit."""
    upgrade: bool = False
    """Ignore every existing pin."""
    upgrade_packages: frozenset[NormalizedName] = frozenset()
    """Ignore the pins of just these."""
    sources: tuple[Source, ...] = ()
    """Per-package sources from env.toml: local folders (editable or not), pinned indexes."""
    indexes: tuple[NamedIndex, ...] = ()
    """The named indexes of env.toml, which serve only the packages pinned to them."""
    build: bool = True
    """False: wheels only, so resolving never runs a package's build code (``[env] build``)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Resolution:
    """A resolver's answer."""

    python: str
    """Full version of the interpreter resolved for."""
    packages: tuple[ResolvedPackage, ...]
    """Every package, sorted by name."""
    roots: dict[str, tuple[NormalizedName, ...]] = field(default_factory=dict)
    """Each group's own top-level packages."""


class Resolver(Protocol):
    """Turns a request into pinned packages with their artifacts."""

    def resolve(self, request: ResolveRequest) -> Resolution:
        """Resolve *request*; raise ResolutionError, IndexUnreachableError or BuildError."""
        ...


class PipToolsResolver:
    """Resolves with pip-compile (run as a subprocess under the target interpreter)."""

    def __init__(self, *, runner: Runner = run) -> None:
        self._run = runner

    def resolve(self, request: ResolveRequest) -> Resolution:
        """Run pip-compile, then list every file of each pinned version."""
        routes = proxy.routes(
            request.index,
            request.indexes,
            request.sources,
            default_url=simpleapi.default_index_url(),
            direct=direct_urls(request.dependencies, *(g.requirements for g in request.groups)),
        )
        for where in routes.upstreams():  # fail fast, naming the index, before pip runs
            simpleapi.probe_index(where)
        find_links = request.index.resolved(request.root).find_links
        with (
            removal.temporary_folder("envsync-lock-") as tmp,
            proxy.pip_access(routes, find_links) as access,
        ):
            work = Path(tmp)
            inputs = _write_inputs(work, request)
            _write_preferences(work / _OUTPUT, request)
            self._compile(work, inputs, request, access, routes)
            pins = compile_output.parse((work / _OUTPUT).read_text("utf-8"), _editables(request))
            versions = self._local_versions(pins, request, access)
        packages = _with_files(pins, request, versions, routes)
        roots = compile_output.group_roots(pins)
        return Resolution(python=request.python_version, packages=packages, roots=roots)

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
        try:
            retry.again(
                lambda: access.run(self._run, argv, error=_compile_error, cwd=work),
                transient=_cut_off_text,
                what="the resolver",
                settings=settings,
            )
        except (_NoVersionError, _PipUnreachableError) as exc:
            # pip skips an index page it cannot read, then finds "no version", and its own
            # network errors seldom name the page: read the pages ourselves, so that an index
            # that fails is named as such. (The routing proxy's failures are ours already.)
            _read_pages(_names_to_check(exc, request), routes)
            if isinstance(exc, _CutOffError):
                raise IndexUnreachableError(
                    f"{exc.message} (tried {settings.attempts} times)", hint=exc.hint
                ) from exc
            raise

    def _compile_argv(
        self, inputs: Sequence[str], request: ResolveRequest, access: PipAccess
    ) -> list[str]:
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
            "--quiet",
            f"--output-file={_OUTPUT}",
            *access.args,
            *(f"--upgrade-package={p}" for p in sorted(request.upgrade_packages)),
            *inputs,
        ]
        if request.upgrade:
            argv.append("--upgrade")
        if not request.build:  # pip builds an sdist just to read its metadata: never
            argv.append("--pip-args=--only-binary=:all:")
        return argv

    def _local_versions(
        self, pins: Sequence[compile_output.Pin], request: ResolveRequest, access: PipAccess
    ) -> dict[str, str]:
        """The versions of local project folders, which pip-compile does not print.

        PEP 751 keeps versions out of source-tree entries, but apply needs them to notice
        that a local package changed version; pip's installation report gives them.
        """
        urls = [
            p.requirement.url for p in pins if p.requirement.url and _is_folder(p.requirement.url)
        ]
        if not urls:
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
            *(simpleapi.local_path(u).as_posix() for u in urls),
        ]
        proc = access.run(self._run, argv, error=_compile_error)
        try:
            report = json.loads(proc.stdout)
            return {
                item["download_info"]["url"]: item["metadata"]["version"]
                for item in report["install"]
            }
        except (ValueError, KeyError, TypeError) as exc:
            msg = f"could not read pip's report on the local packages: {exc}"
            raise ResolutionError(msg) from exc


class UvResolver(PipToolsResolver):
    """Resolves with ``uv pip compile``: the same inputs, the same output format, much faster.

    uv resolves for ``--python`` itself, so no shim is needed; everything after the compile
    step (file listing, local versions, the lock) is shared with pip-tools.
    """

    def __init__(self, *, uv: Path, runner: Runner = run) -> None:
        super().__init__(runner=runner)
        self._uv = uv

    def _compile_argv(
        self, inputs: Sequence[str], request: ResolveRequest, access: PipAccess
    ) -> list[str]:
        argv = [
            os.fspath(self._uv),
            "pip",
            "compile",
            f"--python={request.python}",
            "--no-header",
            "--annotation-style=line",
            "--quiet",
            f"--output-file={_OUTPUT}",
            *access.args,
            *(f"--upgrade-package={p}" for p in sorted(request.upgrade_packages)),
            *inputs,
        ]
        if request.upgrade:
            argv.append("--upgrade")
        if not request.build:
            argv.append("--no-build")
        return argv


def find_uv() -> Path | None:
    """Uv on PATH, or the binary of an installed ``uv`` Python package."""
    found = shutil.which("uv")
    if found:
        return Path(found)
    try:
        from uv import find_uv_bin  # noqa: PLC0415 - optional: only when resolver = "uv"
    except ImportError:
        return None
    try:
        return Path(find_uv_bin())
    except FileNotFoundError:
        return None


def _under_target(python: Path, boot: str) -> list[str]:
    """Run *boot* in the target interpreter with envsync's pip-tools and pip lent to it."""
    shims = shim_dir(_PIPTOOLS_PACKAGES)
    return [os.fspath(python), "-I", "-c", boot, os.fspath(shims), os.fspath(pycache_dir())]


def _is_folder(url: str) -> bool:
    return url.startswith("file:") and simpleapi.local_path(url).is_dir()


# -- inputs ---------------------------------------------------------------------------------


def _write_inputs(work: Path, request: ResolveRequest) -> list[str]:
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
    if source is None or source.path is None:
        return _absolute_requirement(req, request.root)
    uri = _folder_uri(source.path, request.root)
    if source.editable:
        return f"-e {uri}"
    direct = Requirement(str(req))
    direct.url = uri
    direct.specifier = SpecifierSet()  # a direct reference takes no version specifier
    return str(direct)


def _editables(request: ResolveRequest) -> dict[str, NormalizedName]:
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
    absolute = Requirement(str(req))
    absolute.url = (root / path).resolve().as_uri()
    return str(absolute)


def _write_preferences(output: Path, request: ResolveRequest) -> None:
    # pip-compile keeps the pins it finds in an existing output file: that is how a relock
    # changes only what it must.
    if request.upgrade or not request.preferred:
        return
    lines = [f"{name}=={version}\n" for name, version in sorted(request.preferred.items())]
    output.write_text("".join(lines), "utf-8")


# -- output ---------------------------------------------------------------------------------

# -- files ----------------------------------------------------------------------------------


def _with_files(
    pins: Sequence[compile_output.Pin],
    request: ResolveRequest,
    versions: dict[str, str],
    routes: Routes,
) -> tuple[ResolvedPackage, ...]:
    groups = compile_output.roots(pins)
    deps = compile_output.dependencies(pins)
    sources = _Sources(routes, request.index.resolved(request.root).find_links)

    def one(pin: compile_output.Pin) -> ResolvedPackage:
        base = ResolvedPackage(
            name=pin.name,
            version=None,
            groups=groups[pin.name],
            dependencies=deps[pin.name],
            editable=pin.editable,
        )
        url = pin.requirement.url
        if url:
            found = versions.get(url)
            return _direct(
                replace(base, version=Version(found) if found else None), url, request.root
            )
        return _from_sources(base, pin, sources, request.root)

    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        return tuple(sorted(pool.map(one, pins), key=lambda p: p.name))


class _Sources:
    """The indexes and find-links locations, queried for one project at a time."""

    def __init__(self, routes: Routes, find_links: Sequence[str]) -> None:
        self.routes = routes
        self.find_links = find_links

    def files(self, name: str) -> Iterable[tuple[str, list[simpleapi.IndexFile]]]:
        """Each place that may serve *name*, with its files: a pinned name, its index only."""
        for where in self.routes.for_project(name):
            yield where.url, simpleapi.files_for(where, name)
        if self.routes.is_pinned(name):
            return
        for location in self.find_links:
            if "://" in location and not location.startswith("file:"):
                yield location, simpleapi.files_for_page(location)
            else:
                folder = simpleapi.local_path(location) if "://" in location else Path(location)
                yield location, simpleapi.files_in_folder(folder)


def _from_sources(
    base: ResolvedPackage, pin: compile_output.Pin, sources: _Sources, root: Path
) -> ResolvedPackage:
    version = _pinned_version(pin)
    for where, files in sources.files(pin.name):
        matching = [f for f in files if f.project() == pin.name and f.version() == version]
        if matching:
            return _from_index(replace(base, version=version), where, matching, sources, root)
    msg = f"pip-compile chose {pin.name}=={version}, but no index lists its files"
    raise ResolutionError(msg, hint="check that every index in env.toml serves that project")


def _pinned_version(pin: compile_output.Pin) -> Version:
    specs = list(pin.requirement.specifier)
    if len(specs) != 1 or specs[0].operator != "==":
        msg = f"pip-compile returned an unpinned requirement: {pin.requirement}"
        raise ResolutionError(msg)
    return Version(specs[0].version)


def _from_index(
    base: ResolvedPackage,
    where: str,
    files: list[simpleapi.IndexFile],
    sources: _Sources,
    root: Path,
) -> ResolvedPackage:
    upstreams = sources.routes.upstreams()
    locked = [_locked(f, root, credentials.login_for(f.url, upstreams)) for f in files]
    sdists = [f for f in locked if not f.filename.endswith(".whl")]
    return replace(
        base,
        wheels=tuple(f for f in locked if f.filename.endswith(".whl")),
        sdist=sdists[0] if sdists else None,
        index=where if "://" in where and not where.startswith("file:") else None,
        requires_python=next((f.requires_python for f in files if f.requires_python), None),
    )


def _locked(f: simpleapi.IndexFile, root: Path, login: credentials.Login | None) -> LockedFile:
    sha256 = f.sha256 or simpleapi.hash_url(f.url, login)
    if f.url.startswith("file:"):
        # A local find-links file: recorded relative to the project, so the lock travels.
        path = _relative(simpleapi.local_path(f.url), root)
        return LockedFile(filename=f.filename, path=path, sha256=sha256, size=f.size)
    return LockedFile(filename=f.filename, url=f.url, sha256=sha256, size=f.size)


def _direct(base: ResolvedPackage, url: str, root: Path) -> ResolvedPackage:
    if not url.startswith("file:"):
        filename = urlsplit(url).path.rsplit("/", 1)[-1]
        archive = LockedFile(filename=filename, url=url, sha256=simpleapi.hash_url(url))
        return replace(base, archive=archive)
    path = simpleapi.local_path(url)
    shown = _relative(path, root)
    if path.is_dir():
        return replace(base, directory=shown)
    archive = LockedFile(filename=path.name, path=shown, sha256=simpleapi.hash_file(path))
    return replace(base, archive=archive)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


# -- errors ---------------------------------------------------------------------------------


class _NoVersionError(ResolutionError):
    """pip found no version of a requirement: a wrong name, or an index page it could not read."""

    def __init__(self, requirement: str) -> None:
        super().__init__(
            f"no version of {requirement} is available from the configured indexes",
            hint="check the name and version in env.toml and [index] url",
        )
        self.requirement = requirement


class _PipUnreachableError(IndexUnreachableError):
    """pip (or uv) could not read an index, in its own words."""


class _CutOffError(_PipUnreachableError):
    """pip crashed on an answer that stopped short: worth running it again."""


def _cut_off_text(exc: Exception) -> str | None:
    return "an answer from an index stopped short" if isinstance(exc, _CutOffError) else None


def _names_to_check(exc: EnvsyncError, request: ResolveRequest) -> list[str]:
    """The projects whose pages may explain *exc*: the one pip missed, or every top-level one."""
    if isinstance(exc, _NoVersionError):
        with contextlib.suppress(InvalidRequirement):
            return [Requirement(exc.requirement).name]
    wanted = [*request.dependencies, *(r for g in request.groups for r in g.requirements)]
    local = {s.package for s in request.sources if s.path is not None}
    names = [r.name for r in wanted if not r.url and canonicalize_name(r.name) not in local]
    return list(dict.fromkeys(names))


def _read_pages(names: Sequence[str], routes: Routes) -> None:
    """Read each project's pages (with retries): raises IndexUnreachableError if one fails."""
    pairs = [(where, name) for name in names for where in routes.for_project(name)]
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        list(pool.map(lambda pair: simpleapi.fetch_page(*pair), pairs))


def _compile_error(output: str) -> EnvsyncError:
    """Turn pip-compile's output into the one error a user should read."""
    shown = tail(output)
    kind = classify(output)
    if kind == "name-mismatch":
        return _name_mismatch_error(output)
    return _other_compile_error(output, kind, shown)


def _other_compile_error(output: str, kind: Failure, shown: str) -> EnvsyncError:
    """The errors of _compile_error whose message quotes pip's output."""
    if kind == "no-version":
        return _NoVersionError(missing_requirement(output))
    if cut_off(output):
        last = tail(output, lines=1).strip()  # the exception, not pip's traceback
        return _CutOffError(
            f"an answer from a package index stopped short while resolving: {last}",
            hint="check that the index is up and your network; "
            f"{retry.RETRIES_VARIABLE} sets how often envsync tries",
        )
    if kind == "unreachable":
        return _PipUnreachableError(
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
        return ResolutionError(
            f"the requirements conflict:\n{shown}",
            hint="loosen one of the conflicting requirements in env.toml",
        )
    return ResolutionError(f"pip-compile failed:\n{shown}")


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
