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

import configparser
import csv
import errno
import functools
import io
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast
from urllib.parse import urlsplit

from installer.destinations import SchemeDictionaryDestination
from installer.exceptions import InstallerError
from installer.records import Hash, RecordEntry
from installer.sources import WheelSource
from installer.utils import (
    SCHEME_NAMES,
    copyfileobj_with_hashing,
    parse_entrypoints,
    parse_metadata_file,
    parse_wheel_filename,
)

from envsync.errors import EnvsyncError, InstallError
from envsync.index import proxy
from envsync.index.simpleapi import default_index_url
from envsync.install import cache
from envsync.install.linking import Linker
from envsync.install.pip import Installer, PipInstaller
from envsync.report import Counter, NullReporter
from envsync.system import faults, removal
from envsync.system.process import Runner, clean_env, run
from envsync.venv import environment, safety
from envsync.venv.distinfo import inside, uninstall_dist

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from _typeshed import WriteableBuffer
    from installer.scripts import ScriptSection
    from installer.utils import Scheme

    from envsync.core.lockfile import Artifact, Wanted
    from envsync.core.spec import IndexConfig, LinkMode, NamedIndex, Source
    from envsync.index.credentials import Upstream
    from envsync.report import Reporter

__all__ = ["NativeInstaller"]

_LOG = logging.getLogger("envsync.install.native")

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
        link_mode: LinkMode = "hardlink",
        rehash_cache: bool = False,
        wheel_cache: cache.Cache | None = None,
        fallback: Installer | None = None,
        runner: Runner = run,
        reporter: Reporter | None = None,
    ) -> None:
        self._reporter = reporter or NullReporter()
        self._compile = compile_bytecode
        self._link_mode = link_mode
        # --verify: a cache entry is re-hashed before it is linked, so a repair really repairs.
        self._rehash = rehash_cache
        self._cache = wheel_cache or cache.Cache.default()
        self._fallback = fallback or PipInstaller(runner=runner)
        self._run = runner
        self._venvs: dict[Path, _Venv] = {}
        self._prepared: dict[str, cache.Tree] = {}
        # Each prepared wheel as installer's source, once: its WHEEL and entry points are
        # parsed when its files are vetted, and not again when it is installed.
        self._sources: dict[str, _TreeSource] = {}

    def prepare(
        self,
        python: Path,
        packages: Sequence[Wanted],
        *,
        index: IndexConfig,
        indexes: Sequence[NamedIndex] = (),
        sources: Sequence[Source] = (),
        direct: Sequence[str] = (),
    ) -> None:
        """Download, check and unpack every wheel into the cache; the venv is not touched."""
        del python  # the same for every venv: the cache is shared
        wheels = [p for p in packages if _is_wheel(p.artifact)]
        if wheels:
            trees = self._prepare(wheels, _lookup(index, indexes, sources, direct))
            self._prepared.update(zip((_sha(p) for p in wheels), trees, strict=True))

    def install(
        self,
        python: Path,
        packages: Sequence[Wanted],
        *,
        index: IndexConfig,
        indexes: Sequence[NamedIndex] = (),
        sources: Sequence[Source] = (),
        direct: Sequence[str] = (),
    ) -> None:
        """Fetch and unpack every wheel, let pip do the rest, then install the wheels."""
        wheels = [p for p in packages if _is_wheel(p.artifact)]
        others = [p for p in packages if not _is_wheel(p.artifact)]
        # 1. Every wheel is downloaded and verified first: a bad file changes nothing.
        if any(_sha(p) not in self._prepared for p in wheels):
            self.prepare(
                python, wheels, index=index, indexes=indexes, sources=sources, direct=direct
            )
        trees = [self._prepared[_sha(p)] for p in wheels]
        # 2. pip checks and builds everything it gets before installing any of it.
        if others:
            self._fallback.install(
                python, others, index=index, indexes=indexes, sources=sources, direct=direct
            )
        # 3. Only now is the venv changed.
        if wheels:
            self._install(self._venv(python), list(zip(wheels, trees, strict=True)))

    def writes(self, python: Path, packages: Sequence[Wanted]) -> list[str]:
        """Every path ``install`` will write for the prepared wheels (pip's part is unknown).

        Refuses, before the venv changes, a wheel that would write the venv's own files (its
        interpreter, activation scripts, pyvenv.cfg, envsync's journal) or outside the venv.
        """
        venv = self._venv(python)
        linker = Linker(removal.Owned.venv(venv.root))
        paths: list[str] = []
        for package in packages:
            if _is_wheel(package.artifact) and _sha(package) in self._prepared:
                paths += _vetted(venv, package, self._source(package), linker)
        return paths

    def _source(self, package: Wanted) -> _TreeSource:
        """The prepared wheel of *package* as installer's source (made once)."""
        sha = _sha(package)
        if sha not in self._sources:
            self._sources[sha] = _TreeSource(self._prepared[sha])
        return self._sources[sha]

    def _prepare(self, wheels: Sequence[Wanted], lookup: cache.UpstreamLookup) -> list[cache.Tree]:
        """Each wheel unpacked in the cache: downloaded, checked and unpacked where it is not.

        A wheel already unpacked, every file as its manifest recorded, needs no download and
        no re-hash: the unpacked files, not the archive, are what get installed.
        """
        hashes = [str(p.artifact.sha256).lower() for p in wheels]
        # lstat calls (or, with --verify, reads): threads would slow them
        trees = [self._cache.tree(sha256, rehash=self._rehash) for sha256 in hashes]
        missing = [i for i, tree in enumerate(trees) if tree is None]
        if not missing:
            return cast("list[cache.Tree]", trees)
        counter = Counter(self._reporter, "fetching", len(missing))
        fetched = self._cache.fetch_and_unpack(
            [wheels[i].artifact for i in missing], lookup, counter.tick
        )
        for i, tree in zip(missing, fetched, strict=True):
            trees[i] = tree
        return cast("list[cache.Tree]", trees)

    def _install(self, venv: _Venv, pairs: Sequence[tuple[Wanted, cache.Tree]]) -> None:
        """Take out the versions being replaced, then install, one wheel after the other.

        Not in threads: linking is a system call of microseconds per file, and threads
        contending for the GIL made it twice as slow (measured, on tmpfs and on ext4).
        """
        # All removals come first: a file that moved from one dist to another between their
        # versions must not be deleted by the old owner after the new one wrote it.
        for wanted, _ in pairs:
            uninstall_dist(venv.libs(), wanted.name, venv=venv.root)
        linker = Linker(removal.Owned.venv(venv.root), self._link_mode)
        counter = Counter(self._reporter, "installing", len(pairs))

        def install(pair: tuple[Wanted, cache.Tree]) -> _Destination:
            written = _install_one(venv, pair[0], self._source(pair[0]), linker=linker)
            counter.tick()
            faults.reached("installed")
            return written

        done = [install(pair) for pair in pairs]
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
        """Compile every installed module in the venv's Python; record the .pyc files.

        One process per CPU, each given an equal share of the files: compiling is CPU-bound,
        and one process per file would cost more in start-up than the compiling.
        """
        libs = [os.fspath(lib) for lib in venv.libs()]
        owners = {
            path: dest
            for dest in done
            for path in dest.written
            if path.endswith(".py") and any(inside(lib, path) for lib in libs)
        }
        if not owners:
            return
        shares = _shares(sorted(owners), os.cpu_count() or 1)
        with removal.temporary_folder("envsync-compile-") as folder:
            compiled = cache.parallel(
                lambda share: self._compile_share(venv, Path(folder), *share), enumerate(shares)
            )
        written: dict[int, list[str]] = {}
        for share, pycs in zip(shares, compiled, strict=True):
            for source, pyc in zip(share, pycs, strict=True):
                if pyc:  # None: it did not compile (pip skips those too)
                    written.setdefault(id(owners[source]), []).append(pyc)
        for dest in done:
            dest.add_to_record(written.get(id(dest), []))

    def _compile_share(
        self, venv: _Venv, folder: Path, number: int, sources: Sequence[str]
    ) -> list[str | None]:
        listing = folder / f"files-{number}.json"
        listing.write_text(json.dumps(list(sources)), "utf-8")
        argv = [os.fspath(venv.python), "-I", "-c", _COMPILE, os.fspath(listing)]
        proc = self._run(argv, error=_compile_failed, env=clean_env())
        return cast("list[str | None]", json.loads(proc.stdout))


def _shares(items: Sequence[str], count: int) -> list[Sequence[str]]:
    """*items* dealt round-robin into at most *count* non-empty shares."""
    return [share for share in (items[start::count] for start in range(count)) if share]


# -- what to install, and from where -------------------------------------------------------


def _sha(package: Wanted) -> str:
    return str(package.artifact.sha256).lower()


def _is_wheel(artifact: Artifact) -> bool:
    """A hashed wheel file (from an index, find-links or a direct URL): ours to install."""
    return artifact.is_wheel() and bool(artifact.sha256)


def _lookup(
    index: IndexConfig,
    indexes: Sequence[NamedIndex],
    sources: Sequence[Source],
    direct: Sequence[str],
) -> cache.UpstreamLookup:
    """The index (or find-links page, or direct URL) each file URL belongs to, for its login.

    As pip would be given them; a file on a host with several logins gets the first one's.
    """
    default = index.url or default_index_url()  # pip's default is only looked up when needed
    found = proxy.routes(index, indexes, sources, default_url=default, direct=direct)
    upstreams = found.logins()

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


def _vetted(venv: _Venv, wanted: Wanted, source: _TreeSource, linker: Linker) -> list[str]:
    """Where each file of *tree* will land, checked to be the wheel's to write.

    Files of the root scheme go below site-packages (their paths were checked safe when the
    wheel was unpacked): only scripts and ``.data`` files can reach the venv's own files,
    in its root, its scripts folder or envsync's journal, so only those are checked.
    """
    tree = source.tree
    root_scheme = source.root_scheme
    destination = _Destination(venv.scheme(wanted.name), os.fspath(venv.python), linker)
    base = destination.base(root_scheme)
    data_prefix = f"{source.data_dir}/"
    landing = []
    special = [(_SCRIPTS, name) for name, *_ in source.scripts]
    for member in tree.members:
        if member.path.startswith(data_prefix):
            special.append(_data_scheme(source, member.path.removeprefix(data_prefix)))
        elif "__pycache__" not in member.path.split("/")[:-1]:
            landing.append(f"{base}{os.sep}{member.path}")
    extra = _extra_files(wanted.artifact)
    landing += [f"{base}{os.sep}{source.dist_info_dir}/{name}" for name in extra]
    landing += [_checked(venv, destination, tree.wheel, *item) for item in special]
    return landing


def _checked(venv: _Venv, destination: _Destination, wheel: str, scheme: Scheme, path: str) -> str:
    """Where a script or ``.data`` file lands; refused on the venv's own files or outside it."""
    root = os.fspath(venv.root)
    try:
        target = destination.target(scheme, path)
    except ValueError as exc:
        raise _hostile(wheel, str(exc)) from exc
    if not target.startswith(root + os.sep):
        raise _hostile(wheel, f"{path} would be written outside the venv {root}")
    relative = os.path.relpath(target, root).replace(os.sep, "/")
    if safety.is_layout(relative):
        raise _hostile(wheel, f"it would overwrite the venv's own {relative}")
    return target


def _extra_files(artifact: Artifact) -> dict[str, bytes]:
    """The files envsync adds to each dist-info, as pip does, with their contents."""
    return {
        "INSTALLER": _INSTALLER_NAME,
        "REQUESTED": b"",
        "direct_url.json": _direct_url(artifact),
    }


def _entry_points(source: WheelSource, wheel: str) -> list[tuple[str, str, str, ScriptSection]]:
    """The console and GUI scripts the wheel declares; an unreadable file is an error."""
    if "entry_points.txt" not in source.dist_info_filenames:
        return []
    try:
        return list(parse_entrypoints(source.read_dist_info("entry_points.txt")))
    except (configparser.Error, ValueError, UnicodeDecodeError) as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        why = f"its entry_points.txt cannot be read ({problem})"
        raise _hostile(wheel, why) from exc


def _hostile(wheel: str, why: str) -> InstallError:
    return InstallError(
        f"refusing to install {wheel}: {why}",
        hint="nothing was changed; do not install this wheel (report it to its authors)",
    )


def _compile_failed(output: str) -> EnvsyncError:
    return InstallError(f"could not compile the installed modules to bytecode:\n{output}")


# -- installing one wheel -------------------------------------------------------------------


def _install_one(
    venv: _Venv, wanted: Wanted, source: _TreeSource, *, linker: Linker
) -> _Destination:
    """Install one unpacked wheel; the destination knows what it wrote."""
    destination = _Destination(venv.scheme(wanted.name), os.fspath(venv.python), linker)
    try:
        _place(source, destination, _extra_files(wanted.artifact))
    except OSError as exc:
        if exc.errno in _DISK_FULL:
            raise _disk_full(venv.root, source.tree.wheel) from exc
        raise InstallError(f"could not install {source.tree.wheel}: {exc}") from exc
    except (InstallerError, ValueError) as exc:
        raise InstallError(f"could not install {source.tree.wheel}: {exc}") from exc
    return destination


_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def _disk_full(venv: Path, wheel: str) -> InstallError:
    free = shutil.disk_usage(venv).free if venv.exists() else 0
    return InstallError(
        f"no space left on the disk holding {venv} while installing {wheel} "
        f"({free // (1 << 20)} MiB free)",
        hint="free some space on that disk (or move the venv to another one) and run "
        "`envsync apply` again",
    )


def _place(source: _TreeSource, destination: _Destination, extra: dict[str, bytes]) -> None:
    """``installer.install()``'s rules, with envsync's loop over the files.

    The rules are installer's: the root scheme from WHEEL, ``.data/<scheme>/`` folders,
    ``__pycache__`` skipped, console scripts from entry points, shebangs rewritten, RECORD
    written last, and its helpers do the parts that need care (scripts, shebangs, RECORD).
    The loop is envsync's because it runs once per file: a file of the root scheme, nearly
    every file, is one hard link with its RECORD row from the cache's manifest, where
    installer's general loop costs several times that.
    """
    root_scheme = source.root_scheme
    records: list[tuple[Scheme, RecordEntry]] = []
    for name, module, attr, section in source.scripts:
        record = destination.write_script(name=name, module=module, attr=attr, section=section)
        records.append((_SCRIPTS, record))
    record_path = f"{source.dist_info_dir}/RECORD"
    data_prefix = f"{source.data_dir}/"
    root = os.fspath(source.tree.root)
    for member in source.tree.members:
        path = member.path
        if path == record_path:
            continue
        if "__pycache__" in path.split("/")[:-1]:
            _LOG.warning("not installing %s from %s: bytecode in a wheel", path, source.tree.wheel)
            continue
        if not path.startswith(data_prefix):
            cached = os.path.join(root, path)  # noqa: PTH118
            records.append((root_scheme, destination.link(root_scheme, path, cached, member)))
            continue
        scheme, inner = _data_scheme(source, path.removeprefix(data_prefix))
        with _LinkableStream(os.path.join(root, path), member) as stream:  # noqa: PTH118
            written = destination.write_file(
                scheme, inner, cast("BinaryIO", stream), member.executable
            )
        records.append((scheme, written))
    for filename, contents in extra.items():
        with io.BytesIO(contents) as stream:
            path = f"{source.dist_info_dir}/{filename}"
            written = destination.write_file(root_scheme, path, stream, is_executable=False)
            records.append((root_scheme, written))
    records.append((root_scheme, RecordEntry(record_path, None, None)))
    destination.finalize_installation(root_scheme, record_path, records)


_SCRIPTS = cast("Scheme", "scripts")


def _root_scheme(source: WheelSource, wheel: str) -> Scheme:
    """The scheme of the wheel's root, purelib or platlib, from WHEEL (a 1.x wheel only)."""
    metadata = parse_metadata_file(source.read_dist_info("WHEEL"))
    version = metadata["Wheel-Version"]
    if not (version and version.startswith("1.")):
        why = f"its Wheel-Version is {version}, and only 1.x wheels are supported"
        raise _hostile(wheel, why)
    return cast("Scheme", "purelib" if metadata["Root-Is-Purelib"] == "true" else "platlib")


def _data_scheme(source: _TreeSource, inside_data: str) -> tuple[Scheme, str]:
    """``("scripts", "tool")`` from ``scripts/tool`` under the wheel's .data folder."""
    scheme, _, rest = inside_data.partition("/")
    if scheme not in SCHEME_NAMES or not rest:
        folders = ", ".join(SCHEME_NAMES)
        why = f"{source.data_dir}/{inside_data} is not in a .data subfolder ({folders})"
        raise _hostile(source.tree.wheel, why)
    return cast("Scheme", scheme), rest


def _direct_url(artifact: Artifact) -> bytes:
    """PEP 610 data for an archive, exactly as pip writes it (keys sorted, legacy hash too)."""
    sha256 = str(artifact.sha256).lower()
    info = {"hash": f"sha256={sha256}", "hashes": {"sha256": sha256}}
    return json.dumps({"archive_info": info, "url": artifact.url}, sort_keys=True).encode()


class _LinkableStream(io.RawIOBase):
    """An unpacked file for ``installer``; the destination links its ``source`` instead.

    The file is opened only if something reads it (a script's shebang): most are linked
    unread, and an open per file would cost as much as the link.
    """

    def __init__(self, source: str, member: cache.Member) -> None:
        super().__init__()
        self.source = source
        self.member = member
        self._file: io.FileIO | None = None

    def _opened(self) -> io.FileIO:
        if self._file is None:
            self._file = io.FileIO(self.source, "rb")
        return self._file

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int | None:
        return self._opened().readinto(buffer)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._opened().seek(offset, whence)

    def tell(self) -> int:
        return self._opened().tell()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        super().close()


class _TreeSource(WheelSource):
    """A wheel unpacked in the cache, as a WheelSource for ``installer.install``."""

    def __init__(self, tree: cache.Tree) -> None:
        parsed = parse_wheel_filename(tree.wheel)
        super().__init__(distribution=parsed.distribution, version=parsed.version)
        self.tree = tree

    @functools.cached_property
    def root_scheme(self) -> Scheme:
        """Purelib or platlib, from WHEEL."""
        return _root_scheme(self, self.tree.wheel)

    @functools.cached_property
    def scripts(self) -> list[tuple[str, str, str, ScriptSection]]:
        """The console and GUI scripts of entry_points.txt."""
        return _entry_points(self, self.tree.wheel)

    @property
    def dist_info_dir(self) -> str:
        """The dist-info folder the wheel really has (checked when it was unpacked)."""
        return self.tree.dist_info

    @property
    def dist_info_filenames(self) -> list[str]:
        """Files in the dist-info folder, relative to it."""
        prefix = f"{self.tree.dist_info}/"
        return [m.path.removeprefix(prefix) for m in self.tree.members if m.path.startswith(prefix)]

    def read_dist_info(self, filename: str) -> str:
        """A dist-info file's text."""
        return (self.tree.root / self.tree.dist_info / filename).read_text("utf-8")


class _Destination(SchemeDictionaryDestination):
    """installer's scheme destination, linking cached files and safe to use from many threads."""

    def __init__(self, scheme: dict[str, str], interpreter: str, linker: Linker) -> None:
        # A file already there is replaced, as pip does (write_to_fs unlinks it first).
        super().__init__(scheme_dict=scheme, interpreter=interpreter, script_kind="posix")
        self.linker = linker
        self.written: list[str] = []
        self.record: Path | None = None
        self._bases: dict[str, str] = {}

    def write_to_fs(
        self, scheme: Scheme, path: str, stream: BinaryIO, is_executable: bool
    ) -> RecordEntry:
        """Link (or write) one file; its RECORD entry hashes what is now on disk."""
        if isinstance(stream, _LinkableStream):
            return self.link(scheme, path, stream.source, stream.member)
        target = self.target(scheme, path)
        self.linker.folder_for(target)
        entry = self._write(path, target, stream, is_executable=is_executable)
        self.written.append(target)
        return entry

    def link(self, scheme: Scheme, path: str, source: str, member: cache.Member) -> RecordEntry:
        """Link the cached file *source* to *path* in *scheme*; its RECORD row."""
        target = self.target(scheme, path)
        self.linker.folder_for(target)
        faults.reached("linking")
        self.linker.place(source, target)
        self.written.append(target)
        return RecordEntry(path, Hash("sha256", member.hash), member.size)

    def _write(
        self, path: str, target: str, stream: BinaryIO, *, is_executable: bool
    ) -> RecordEntry:
        """Write a generated file (a script, INSTALLER, ...): never through an old hard link."""
        try:
            out = open(target, "xb")  # noqa: PTH123, SIM115 - closed by the with below
        except FileExistsError:  # an old file: removed first, never written through a link
            removal.delete(target, within=self.linker.owned)
            out = open(target, "xb")  # noqa: PTH123, SIM115
        with out:
            digest, size = copyfileobj_with_hashing(stream, out, self.hash_algorithm)
        if is_executable:  # not installer's helper: it flips the process umask, not thread-safe
            mode = os.stat(target).st_mode  # noqa: PTH116
            os.chmod(target, mode | (mode & 0o444) >> 2)  # noqa: PTH101
        return RecordEntry(path, Hash(self.hash_algorithm, digest), size)

    def finalize_installation(
        self, scheme: Scheme, record_file_path: str, records: Iterable[tuple[Scheme, RecordEntry]]
    ) -> None:
        """Write RECORD (installer's code), remembering where it is."""
        self.record = Path(self.target(scheme, record_file_path))
        super().finalize_installation(scheme, record_file_path, records)

    def add_to_record(self, files: Sequence[str]) -> None:
        """Append rows without hash for *files* (bytecode), as pip records the .pyc it writes."""
        if not files or self.record is None:
            return
        lib = self.record.parent.parent
        with self.record.open("a", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerows([os.path.relpath(f, lib).replace(os.sep, "/"), "", ""] for f in files)

    def base(self, scheme: Scheme) -> str:
        """The folder of *scheme*, absolute."""
        base = self._bases.get(scheme)
        if base is None:
            base = self._bases[scheme] = os.path.abspath(self.scheme_dict[scheme])  # noqa: PTH100
        return base

    def target(self, scheme: Scheme, path: str) -> str:
        """Where *path* of *scheme* lands; an error if that is outside the scheme's folder."""
        # Strings and os.path, as installer does: lexical (no symlinks followed), and this
        # runs once per file, where pathlib's parsing would cost more than the link itself.
        base = self.base(scheme)
        target = os.path.normpath(os.path.join(base, path))  # noqa: PTH118
        if not target.startswith(base + os.sep):
            raise ValueError(f"{path} would be written outside {base}")
        return target
