"""Build real, byte-stable distributions (wheels, sdists, project folders) with the stdlib.

This module is stdlib-only and self-contained on purpose: its own source is copied into every
sdist and project folder it makes, where the in-tree PEP 517 backend imports it. pip can then
build those sdists offline, with build isolation on, and without setuptools.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import re
import tarfile
import zipfile
from pathlib import Path
from typing import Any

GENERATOR = "envsync-tests (1.0)"
KIT_MODULE = "_wheelkit"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
"""Fixed timestamp for every archive member, so that identical inputs give identical bytes."""


def normalize(name: str) -> str:
    """Return the PEP 503 normalized form of a project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def dist_stem(name: str, version: str) -> str:
    """Return the `<name>-<version>` stem used by wheel, sdist and dist-info names."""
    return f"{import_name(name)}-{version}"


def import_name(name: str) -> str:
    """Return the import (and filename) form of a project name: normalized, `-` -> `_`."""
    return normalize(name).replace("-", "_")


def record_hash(data: bytes) -> str:
    """Return a RECORD-style digest: `sha256=` and the url-safe base64 digest without padding."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode('ascii')}"


def metadata_text(
    name: str,
    version: str,
    *,
    requires: tuple[str, ...] | list[str] = (),
    extras: dict[str, list[str]] | None = None,
    requires_python: str | None = None,
) -> str:
    """Return core metadata (Metadata-Version 2.1) for a distribution."""
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {req}" for req in requires]
    for extra, reqs in (extras or {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f"Requires-Dist: {_with_extra(req, extra)}" for req in reqs]
    return "\n".join(lines) + "\n\n"


def _with_extra(req: str, extra: str) -> str:
    """Gate a requirement on `extra`, keeping any marker it already carries."""
    spec, _, marker = req.partition(";")
    gate = f'extra == "{extra}"'
    if marker.strip():
        return f"{spec.strip()}; ({marker.strip()}) and {gate}"
    return f"{spec.strip()}; {gate}"


def _wheel_text(tag: str) -> str:
    """Return the WHEEL file, expanding a compressed tag set into one Tag line per tag."""
    pythons, abis, platforms = tag.split("-")
    tags = [
        f"{py}-{abi}-{plat}"
        for py in pythons.split(".")
        for abi in abis.split(".")
        for plat in platforms.split(".")
    ]
    purelib = "true" if platforms == "any" else "false"
    lines = ["Wheel-Version: 1.0", f"Generator: {GENERATOR}", f"Root-Is-Purelib: {purelib}"]
    return "\n".join(lines + [f"Tag: {t}" for t in tags]) + "\n\n"


def dist_info_files(
    name: str,
    version: str,
    *,
    tag: str = "py3-none-any",
    console_scripts: dict[str, str] | None = None,
    **metadata: Any,
) -> dict[str, bytes]:
    """Return the `.dist-info` files except RECORD, keyed by their path inside the wheel.

    *metadata* is as for `metadata_text` (requires, extras, requires_python).
    """
    info = f"{dist_stem(name, version)}.dist-info"
    meta = metadata_text(name, version, **metadata)
    files = {f"{info}/METADATA": meta.encode(), f"{info}/WHEEL": _wheel_text(tag).encode()}
    if console_scripts:
        entries = "".join(f"{script} = {target}\n" for script, target in console_scripts.items())
        files[f"{info}/entry_points.txt"] = f"[console_scripts]\n{entries}".encode()
    return files


def default_module(name: str, version: str) -> dict[str, str]:
    """Return the default payload: `<import_name>/__init__.py` defining `__version__`."""
    return {f"{import_name(name)}/__init__.py": f'__version__ = "{version}"\n'}


def build_wheel(
    dest_dir: Path | str,
    name: str,
    version: str,
    *,
    tag: str = "py3-none-any",
    files: dict[str, str] | None = None,
    **metadata: Any,
) -> Path:
    """Write a valid wheel into `dest_dir` and return its path.

    The payload is `files` (path -> text) or, when None, `<import_name>/__init__.py` defining
    `__version__`; *metadata* is as for `dist_info_files` (console_scripts, requires, extras,
    requires_python). The archive is deterministic: same inputs, same bytes, same hash.
    """
    sources = default_module(name, version) if files is None else files
    payload = {path: text.encode() for path, text in sources.items()}
    payload.update(dist_info_files(name, version, tag=tag, **metadata))
    path = Path(dest_dir) / f"{dist_stem(name, version)}-{tag}.whl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_zip_with_record(payload, f"{dist_stem(name, version)}.dist-info/RECORD"))
    return path


def _zip_with_record(payload: dict[str, bytes], record_path: str) -> bytes:
    """Zip `payload` (dist-info last) and append a RECORD covering every member."""
    ordered = sorted(payload, key=lambda p: (".dist-info/" in p, p))
    record = (
        "".join(f"{p},{record_hash(payload[p])},{len(payload[p])}\n" for p in ordered)
        + f"{record_path},,\n"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, data in [*((p, payload[p]) for p in ordered), (record_path, record.encode())]:
            info = zipfile.ZipInfo(member, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


BACKEND_TEMPLATE = '''\
"""In-tree PEP 517 backend for a test distribution: stdlib only, works offline."""

from __future__ import annotations

import os
from pathlib import Path

import {kit} as kit

NAME = {name!r}
VERSION = {version!r}
REQUIRES = {requires!r}
REQUIRES_PYTHON = {requires_python!r}
BROKEN = {broken!r}
ROOT = Path(__file__).resolve().parent


def _mark(hook):
    """Note that this backend ran (for tests that prove build code did not run)."""
    marker = os.environ.get("ENVSYNC_TEST_BUILD_MARKER")
    if marker:
        with open(marker, "a") as fh:
            fh.write(f"{{NAME}} {{hook}}\\n")


def _tree(under):
    """Return every file below ROOT/under (no caches) as text, keyed by relative posix path."""
    return {{
        p.relative_to(ROOT).as_posix(): p.read_text()
        for p in sorted((ROOT / under).rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }}


def get_requires_for_build_wheel(config_settings=None):
    _mark("get_requires_for_build_wheel")
    return []


def get_requires_for_build_sdist(config_settings=None):
    _mark("get_requires_for_build_sdist")
    return []


def get_requires_for_build_editable(config_settings=None):
    _mark("get_requires_for_build_editable")
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    _mark("prepare_metadata_for_build_wheel")
    files = kit.dist_info_files(NAME, VERSION, requires=REQUIRES, requires_python=REQUIRES_PYTHON)
    for member, data in files.items():
        target = Path(metadata_directory) / member
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return next(iter(files)).split("/")[0]


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _mark("build_wheel")
    if BROKEN:
        raise RuntimeError(f"{{NAME}} {{VERSION}}: this test backend is broken on purpose")
    files = _tree(kit.import_name(NAME))
    return kit.build_wheel(
        wheel_directory, NAME, VERSION, requires=REQUIRES, requires_python=REQUIRES_PYTHON,
        files=files,
    ).name


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    if BROKEN:
        raise RuntimeError(f"{{NAME}} {{VERSION}}: this test backend is broken on purpose")
    pth = {{f"{{kit.import_name(NAME)}}.pth": str(ROOT) + "\\n"}}
    return kit.build_wheel(
        wheel_directory, NAME, VERSION, requires=REQUIRES, requires_python=REQUIRES_PYTHON,
        files=pth,
    ).name


def build_sdist(sdist_directory, config_settings=None):
    files = {{p.relative_to(ROOT).as_posix(): p.read_bytes() for p in sorted(ROOT.rglob("*"))
             if p.is_file() and "__pycache__" not in p.parts}}
    return kit.pack_sdist(sdist_directory, NAME, VERSION, files).name
'''


def project_files(
    name: str,
    version: str,
    *,
    requires: tuple[str, ...] | list[str] = (),
    requires_python: str | None = None,
    broken: bool = False,
) -> dict[str, bytes]:
    """Return the files of a source tree that pip builds with the in-tree backend.

    *requires* and *requires_python* go into its metadata; `broken=True` makes its
    build_wheel hook raise.
    """
    pyproject = '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
    backend = BACKEND_TEMPLATE.format(
        kit=KIT_MODULE,
        name=name,
        version=version,
        requires=list(requires),
        requires_python=requires_python,
        broken=broken,
    )
    tree = {
        "PKG-INFO": metadata_text(
            name, version, requires=requires, requires_python=requires_python
        ),
        "pyproject.toml": pyproject,
        "backend.py": backend,
        f"{KIT_MODULE}.py": Path(__file__).read_text(encoding="utf-8"),
        **default_module(name, version),
    }
    return {path: text.encode() for path, text in tree.items()}


def pack_sdist(dest_dir: Path | str, name: str, version: str, files: dict[str, bytes]) -> Path:
    """Write `files` as a deterministic `<name>-<version>.tar.gz` sdist and return its path."""
    stem = dist_stem(name, version)
    raw = io.BytesIO()
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for directory in _parent_dirs(files):
            tar.addfile(_tar_info(f"{stem}/{directory}".rstrip("/"), tarfile.DIRTYPE, 0o755))
        for member in sorted(files):
            info = _tar_info(f"{stem}/{member}", tarfile.REGTYPE, 0o644)
            info.size = len(files[member])
            tar.addfile(info, io.BytesIO(files[member]))
    path = Path(dest_dir) / f"{stem}.tar.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw.getvalue())
    return path


def _parent_dirs(files: dict[str, bytes]) -> list[str]:
    """Return every directory (the root as "") that holds a member, parents first."""
    dirs = {""}
    for member in files:
        parts = member.split("/")[:-1]
        dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return sorted(dirs)


def _tar_info(member: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    """Return a TarInfo with fixed owner and timestamp."""
    info = tarfile.TarInfo(member)
    info.type = kind
    info.mode = mode
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def build_sdist(dest_dir: Path | str, name: str, version: str, **options: Any) -> Path:
    """Write an sdist pip can build offline; *options* as for `project_files` (requires...)."""
    return pack_sdist(dest_dir, name, version, project_files(name, version, **options))


def build_project_dir(dest_dir: Path | str, name: str, version: str, **options: Any) -> Path:
    """Write the same files unpacked (`dest_dir/<name>-<version>/`), which pip installs from."""
    root = Path(dest_dir) / dist_stem(name, version)
    for member, data in project_files(name, version, **options).items():
        (root / member).parent.mkdir(parents=True, exist_ok=True)
        (root / member).write_bytes(data)
    return root
