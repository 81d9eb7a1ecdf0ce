"""The native installer: wheels from the shared cache, placed with pypa's installer. VENV.

pypa's ``installer`` library decides where every file goes and writes RECORD, console scripts
bound to the venv's interpreter, ``.data`` folders and shebangs (see wheelplace for the loop
and what envsync changes in it). envsync adds what a fast, exact sync needs around it:

* every wheel is downloaded and checked against the lock's sha256 before the venv is touched;
* files are hard-linked from the wheel unpacked once in the cache (copied where the cache is on
  another filesystem), with RECORD hashes from the cache's manifest, so nothing is re-read;
* INSTALLER, REQUESTED and direct_url.json (PEP 610, the url and sha256, byte for byte as pip
  writes them) go into the dist-info, because the planner compares direct_url hashes;
* no bytecode unless asked (``compile_bytecode``, see bytecode).

A locked git commit is built into a wheel once, by pip, and kept in the cache (see vcs); it is
then placed like any wheel. sdists, archives that are not wheels and local folders need
building too, and go to the pip backend, in one call, before any wheel is installed. Like
every backend, it only adds: the versions being replaced are already out of the venv (the
transaction moved them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

from envsync.install import cache
from envsync.install.linking import Linker
from envsync.install.protocol import routes
from envsync.install.vcs import VcsWheels
from envsync.install.wheelplace import install_one, landing
from envsync.install.wheelsource import TreeSource
from envsync.report import Counter, NullReporter
from envsync.system import faults, removal
from envsync.system.hashing import hash_file
from envsync.system.process import Runner, run

if TYPE_CHECKING:
    from collections.abc import Sequence

    from typing_extensions import Unpack

    from envsync.core.lockfile import Artifact, Wanted
    from envsync.core.spec import LinkMode
    from envsync.index.connections import Connections
    from envsync.index.credentials import Upstream
    from envsync.install.destination import Destination
    from envsync.install.download import UpstreamLookup
    from envsync.install.protocol import Installer, Origins
    from envsync.install.unpack import Tree
    from envsync.report import Reporter
    from envsync.venv.environment import VenvInfo

__all__ = ["NativeInstaller"]


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
        self._fallback = fallback
        self._vcs = VcsWheels(self._cache, runner=runner)
        self._run = runner
        self._prepared: dict[str, Tree] = {}
        # Each prepared wheel as installer's source, once: its WHEEL and entry points are
        # parsed when its files are vetted, and not again when it is installed.
        self._sources: dict[str, TreeSource] = {}

    def prepare(self, venv: VenvInfo, packages: Sequence[Wanted], **where: Unpack[Origins]) -> None:
        """Download, check and unpack every wheel into the cache; the venv is not touched."""
        wheels = [p for p in packages if _is_wheel(p.artifact)]
        if wheels:
            trees = self._prepare(wheels, _lookup(where), routes(where).connections)
            self._prepared.update(zip((_key(p) for p in wheels), trees, strict=True))
        commits = [p for p in packages if p.artifact.kind == "vcs"]
        if commits:
            self._prepare_commits(venv, commits, where)

    def _prepare_commits(self, venv: VenvInfo, commits: Sequence[Wanted], where: Origins) -> None:
        """Each git commit's wheel (built once, see install.vcs) unpacked in the cache."""
        from envsync.index import pipaccess  # noqa: PLC0415 - only for git commits

        with pipaccess.pip_access(routes(where), where["index"].find_links) as access:
            for package in commits:
                wheel = self._vcs.wheel(venv, package, access)
                self._prepared[_key(package)] = self._cache.unpacked(wheel, hash_file(wheel))

    def install(self, venv: VenvInfo, packages: Sequence[Wanted], **where: Unpack[Origins]) -> None:
        """Fetch and unpack every wheel, let pip do the rest, then install the wheels."""
        wheels = [p for p in packages if _ours(p.artifact)]
        others = [p for p in packages if not _ours(p.artifact)]
        # 1. Every wheel is downloaded and verified (or built) first: a bad file changes nothing.
        if any(_key(p) not in self._prepared for p in wheels):
            self.prepare(venv, wheels, **where)
        # 2. pip checks and builds everything it gets before installing any of it.
        if others:
            self._pip().install(venv, others, **where)
        # 3. Only now is the venv changed.
        if wheels:
            self._install(venv, wheels)

    def _pip(self) -> Installer:
        """The installer of what needs building: pip's, unless another was given."""
        if self._fallback is None:
            # Imported here: only a batch with an sdist, an archive or a folder needs it.
            from envsync.install.pip import PipInstaller  # noqa: PLC0415

            self._fallback = PipInstaller(runner=self._run)
        return self._fallback

    def writes(self, venv: VenvInfo, packages: Sequence[Wanted]) -> list[str]:
        """Every path ``install`` will write for the prepared wheels (pip's part is unknown).

        Refuses, before the venv changes, a wheel that would write the venv's own files (its
        interpreter, activation scripts, pyvenv.cfg, envsync's journal) or outside the venv.
        """
        linker = Linker(_owned(venv))
        paths: list[str] = []
        for package in packages:
            if _ours(package.artifact) and _key(package) in self._prepared:
                paths += landing(venv, package, self._source(package), linker)
        return paths

    def _source(self, package: Wanted) -> TreeSource:
        """The prepared wheel of *package* as installer's source (made once)."""
        sha = _key(package)
        if sha not in self._sources:
            self._sources[sha] = TreeSource(self._prepared[sha])
        return self._sources[sha]

    def _prepare(
        self, wheels: Sequence[Wanted], lookup: UpstreamLookup, connections: Connections | None
    ) -> list[Tree]:
        """Each wheel unpacked in the cache: downloaded, checked and unpacked where it is not.

        A wheel already unpacked, every file as its manifest recorded, needs no download and
        no re-hash: the unpacked files, not the archive, are what get installed.
        """
        hashes = [str(p.artifact.sha256).lower() for p in wheels]
        # lstat calls (or, with --verify, reads): threads would slow them
        trees = [self._cache.tree(sha256, rehash=self._rehash) for sha256 in hashes]
        missing = [i for i, tree in enumerate(trees) if tree is None]
        if not missing:
            return cast("list[Tree]", trees)
        counter = Counter(self._reporter, "fetching", len(missing))
        fetched = self._cache.fetch_and_unpack(
            [wheels[i].artifact for i in missing], lookup, counter.tick, connections
        )
        for i, tree in zip(missing, fetched, strict=True):
            trees[i] = tree
        return cast("list[Tree]", trees)

    def _install(self, venv: VenvInfo, wheels: Sequence[Wanted]) -> None:
        """Install the prepared wheels, one after the other, then compile them if asked.

        Not in threads: linking is a system call of microseconds per file, and threads
        contending for the GIL made it twice as slow (measured, on tmpfs and on ext4).
        """
        linker = Linker(_owned(venv), self._link_mode)
        counter = Counter(self._reporter, "installing", len(wheels))

        def install(wanted: Wanted) -> Destination:
            written = install_one(venv, wanted, self._source(wanted), linker)
            counter.tick()
            faults.reached("installed")
            return written

        done = [install(wanted) for wanted in wheels]
        if self._compile:
            from envsync.install.bytecode import compile_installed  # noqa: PLC0415 - if asked

            compile_installed(venv, done, self._run)


def _owned(venv: VenvInfo) -> removal.Owned:
    """The venv as its interpreter names it (its scheme's data folder), as the targets are."""
    return removal.Owned.venv(venv.data)


def _key(package: Wanted) -> str:
    """What a prepared wheel is known by: its sha256, or a git checkout's commit."""
    vcs = package.artifact.vcs
    if vcs is not None:
        return f"vcs:{vcs.commit_id}:{vcs.subdirectory or ''}"
    return str(package.artifact.sha256).lower()


def _ours(artifact: Artifact) -> bool:
    """What the native installer places itself: hashed wheels, and git commits' wheels."""
    return _is_wheel(artifact) or artifact.kind == "vcs"


def _is_wheel(artifact: Artifact) -> bool:
    """A hashed wheel file (from an index, find-links or a direct URL): ours to install."""
    return artifact.is_wheel() and bool(artifact.sha256)


def _lookup(where: Origins) -> UpstreamLookup:
    """The index (or find-links page, or direct URL) each file URL belongs to, for its login.

    As pip would be given them; a file on a host with several logins gets the first one's.
    """
    upstreams = routes(where).logins()

    def find(url: str) -> Upstream | None:
        netloc = urlsplit(url).netloc
        same = [u for u in upstreams if urlsplit(u.url).netloc == netloc]
        return next((u for u in same if u.login), same[0] if same else None)

    return find
