"""Placing one unpacked wheel into a venv: pypa/installer 1.1.0's ``install()``, re-looped. VENV.

``place`` follows ``installer._core.install()`` of installer 1.1.0 (the version envsync is
tested with) rule for rule: the root scheme from WHEEL (1.x wheels only), console and GUI
scripts from entry_points.txt, ``__pycache__`` in the wheel skipped, ``.data/<scheme>/``
folders to their schemes, the extra dist-info files, RECORD written last by the destination.
What it changes, and why:

* the loop runs over the cache's manifest, not ``WheelSource.get_contents()``: a file of the
  root scheme (nearly every file) is one link with its RECORD row from the manifest, where
  installer would open, stream and hash it; the whole loop costs several times less;
* ``.data`` files still go through ``write_file`` (scripts get their shebangs rewritten), as
  streams that are opened only when read;
* a wheel that breaks a rule raises envsync's ``InstallError`` naming the wheel, not
  installer's ``InvalidWheelSource``; bytecode in a wheel is logged (envsync's one channel
  for warnings), not raised as a ``RuntimeWarning``;
* ``landing`` lists, before anything is written, where every file will go, by the same rules.

installer's own classes do the rest: ``SchemeDictionaryDestination`` (see destination) for
scripts, shebangs and RECORD, and its ``WheelSource`` for the wheel (see wheelsource).
"""

from __future__ import annotations

import errno
import io
import json
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

from installer.exceptions import InstallerError
from installer.records import RecordEntry

from envsync.errors import InstallError
from envsync.install.destination import Destination, LinkableStream
from envsync.install.wheelsource import hostile
from envsync.venv import safety

if TYPE_CHECKING:
    from installer.utils import Scheme

    from envsync.core.lockfile import Artifact, Wanted
    from envsync.core.resolved import LockedVcs
    from envsync.install.linking import Linker
    from envsync.install.wheelsource import TreeSource
    from envsync.venv.environment import VenvInfo

__all__ = ["extra_files", "install_one", "landing", "place"]

_LOG = logging.getLogger("envsync.install.wheelplace")

#: What INSTALLER says; pip writes ``pip`` the same way.
_INSTALLER_NAME = b"envsync\n"
_SCRIPTS = cast("Scheme", "scripts")
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def install_one(venv: VenvInfo, wanted: Wanted, source: TreeSource, linker: Linker) -> Destination:
    """Install one unpacked wheel; the destination knows what it wrote."""
    destination = _destination(venv, wanted, linker)
    try:
        place(source, destination, extra_files(wanted.artifact))
    except OSError as exc:
        if exc.errno in _DISK_FULL:
            raise _disk_full(venv.data, source.tree.wheel) from exc
        raise InstallError(f"could not install {source.tree.wheel}: {exc}") from exc
    except (InstallerError, ValueError) as exc:
        raise InstallError(f"could not install {source.tree.wheel}: {exc}") from exc
    return destination


def place(source: TreeSource, destination: Destination, extra: dict[str, bytes]) -> None:
    """Installer 1.1.0's ``install()`` over the cache's manifest (see the module docstring)."""
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
            cached = os.path.join(root, path)  # noqa: PTH118 - once per file: strings
            records.append((root_scheme, destination.link(root_scheme, path, cached, member)))
            continue
        scheme, inner = source.data_scheme(path.removeprefix(data_prefix))
        with LinkableStream(os.path.join(root, path), member) as stream:  # noqa: PTH118
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


def landing(venv: VenvInfo, wanted: Wanted, source: TreeSource, linker: Linker) -> list[str]:
    """Where each file of the wheel will land, checked to be the wheel's to write.

    Files of the root scheme go below site-packages (their paths were checked safe when the
    wheel was unpacked): only scripts and ``.data`` files can reach the venv's own files,
    in its root, its scripts folder or envsync's journal, so only those are checked.
    """
    destination = _destination(venv, wanted, linker)
    base = destination.base(source.root_scheme)
    data_prefix = f"{source.data_dir}/"
    landed = []
    special = [(_SCRIPTS, name) for name, *_ in source.scripts]
    for member in source.tree.members:
        if member.path.startswith(data_prefix):
            special.append(source.data_scheme(member.path.removeprefix(data_prefix)))
        elif "__pycache__" not in member.path.split("/")[:-1]:
            landed.append(f"{base}{os.sep}{member.path}")
    extra = extra_files(wanted.artifact)
    landed += [f"{base}{os.sep}{source.dist_info_dir}/{name}" for name in extra]
    landed += [_checked(venv, destination, source.tree.wheel, *item) for item in special]
    return landed


def extra_files(artifact: Artifact) -> dict[str, bytes]:
    """The files envsync adds to each dist-info, as pip does, with their contents."""
    return {
        "INSTALLER": _INSTALLER_NAME,
        "REQUESTED": b"",
        "direct_url.json": _direct_url(artifact),
    }


def _destination(venv: VenvInfo, wanted: Wanted, linker: Linker) -> Destination:
    """Installer's destination for the dist *wanted* in *venv*: headers where pip puts them."""
    version = f"python{venv.version.major}.{venv.version.minor}"
    scheme = {
        "purelib": os.fspath(venv.purelib),
        "platlib": os.fspath(venv.platlib),
        "scripts": os.fspath(venv.scripts),
        "data": os.fspath(venv.data),
        "headers": os.fspath(Path(venv.data, "include", "site", version, wanted.name)),
    }
    return Destination(scheme, os.fspath(venv.python), linker)


def _checked(
    venv: VenvInfo, destination: Destination, wheel: str, scheme: Scheme, path: str
) -> str:
    """Where a script or ``.data`` file lands; refused on the venv's own files or outside it."""
    # The venv as its interpreter names it (its scheme's data folder), as the targets are named.
    root = os.fspath(venv.data)
    try:
        target = destination.target(scheme, path)
    except ValueError as exc:
        raise hostile(wheel, str(exc)) from exc
    if not target.startswith(root + os.sep):
        raise hostile(wheel, f"{path} would be written outside the venv {root}")
    relative = os.path.relpath(target, root).replace(os.sep, "/")
    if safety.is_layout(relative):
        raise hostile(wheel, f"it would overwrite the venv's own {relative}")
    return target


def _direct_url(artifact: Artifact) -> bytes:
    """PEP 610 data for an archive, exactly as pip writes it (keys sorted, legacy hash too).

    For a git commit: the repository and the commit (``vcs_info``), as pip writes them too.
    """
    if artifact.vcs is not None:
        return _vcs_direct_url(artifact.vcs)
    sha256 = str(artifact.sha256).lower()
    info = {"hash": f"sha256={sha256}", "hashes": {"sha256": sha256}}
    return json.dumps({"archive_info": info, "url": artifact.url}, sort_keys=True).encode()


def _vcs_direct_url(vcs: LockedVcs) -> bytes:
    """PEP 610 ``vcs_info`` for a git commit, as pip writes it (keys sorted)."""
    info = {"vcs": "git", "commit_id": vcs.commit_id}
    if vcs.requested_revision:
        info["requested_revision"] = vcs.requested_revision
    data: dict[str, object] = {"url": vcs.url, "vcs_info": info}
    if vcs.subdirectory:
        data["subdirectory"] = vcs.subdirectory
    return json.dumps(data, sort_keys=True).encode()


def _disk_full(venv: Path, wheel: str) -> InstallError:
    free = shutil.disk_usage(venv).free if venv.exists() else 0
    return InstallError(
        f"no space left on the disk holding {venv} while installing {wheel} "
        f"({free // (1 << 20)} MiB free)",
        hint="free some space on that disk (or move the venv to another one) and run "
        "`envsync apply` again",
    )
