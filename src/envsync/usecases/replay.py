"""A missing venv made again from the one the same inputs last made: the replay use case.

What an apply installs into a new venv is a pure function of env.toml's bytes, pylock.toml's
bytes, the options that choose groups and the interpreter. After a full apply that created
the venv, ``keeping`` keeps that venv in the cache as a replica (hard links and a manifest,
``venv.replica``; the links made by a helper process while the apply goes on, the manifest
by ``Keeping.finish``) under a key of exactly those inputs, and the venv's path. A later apply
with the same key and no venv at that path (a fresh CI checkout, a deleted venv) is answered
by ``created``: the kept files are checked against the manifest and linked into a new folder
in the cache's tmp/, which is renamed into place. No TOML is parsed, nothing is resolved,
probed or fetched, and neither packaging nor the installer is imported.

Only a venv that cannot differ from what the full path would make is kept: one the running
Python created (the full path prefers it whenever it fits, so it would choose it again), of
hard links (``link-mode`` copy and clone promise each venv its own files), with no local
sources (their files change without env.toml changing). Any doubt (no replica, a manifest
or kept file that changed, another interpreter, the venv's lock held, an error on the way)
means None, and the full path runs; a replica found changed is deleted so the full path
keeps a new one.

Only the standard library is imported here: this runs before the rest of envsync is loaded.
"""

# ruff: noqa: PTH100, PTH103, PTH112, PTH113, PTH116, PTH118, PTH120, PTH123, PTH208
# os.path and os, not pathlib: this runs on the start-up path.
from __future__ import annotations

import hashlib
import os
import sys

from envsync import __version__
from envsync.core.names import LOCK_NAME, STATE_NAME, TXN_FOLDER
from envsync.system import faults, removal
from envsync.system.cachedir import cache_root
from envsync.usecases import nochange
from envsync.venv import probecache, replica, replicacapture
from envsync.venv.lockname import held

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (5 ms): start-up path

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

__all__ = ["KEEP", "Keeping", "created", "folder_of", "forget_all", "keeping"]

#: The replicas kept; the oldest go when a new one is kept.
KEEP = 4
_FOLDER = "replay"
_FORMAT = 1
_SETTINGS, _FAULTS = "ENVSYNC_", "ENVSYNC_FAULT"
#: What a replica leaves out of the venv's top: its state, and an apply's open journal.
_SKIP = frozenset({STATE_NAME, TXN_FOLDER})


def created(
    spec: str, options: Mapping[str, Sequence[str]], *, color: bool
) -> tuple[str, list[str]] | None:
    """Make the missing venv of *spec* from its replica: (stdout, stderr lines), else None."""
    found = _usable(spec, options)
    if found is None:
        return None
    folder, kept = found
    meta, venv = kept.meta, kept.venv
    with held(venv) as free:
        if not free or os.path.lexists(venv) or not _restored(kept, folder, venv):
            return None
        faults.reached("replay-published")
        libs = _strings(meta.get("site_packages"))
        nochange.record(
            spec=spec,
            venv=venv,
            site_packages=libs,
            local_files=[],
            options=options,
            groups=_groups(meta.get("groups")),
            default=True,
        )
        from envsync.usecases import quickremove  # noqa: PLC0415 - only after a replay

        quickremove.rekey(spec, venv, options, libs)  # a removal next need not take the full path
    out = meta.get("stdout_color" if color else "stdout")
    return (str(out), _strings(meta.get("stderr")))


def _usable(spec: str, options: Mapping[str, Sequence[str]]) -> tuple[str, replica.Replica] | None:
    """The replica for these inputs, when its venv is missing and its interpreter unchanged."""
    if not nochange.enabled():
        return None
    try:
        folder = folder_of(spec, options)
        kept = replica.load(folder)
    except replica.Stale:
        _discard(folder)
        return None
    except OSError:
        return None
    venv = kept.venv
    if os.path.lexists(venv) or not os.path.isdir(os.path.dirname(venv)):
        return None
    # The interpreter the venv links to, replaced or removed: the full path decides.
    same = probecache.identity(str(kept.meta.get("base"))) == kept.meta.get("identity")
    return (folder, kept) if same else None


def keeping(venv: str) -> Keeping | None:
    """Start keeping the venv a full apply created, for ``created`` (see ``Keeping``).

    Called once the venv holds all it will (its packages installed), while the apply goes
    on; None when it cannot be kept.
    """
    if not nochange.enabled() or not _made_by_this_python(venv):
        return None
    try:
        root = os.path.join(cache_root(), _FOLDER)
        os.makedirs(root, exist_ok=True)
        made = removal.make_folder(os.path.join(root, f"new.tmp-{os.getpid()}-{_token()}"))
    except OSError:
        return None
    try:
        walking = replicacapture.Background.start(venv, made.root, skip=_SKIP)
    except (OSError, replica.Stale):
        _delete_quietly(made)
        return None
    except BaseException:
        _delete_quietly(made)
        raise
    return Keeping(made, walking)


class Keeping:
    """A venv this run made, kept as a replica: its files linked by a helper process.

    The walk and the links run beside the apply's last steps; ``finish`` waits for them and
    writes the manifest with what the apply printed, under the key of its inputs as they
    are then (a relock during the apply changed pylock.toml). The caller calls ``finish``
    or ``abandon``, once; any failure of its own leaves no replica, never a failed run.
    """

    __slots__ = ("_made", "_walking")

    def __init__(self, made: removal.Owned, walking: replicacapture.Background) -> None:
        self._made = made
        self._walking = walking

    def finish(
        self,
        *,
        spec: str,
        options: Mapping[str, Sequence[str]],
        site_packages: Iterable[str],
        groups: Mapping[str, Sequence[str]],
        texts: Mapping[str, object],
    ) -> None:
        """Keep it for a later apply of *spec* with *options*; never fails the run.

        *texts* are what this apply's output would be: ``stdout``, ``stdout_color`` and the
        ``stderr`` lines that stand for its progress.
        """
        try:
            meta: dict[str, object] = {
                **texts,
                "site_packages": sorted(set(site_packages)),
                "groups": {k: list(v) for k, v in groups.items()},
                "base": _base(),
                "identity": probecache.identity(_base()),
            }
            replicacapture.write(self._made.root, self._walking.result(), meta)
            folder = folder_of(spec, options)
            cache = removal.Owned(cache_root(), "cache")
            removal.delete(folder, within=cache)  # a replica of the same key, now replaced
            removal.publish_folder(self._made, folder)
        except (OSError, replica.Stale):
            self.abandon()  # without a replica the next fresh apply takes the full path
            return
        except BaseException:
            self.abandon()
            raise
        try:
            _trim(os.path.dirname(folder), cache)
        except OSError:
            return

    def abandon(self) -> None:
        """Stop the helper and delete what it made: nothing of this replica stays."""
        self._walking.stop()
        _delete_quietly(self._made)


def _delete_quietly(made: removal.Owned) -> None:
    """Delete a replica's folder that will not be kept (it may already be gone)."""
    try:
        removal.delete_tree(made)
    except OSError:
        return


def _token() -> str:
    return os.urandom(4).hex()


def folder_of(spec: str, options: Mapping[str, Sequence[str]]) -> str:
    """Where the replica for *spec*'s inputs now, with *options*, is (or would be) kept."""
    digest = hashlib.sha256(f"{_FORMAT}\0{__version__}\0{sys.version}\0".encode())
    digest.update(f"{os.path.realpath(sys.executable)}\0{sorted(options.items())!r}".encode())
    # envsync's own settings (an index from the environment, say), but not a test's faults.
    settings = [(k, v) for k, v in os.environ.items() if k.startswith(_SETTINGS)]
    digest.update(repr(sorted(s for s in settings if not s[0].startswith(_FAULTS))).encode())
    spec = os.path.abspath(spec)
    for path in (spec, os.path.join(os.path.dirname(spec), LOCK_NAME)):
        with open(path, "rb") as fh:
            data = fh.read()
        digest.update(f"\0{path}\0{len(data)}\0".encode())
        digest.update(data)
    return os.path.join(cache_root(), _FOLDER, digest.hexdigest()[:32])


def _restored(kept: replica.Replica, folder: str, venv: str) -> bool:
    """Fill a new folder from the replica and rename it into place as *venv*.

    The folder is made in the cache's tmp/ (the links need the cache's filesystem anyway),
    so a run killed on the way leaves nothing beside the venv: ``cache prune`` sweeps it.
    """
    tmp = os.path.join(cache_root(), "tmp")
    os.makedirs(tmp, exist_ok=True)
    made = removal.make_folder(os.path.join(tmp, f"replay-{os.getpid()}-{os.urandom(4).hex()}"))
    try:
        replica.restore(kept, folder, made.root, workers=min(4, os.cpu_count() or 1))
        faults.reached("replay-linked")
        removal.publish_folder(made, venv)
    except replica.Stale:
        removal.delete_tree(made)
        _discard(folder)
        return False
    except OSError:
        removal.delete_tree(made)
        return False
    except BaseException:  # an interruption: nothing of this run stays
        removal.delete_tree(made)
        raise
    return True


def forget_all() -> None:
    """Delete every replica: a check found changed files the stat of a kept file may hide.

    ``apply --verify`` and ``cache verify --fix`` unpack or fetch a damaged entry again, as
    new files; a replica still links the old ones, whose size and mtime may have been put
    back. The next fresh apply of each project keeps a new one.
    """
    root = os.path.join(cache_root(), _FOLDER)
    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        _discard(os.path.join(root, name))


def _discard(folder: str) -> None:
    """Delete a replica found stale, so that the full path keeps a new one."""
    try:
        removal.delete(folder, within=removal.Owned(cache_root(), "cache"))
    except OSError:
        return


def _trim(root: str, cache: removal.Owned) -> None:
    """Keep only the KEEP newest replicas (their manifests' mtimes say which)."""
    found = []
    for name in os.listdir(root):
        manifest = os.path.join(root, name, replica.MANIFEST)
        if ".tmp-" not in name and os.path.isfile(manifest):
            found.append((os.stat(manifest).st_mtime_ns, name))
    for _, name in sorted(found, reverse=True)[KEEP:]:
        removal.delete(os.path.join(root, name), within=cache)


def _base() -> str:
    """The interpreter behind the running one (a venv's Python links to it)."""
    return os.path.realpath(getattr(sys, "_base_executable", sys.executable))


def _made_by_this_python(venv: str) -> bool:
    """Whether pyvenv.cfg says the running Python's base interpreter made *venv*."""
    try:
        with open(os.path.join(venv, "pyvenv.cfg"), encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return False
    values = {key.strip(): value.strip() for key, _, value in (x.partition("=") for x in lines)}
    executable = values.get("executable", "")
    return bool(executable) and os.path.realpath(executable) == _base()


def _strings(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return []
    return value


def _groups(value: object) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        return {}
    return {str(k): _strings(v) for k, v in value.items()}
