"""The native installer: wheels from the shared cache, in parallel, with pypa's installer. VENV.

pypa's ``installer`` library decides where every file goes and writes RECORD, console scripts
bound to the venv's interpreter, ``.data`` folders and shebangs. envsync adds what a fast,
exact sync needs around it:

* every wheel is downloaded and checked against the lock's sha256 before the venv is touched;
* files are hard-linked from the wheel unpacked once in the cache (copied where the cache is on
  another filesystem), with RECORD hashes from the cache's manifest, so nothing is re-read;
* packages install in parallel: in a correct venv no two distributions own the same file;
* INSTALLER, REQUESTED and direct_url.json (PEP 610, the url and sha256, byte for byte as pip
  writes them) go into the dist-info, because the planner compares direct_url hashes;
* no bytecode unless asked (``compile_bytecode``): then one compileall run in the venv's own
  interpreter, the ``.pyc`` files added to RECORD as pip adds them.

sdists, archives that are not wheels and local folders need building, which needs pip: they go
to the pip backend, in one call, before any wheel is installed.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO, cast
from urllib.parse import urlsplit

from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.exceptions import InstallerError
from installer.records import Hash, RecordEntry
from installer.sources import WheelContentElement, WheelSource
from installer.utils import copyfileobj_with_hashing, parse_wheel_filename

from envsync import cache, environment, indexproxy
from envsync._subprocess import Runner, clean_env, run
from envsync.errors import EnvsyncError, InstallError
from envsync.installer import Installer, PipInstaller
from envsync.report import Counter, NullReporter
from envsync.resolver import default_index_url
from envsync.uninstall import inside, uninstall_dist

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from installer.utils import Scheme

    from envsync._types import NormalizedName
    from envsync.credentials import Upstream
    from envsync.lockfile import Artifact, Wanted
    from envsync.report import Reporter
    from envsync.spec import IndexConfig, NamedIndex, Source

__all__ = ["NativeInstaller"]

_LOG = logging.getLogger("envsync.nativeinstall")

# What INSTALLER says; pip writes ``pip`` the same way.
_INSTALLER_NAME = b"envsync\n"

# Runs in the venv's interpreter (any Python 3): where its files go.
# Runs in the venv's interpreter: compile the files listed in argv[1]; print each one's .pyc
# (null when it did not compile: pip skips those too).
_COMPILE = """\
import compileall, importlib.util, json, sys, warnings
warnings.simplefilter("ignore")
with open(sys.argv[1]) as fh:
    paths = json.load(fh)
print(json.dumps([
    importlib.util.cache_from_source(p) if compileall.compile_file(p, force=True, quiet=2)
    else None
    for p in paths
]))
"""


class NativeInstaller:
    """Installs wheels itself (see the module docstring); pip builds and installs the rest."""

    def __init__(
        self,
        *,
        compile_bytecode: bool = False,
        wheel_cache: cache.Cache | None = None,
        fallback: Installer | None = None,
        runner: Runner = run,
        reporter: Reporter | None = None,
    ) -> None:
        self._reporter = reporter or NullReporter()
        self._compile = compile_bytecode
        self._cache = wheel_cache or cache.Cache.default()
        self._fallback = fallback or PipInstaller(runner=runner)
        self._run = runner
        self._venvs: dict[Path, _Venv] = {}

    def install(
        self,
        python: Path,
        packages: Sequence[Wanted],
        *,
        index: IndexConfig,
        indexes: Sequence[NamedIndex] = (),
        sources: Sequence[Source] = (),
    ) -> None:
        """Fetch and unpack every wheel, let pip do the rest, then install the wheels."""
        wheels = [p for p in packages if _is_wheel(p.artifact)]
        others = [p for p in packages if not _is_wheel(p.artifact)]
        # 1. Every wheel is downloaded and verified first: a bad file changes nothing.
        trees = self._prepare(wheels, _lookup(index, indexes, sources)) if wheels else []
        # 2. pip checks and builds everything it gets before installing any of it.
        if others:
            self._fallback.install(python, others, index=index, indexes=indexes, sources=sources)
        # 3. Only now is the venv changed.
        if wheels:
            self._install(self._venv(python), list(zip(wheels, trees, strict=True)))

    def uninstall(self, python: Path, names: Sequence[NormalizedName]) -> None:
        """Remove each dist by its RECORD (no pip)."""
        if names:
            venv = self._venv(python)
            cache.parallel(lambda name: uninstall_dist(venv.libs(), name, venv=venv.root), names)

    def _prepare(self, wheels: Sequence[Wanted], lookup: cache.UpstreamLookup) -> list[cache.Tree]:
        files = self._cache.fetch_all([p.artifact for p in wheels], lookup)
        pairs = zip(files, (str(p.artifact.sha256).lower() for p in wheels), strict=True)
        counter = Counter(self._reporter, "fetching", len(wheels))

        def unpack(pair: tuple[Path, str]) -> cache.Tree:
            tree = self._cache.unpacked(*pair)
            counter.tick()
            return tree

        return cache.parallel(unpack, pairs)

    def _install(self, venv: _Venv, pairs: Sequence[tuple[Wanted, cache.Tree]]) -> None:
        """Take out the versions being replaced, then install: both steps in parallel."""
        # All removals come first: a file that moved from one dist to another between their
        # versions must not be deleted by the old owner after the new one wrote it.
        cache.parallel(
            lambda pair: uninstall_dist(venv.libs(), pair[0].name, venv=venv.root), pairs
        )
        linker = _Linker()
        counter = Counter(self._reporter, "installing", len(pairs))

        def install(pair: tuple[Wanted, cache.Tree]) -> _Destination:
            written = _install_one(venv, *pair, linker=linker)
            counter.tick()
            return written

        done = cache.parallel(install, pairs)
        if self._compile:
            self._compile_bytecode(venv, done)

    def _venv(self, python: Path) -> _Venv:
        """Where the venv of *python* puts files; asked once per installer."""
        if python not in self._venvs:
            # The same probe apply already made (environment caches it): no new process.
            info = environment.probe_venv(python.parent.parent)
            found = {
                "purelib": os.fspath(info.purelib),
                "platlib": os.fspath(info.platlib),
                "scripts": os.fspath(info.scripts),
                "data": os.fspath(info.data),
                "version": f"{info.version.major}.{info.version.minor}",
            }
            self._venvs[python] = _Venv.from_probe(python, found)
        return self._venvs[python]

    def _compile_bytecode(self, venv: _Venv, done: Sequence[_Destination]) -> None:
        """Compile every installed module in one run of the venv's Python; record the .pyc."""
        libs = [os.fspath(lib) for lib in venv.libs()]
        sources = {
            os.fspath(path): dest
            for dest in done
            for path in dest.written
            if path.suffix == ".py" and any(inside(lib, os.fspath(path)) for lib in libs)
        }
        if not sources:
            return
        with tempfile.TemporaryDirectory(prefix="envsync-compile-") as folder:
            listing = Path(folder) / "files.json"
            listing.write_text(json.dumps(sorted(sources)), "utf-8")
            argv = [os.fspath(venv.python), "-I", "-c", _COMPILE, os.fspath(listing)]
            proc = self._run(argv, error=_compile_failed, env=clean_env())
        compiled = zip(sorted(sources), json.loads(proc.stdout), strict=True)
        written = [(sources[source], Path(pyc)) for source, pyc in compiled if pyc]
        for dest in done:
            dest.add_to_record([pyc for owner, pyc in written if owner is dest])


# -- what to install, and from where -------------------------------------------------------


def _is_wheel(artifact: Artifact) -> bool:
    """A hashed wheel file (from an index, find-links or a direct URL): ours to install."""
    name = artifact.filename or PurePosixPath(urlsplit(artifact.url).path).name
    return artifact.kind in {"wheel", "archive"} and bool(artifact.sha256) and name.endswith(".whl")


def _lookup(
    index: IndexConfig, indexes: Sequence[NamedIndex], sources: Sequence[Source]
) -> cache.UpstreamLookup:
    """The index each file URL belongs to, for its credentials (as pip would be given them)."""
    default = index.url or default_index_url()  # pip's default is only looked up when needed
    upstreams = indexproxy.routes(index, indexes, sources, default_url=default).upstreams()

    def find(url: str) -> Upstream | None:
        netloc = urlsplit(url).netloc
        same = [u for u in upstreams if urlsplit(u.url).netloc == netloc]
        return next((u for u in same if u.login), same[0] if same else None)

    return find


@dataclass(frozen=True, kw_only=True, slots=True)
class _Venv:
    """Where a venv's interpreter puts each kind of file."""

    root: Path
    """The venv folder."""
    python: Path
    """Its interpreter, which console scripts are bound to."""
    paths: dict[str, str]
    """purelib, platlib, scripts and data, from the interpreter's sysconfig."""
    version: str
    """The interpreter's X.Y."""

    @classmethod
    def from_probe(cls, python: Path, found: dict[str, str]) -> _Venv:
        """Build from the venv probe's paths (purelib, platlib, scripts, data, version)."""
        paths = {key: found[key] for key in ("purelib", "platlib", "scripts", "data")}
        return cls(root=Path(found["data"]), python=python, paths=paths, version=found["version"])

    def libs(self) -> tuple[Path, ...]:
        """site-packages: purelib, and platlib when it is another folder."""
        return tuple(dict.fromkeys(Path(self.paths[k]) for k in ("purelib", "platlib")))

    def scheme(self, name: str) -> dict[str, str]:
        """The installer scheme for the dist *name*: headers go where pip puts them in a venv."""
        headers = Path(self.paths["data"], "include", "site", f"python{self.version}", name)
        return {**self.paths, "headers": os.fspath(headers)}


def _compile_failed(output: str) -> EnvsyncError:
    return InstallError(f"could not compile the installed modules to bytecode:\n{output}")


# -- installing one wheel -------------------------------------------------------------------


def _install_one(venv: _Venv, wanted: Wanted, tree: cache.Tree, *, linker: _Linker) -> _Destination:
    """Install one unpacked wheel with ``installer``; the destination knows what it wrote."""
    destination = _Destination(venv.scheme(wanted.name), os.fspath(venv.python), linker)
    extra = {
        "INSTALLER": _INSTALLER_NAME,
        "REQUESTED": b"",
        "direct_url.json": _direct_url(wanted.artifact),
    }
    try:
        install(_TreeSource(tree), destination, extra)
    except (InstallerError, OSError, ValueError) as exc:
        raise InstallError(f"could not install {tree.wheel}: {exc}") from exc
    return destination


def _direct_url(artifact: Artifact) -> bytes:
    """PEP 610 data for an archive, exactly as pip writes it (keys sorted, legacy hash too)."""
    sha256 = str(artifact.sha256).lower()
    info = {"hash": f"sha256={sha256}", "hashes": {"sha256": sha256}}
    return json.dumps({"archive_info": info, "url": artifact.url}, sort_keys=True).encode()


class _Linker:
    """Puts cache files into venvs: hard links while the filesystem allows them, else copies."""

    def __init__(self) -> None:
        self.linking = True

    def place(self, source: Path, target: Path) -> None:
        """Make *target* a file with *source*'s content and mode."""
        if self.linking:
            try:
                os.link(source, target)
            except OSError as exc:  # another filesystem, or one without hard links
                _LOG.debug("copying instead of hard-linking (%s)", exc)
                self.linking = False
            else:
                return
        shutil.copy(source, target)


class _LinkableStream(io.FileIO):
    """An unpacked file opened for ``installer``; the destination links its ``source`` instead."""

    def __init__(self, source: Path, member: cache.Member) -> None:
        super().__init__(source, "rb")
        self.source = source
        self.member = member


class _TreeSource(WheelSource):
    """A wheel unpacked in the cache, as a WheelSource for ``installer.install``."""

    def __init__(self, tree: cache.Tree) -> None:
        parsed = parse_wheel_filename(tree.wheel)
        super().__init__(distribution=parsed.distribution, version=parsed.version)
        self._tree = tree

    @property
    def dist_info_dir(self) -> str:
        """The dist-info folder the wheel really has (checked when it was unpacked)."""
        return self._tree.dist_info

    @property
    def dist_info_filenames(self) -> list[str]:
        """Files in the dist-info folder, relative to it."""
        prefix = f"{self._tree.dist_info}/"
        return [
            m.path.removeprefix(prefix) for m in self._tree.members if m.path.startswith(prefix)
        ]

    def read_dist_info(self, filename: str) -> str:
        """A dist-info file's text."""
        return (self._tree.root / self._tree.dist_info / filename).read_text("utf-8")

    def get_contents(self) -> Iterator[WheelContentElement]:
        """Every file, as an open stream that carries the cached file it came from."""
        for member in self._tree.members:
            record = (member.path, f"sha256={member.hash}", str(member.size))
            with _LinkableStream(self._tree.root / member.path, member) as stream:
                yield record, cast("BinaryIO", stream), member.executable


class _Destination(SchemeDictionaryDestination):
    """installer's scheme destination, linking cached files and safe to use from many threads."""

    def __init__(self, scheme: dict[str, str], interpreter: str, linker: _Linker) -> None:
        # A file already there is replaced, as pip does (write_to_fs unlinks it first).
        super().__init__(scheme_dict=scheme, interpreter=interpreter, script_kind="posix")
        self.linker = linker
        self.written: list[Path] = []
        self.record: Path | None = None

    def write_to_fs(
        self, scheme: Scheme, path: str, stream: BinaryIO, is_executable: bool
    ) -> RecordEntry:
        """Link (or write) one file; its RECORD entry hashes what is now on disk."""
        target = self._target(scheme, path)
        target.parent.mkdir(parents=True, exist_ok=True)  # exist_ok: another thread may race
        target.unlink(missing_ok=True)  # never write through a hard link into the cache
        if isinstance(stream, _LinkableStream):
            self.linker.place(stream.source, target)
            entry = RecordEntry(path, Hash("sha256", stream.member.hash), stream.member.size)
        else:
            with target.open("xb") as out:
                digest, size = copyfileobj_with_hashing(stream, out, self.hash_algorithm)
            if is_executable:  # not installer's helper: it flips the process umask, not thread-safe
                target.chmod(target.stat().st_mode | (target.stat().st_mode & 0o444) >> 2)
            entry = RecordEntry(path, Hash(self.hash_algorithm, digest), size)
        self.written.append(target)
        return entry

    def finalize_installation(
        self, scheme: Scheme, record_file_path: str, records: Iterable[tuple[Scheme, RecordEntry]]
    ) -> None:
        """Write RECORD (installer's code), remembering where it is."""
        self.record = self._target(scheme, record_file_path)
        super().finalize_installation(scheme, record_file_path, records)

    def add_to_record(self, files: Sequence[Path]) -> None:
        """Append rows without hash for *files* (bytecode), as pip records the .pyc it writes."""
        if not files or self.record is None:
            return
        lib = self.record.parent.parent
        with self.record.open("a", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerows([os.path.relpath(f, lib).replace(os.sep, "/"), "", ""] for f in files)

    def _target(self, scheme: Scheme, path: str) -> Path:
        """Where *path* of *scheme* lands; an error if that is outside the scheme's folder."""
        # os.path, as installer does: lexical (no symlinks followed) and faster than resolve().
        base = os.path.abspath(self.scheme_dict[scheme])  # noqa: PTH100
        target = os.path.abspath(os.path.join(base, path))  # noqa: PTH100, PTH118
        if not inside(base, target):
            raise ValueError(f"{path} would be written outside {base}")
        return Path(target)
