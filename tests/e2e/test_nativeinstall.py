"""The native installer against pip: the same venv, file for file, for every wheel of the index."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import tomli_w
from packaging.tags import sys_tags
from packaging.utils import canonicalize_name
from packaging.version import Version

from envsync.core.lockfile import Artifact, Wanted
from envsync.core.spec import IndexConfig, parse_spec
from envsync.errors import HashMismatchError, InstallError
from envsync.install import transaction
from envsync.install import unpack as unpack_module
from envsync.install.cache import cache_dir
from envsync.install.native import NativeInstaller
from envsync.install.pip import PipInstaller
from envsync.install.protocol import requirement_line
from envsync.usecases import backends
from envsync.venv.environment import probe_venv

from helpers import envsync, snapshot, venv_packages
from support import DISTS, isolated_env
from support.wheels import build_wheel, dist_stem

if TYPE_CHECKING:
    from collections.abc import Iterable

    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e

HERE = {str(tag) for tag in sys_tags()}
BIN = "../../../bin/"  # where RECORD says console scripts are, from site-packages


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private wheel cache, so that each test starts cold and sees only its own files."""
    monkeypatch.setenv("ENVSYNC_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


# -- helpers --------------------------------------------------------------------------------


def make_venv(path: Path) -> Path:
    """A venv without pip at *path*; its interpreter."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path / "bin" / "python"


def site_packages(venv: Path) -> Path:
    return next(venv.glob("lib/python*/site-packages"))


def wheel_names() -> list[tuple[str, str, str]]:
    """(name, version, file name) of every wheel of the test index for this platform.

    Requires-Python is ignored (pip is told to as well): it is the lock's business, and
    ignoring it puts every version into the comparison.
    """
    return [
        (dist.name, dist.version, f"{dist_stem(dist.name, dist.version)}-{tag}.whl")
        for dist in DISTS
        if not dist.sdist_only
        for tag in dist.tags
        if tag in HERE
    ]


def rounds() -> list[list[tuple[str, str, str]]]:
    """Every installable wheel, in rounds of one version per project: newest first."""
    todo = sorted(wheel_names(), key=lambda w: Version(w[1]), reverse=True)
    out: list[list[tuple[str, str, str]]] = []
    while todo:
        seen: set[str] = set()
        out.append([w for w in todo if not (w[0] in seen or seen.add(w[0]))])
        todo = [w for w in todo if w not in out[-1]]
    return out


def wanted(index: PackageIndex, name: str, version: str, filename: str) -> Wanted:
    sha256 = next(f.sha256 for f in index.files() if f.filename == filename)
    url = f"{index.base_url}/files/{filename}"
    artifact = Artifact(kind="wheel", url=url, sha256=sha256, filename=filename)
    return Wanted(name=canonicalize_name(name), version=Version(version), artifact=artifact)


def local_wanted(path: Path, name: str, version: str) -> Wanted:
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    artifact = Artifact(kind="wheel", url=path.as_uri(), sha256=sha256, filename=path.name)
    return Wanted(name=canonicalize_name(name), version=Version(version), artifact=artifact)


def native_install(python: Path, packages: Iterable[Wanted], **options: bool) -> None:
    venv = probe_venv(python.parent.parent)
    NativeInstaller(**options).install(venv, list(packages), index=IndexConfig())


def native_replace(python: Path, packages: list[Wanted]) -> None:
    """As apply replaces: the installed versions moved aside by a transaction, then installed."""
    venv = probe_venv(python.parent.parent)
    libs = (venv.purelib, venv.platlib)
    with transaction.applying(venv.root, [p.name for p in packages], libs):
        NativeInstaller().install(venv, packages, index=IndexConfig())


def remove(venv: Path, name: str) -> None:
    """Take the dist *name* out of *venv* as apply does: moved aside, deleted at the commit."""
    with transaction.applying(venv, [name], [site_packages(venv)]):
        pass


def pip_install(python: Path, packages: Iterable[Wanted], tmp_path: Path, *flags: str) -> None:
    """pip as envsync's pip backend runs it: pinned URLs with hashes, no deps."""
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("".join(f"{requirement_line(p)}\n" for p in packages), "utf-8")
    argv = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps"]
    argv += ["--require-hashes", "--ignore-requires-python", *flags, "-r", str(reqs)]
    subprocess.run(argv, check=True, env=isolated_env(), capture_output=True)


def files(venv: Path) -> set[str]:
    """Every file and folder in the venv, relative to it, without bytecode caches."""
    return {p.relative_to(venv).as_posix() for p in venv.rglob("*") if "__pycache__" not in p.parts}


def records(venv: Path) -> dict[str, set[tuple[str, ...]]]:
    """Each dist's RECORD rows, except INSTALLER's; console scripts by path only.

    INSTALLER says who installed; launchers are generated code, and each installer has its
    own template (pip's and installer's differ, as uv's does): they are run instead.
    """
    out = {}
    for record in site_packages(venv).glob("*.dist-info/RECORD"):
        rows = csv.reader(record.read_text("utf-8").splitlines())
        out[record.parent.name] = {
            (row[0],) if row[0].startswith(BIN) else tuple(row)
            for row in rows
            if not row[0].endswith("/INSTALLER")
        }
    return out


def run_venv(python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), *args], check=False, capture_output=True, text=True, env=isolated_env()
    )


def pip_check(python: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "pip", "--python", str(python), "check"]
    return subprocess.run(argv, check=False, capture_output=True, text=True, env=isolated_env())


def assert_same_as_pip(native: Path, pip: Path) -> None:
    assert files(native.parent.parent) == files(pip.parent.parent)
    assert records(native.parent.parent) == records(pip.parent.parent)
    for venv, who in ((native.parent.parent, "envsync"), (pip.parent.parent, "pip")):
        for installer in site_packages(venv).glob("*.dist-info/INSTALLER"):
            assert installer.read_text("utf-8") == f"{who}\n"
    for python in (native, pip):
        assert pip_check(python).returncode == 0, pip_check(python).stdout


# -- the same result as pip -----------------------------------------------------------------


def test_every_wheel_of_the_index_installs_as_pip_installs_it(
    tmp_path: Path, package_index: PackageIndex
) -> None:
    native, pip = make_venv(tmp_path / "native"), make_venv(tmp_path / "pip")
    everything = [w for batch in rounds() for w in batch]
    assert {w[0] for w in everything} == {d.name for d in DISTS if not d.sdist_only}

    # Round one installs; the next rounds replace each project with its other versions.
    for batch in rounds():
        packages = [wanted(package_index, *w) for w in batch]
        native_replace(native, packages)
        pip_install(pip, packages, tmp_path, "--no-compile", "--force-reinstall")

        assert_same_as_pip(native, pip)
        for package in packages:
            dist_info = f"{dist_stem(package.name, str(package.version))}.dist-info"
            direct = site_packages(native.parent.parent) / dist_info / "direct_url.json"
            pip_direct = site_packages(pip.parent.parent) / dist_info / "direct_url.json"
            assert direct.read_bytes() == pip_direct.read_bytes()
            assert json.loads(direct.read_bytes())["archive_info"]["hashes"] == {
                "sha256": package.artifact.sha256
            }
    assert run_venv(native.parent / "hello").stdout == "hello from cli-tool\n"
    assert run_venv(native.parent / "hello").stdout == run_venv(pip.parent / "hello").stdout


def test_wheels_unpacked_by_helper_processes_install_as_pip_installs_them(
    tmp_path: Path, package_index: PackageIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batches are unpacked by one helper process per CPU, fed as downloads finish.
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    packages = [wanted(package_index, *w) for w in rounds()[0]]
    native, pip = make_venv(tmp_path / "native"), make_venv(tmp_path / "pip")
    unpack_here = lambda *_: pytest.fail("a wheel was unpacked in this process")  # noqa: E731

    with monkeypatch.context() as patch:
        patch.setattr(unpack_module, "extract", unpack_here)
        native_install(native, packages)
    pip_install(pip, packages, tmp_path, "--no-compile")

    assert_same_as_pip(native, pip)


def test_a_wheel_a_helper_process_refused_is_reported_by_envsync(
    tmp_path: Path, package_index: PackageIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    evil = build_wheel(
        tmp_path / "wheels",
        "evil",
        "1.0",
        files={"evil/__init__.py": "", "../escape.py": "x = 1\n"},
    )
    packages = [wanted(package_index, *w) for w in rounds()[0]]  # a batch helpers take
    packages.append(local_wanted(evil, "evil", "1.0"))
    python = make_venv(tmp_path / "venv")
    unpacked_here: list[str] = []
    extract = unpack_module.extract
    monkeypatch.setattr(
        unpack_module,
        "extract",
        lambda w, f, limits: unpacked_here.append(w.name) or extract(w, f, limits),
    )

    with pytest.raises(InstallError, match=r"evil-1\.0-py3-none-any\.whl.* outside"):
        native_install(python, packages)
    assert unpacked_here == ["evil-1.0-py3-none-any.whl"]  # the rest went to the helpers
    assert not (tmp_path / "escape.py").exists()
    assert not list(site_packages(tmp_path / "venv").iterdir())  # nothing installed


@pytest.mark.parametrize("row", ["../../../escape.py", "/etc/escape.py", "a/../../escape.py"])
def test_a_wheel_whose_record_points_outside_it_is_refused(tmp_path: Path, row: str) -> None:
    good = build_wheel(tmp_path / "wheels", "sneaky", "1.0", files={"sneaky/__init__.py": ""})
    bad = tmp_path / "bad" / good.name
    bad.parent.mkdir()
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bad, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                data += f"{row},sha256=AAAA,1\n".encode()
            out.writestr(info, data)
    python = make_venv(tmp_path / "venv")

    with pytest.raises(InstallError, match="RECORD names a file outside the wheel") as caught:
        native_install(python, [local_wanted(bad, "sneaky", "1.0")])
    assert row in caught.value.message
    assert not list(site_packages(tmp_path / "venv").iterdir())


@pytest.mark.parametrize("member", ["../escape.py", "/abs/escape.py", "sneaky/../../escape.py"])
def test_a_wheel_with_an_archive_member_outside_it_is_refused(tmp_path: Path, member: str) -> None:
    good = build_wheel(tmp_path / "wheels", "sneaky", "1.0", files={"sneaky/__init__.py": ""})
    bad = tmp_path / "bad" / good.name
    bad.parent.mkdir()
    shutil.copy(good, bad)
    with zipfile.ZipFile(bad, "a") as out:
        out.writestr(zipfile.ZipInfo(member), b"x = 1\n")  # in the archive, not in RECORD
    python = make_venv(tmp_path / "venv")

    with pytest.raises(InstallError, match="holds a file outside its own folder") as caught:
        native_install(python, [local_wanted(bad, "sneaky", "1.0")])
    assert member in caught.value.message
    assert not (tmp_path / "escape.py").exists()
    assert not list(site_packages(tmp_path / "venv").iterdir())


@pytest.mark.parametrize(
    "method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED], ids=["deflated", "stored"]
)
def test_a_wheel_whose_local_header_names_its_member_otherwise_is_refused(
    tmp_path: Path, method: int
) -> None:
    """The local header's copy of a member's name, not UTF-8 though flagged so: damaged."""
    name = "sneaky/d\u00e4ta.py"  # zipfile flags a non-ASCII name as UTF-8
    good = build_wheel(tmp_path / "wheels", "sneaky", "1.0", files={"sneaky/__init__.py": ""})
    bad = tmp_path / "bad" / good.name
    bad.parent.mkdir()
    shutil.copy(good, bad)
    with zipfile.ZipFile(bad, "a") as out:
        out.writestr(name, b"x = 1\n" * 50, method)
    blob = bad.read_bytes()
    at = blob.index(name.encode())  # the local header's copy comes before the directory's
    bad.write_bytes(
        blob[:at] + name.encode().replace(b"\xc3", b"\xff") + blob[at + len(name.encode()) :]
    )
    python = make_venv(tmp_path / "venv")

    with pytest.raises(InstallError, match="is damaged") as caught:
        native_install(python, [local_wanted(bad, "sneaky", "1.0")])
    assert "sneaky-1.0-py3-none-any.whl" in caught.value.message
    assert not list(site_packages(tmp_path / "venv").iterdir())


def test_data_folders_pth_files_and_scripts_install_as_pip_installs_them(tmp_path: Path) -> None:
    wheel = build_wheel(
        tmp_path / "wheels",
        "rich-layout",
        "1.0",
        console_scripts={"rich-hello": "rich_layout:main"},
        files={
            "rich_layout/__init__.py": 'def main():\n    print("rich hello")\n',
            "rich_layout.pth": "import os\n",
            "rich_layout-1.0.data/scripts/rich-tool": "#!python\nprint('tool')\n",
            "rich_layout-1.0.data/data/share/rich-layout/notes.txt": "notes\n",
            "rich_layout-1.0.data/headers/rich.h": "int rich;\n",
            "rich_layout-1.0.data/purelib/rich_extra.py": "X = 1\n",
        },
    )
    package = local_wanted(wheel, "rich-layout", "1.0")
    native, pip = make_venv(tmp_path / "native"), make_venv(tmp_path / "pip")

    native_install(native, [package])
    pip_install(pip, [package], tmp_path, "--no-compile")

    assert_same_as_pip(native, pip)
    venv = native.parent.parent
    assert (venv / "share" / "rich-layout" / "notes.txt").read_text() == "notes\n"
    assert (venv / "bin" / "rich-tool").read_text().startswith(f"#!{native}\n")
    assert run_venv(native, "-c", "import rich_extra; print(rich_extra.X)").stdout == "1\n"
    assert run_venv(native.parent / "rich-hello").stdout == "rich hello\n"


def test_bytecode_is_compiled_on_request_and_recorded_as_pip_records_it(
    tmp_path: Path, package_index: PackageIndex
) -> None:
    # Several packages: the modules are compiled in one share per CPU, each recorded by its own.
    packages = [wanted(package_index, *w) for w in rounds()[0]]
    native, pip = make_venv(tmp_path / "native"), make_venv(tmp_path / "pip")

    native_install(native, packages, compile_bytecode=True)
    pip_install(pip, packages, tmp_path)  # pip compiles by default

    assert_same_as_pip(native, pip)
    pyc = list(site_packages(native.parent.parent).glob("cli_tool/__pycache__/*.pyc"))
    assert len(pyc) == 1
    modules = list(site_packages(native.parent.parent).rglob("*.py"))
    assert len(modules) > 2
    assert all(Path(importlib.util.cache_from_source(str(m))).is_file() for m in modules)


def test_a_wheel_with_an_unknown_data_folder_is_refused(tmp_path: Path) -> None:
    wheel = build_wheel(
        tmp_path / "wheels",
        "odd-data",
        "1.0",
        files={"odd_data/__init__.py": "", "odd_data-1.0.data/elsewhere/x.txt": "x\n"},
    )
    python = make_venv(tmp_path / "venv")

    with pytest.raises(InstallError, match=r"odd_data-1\.0\.data/elsewhere/x\.txt .*\.data"):
        native_install(python, [local_wanted(wheel, "odd-data", "1.0")])


def test_bytecode_shipped_inside_a_wheel_is_not_installed(tmp_path: Path) -> None:
    wheel = build_wheel(
        tmp_path / "wheels",
        "with-pyc",
        "1.0",
        files={
            "with_pyc/__init__.py": "X = 1\n",
            "with_pyc/__pycache__/__init__.cpython-311.pyc": "not bytecode",
        },
    )
    python = make_venv(tmp_path / "venv")

    native_install(python, [local_wanted(wheel, "with-pyc", "1.0")])

    assert not (site_packages(tmp_path / "venv") / "with_pyc" / "__pycache__").exists()
    assert run_venv(python, "-c", "import with_pyc; print(with_pyc.X)").stdout == "1\n"


def test_bytecode_is_not_compiled_by_default(tmp_path: Path, package_index: PackageIndex) -> None:
    python = make_venv(tmp_path / "venv")
    native_install(python, [wanted(package_index, "beta", "2.0", "beta-2.0-py3-none-any.whl")])
    assert not list(site_packages(tmp_path / "venv").rglob("*.pyc"))


def test_files_are_hard_linked_from_the_cache_or_copied_where_links_fail(
    tmp_path: Path, package_index: PackageIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    packages = [wanted(package_index, "alpha", "2.0", "alpha-2.0-py3-none-any.whl")]
    linked, copied = make_venv(tmp_path / "linked"), make_venv(tmp_path / "copied")
    native_install(linked, packages)

    def cannot_link(*args: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", cannot_link)
    native_install(copied, packages)

    module = "alpha/__init__.py"
    assert (site_packages(linked.parent.parent) / module).stat().st_nlink > 1
    assert (site_packages(copied.parent.parent) / module).stat().st_nlink == 1
    assert records(linked.parent.parent) == records(copied.parent.parent)


# -- the cache ------------------------------------------------------------------------------


def test_the_cache_honours_its_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ENVSYNC_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "envsync"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "envsync"


def test_a_corrupted_cache_entry_is_discarded_and_fetched_again(
    tmp_path: Path, cache: Path, package_index: PackageIndex
) -> None:
    package = wanted(package_index, "theta", "1.0", "theta-1.0-py3-none-any.whl")
    native_install(make_venv(tmp_path / "first"), [package])
    entry = next(cache.glob("wheels/*/*/theta-1.0-py3-none-any.whl"))
    entry.write_bytes(b"not a wheel any more")
    # Without its unpacked copy, the archive is needed again, and checked.
    shutil.rmtree(cache / "unpacked" / package.artifact.sha256)
    downloads = package_index.requests.count("/files/theta-1.0-py3-none-any.whl")

    python = make_venv(tmp_path / "second")
    native_install(python, [package])

    assert package_index.requests.count("/files/theta-1.0-py3-none-any.whl") == downloads + 1
    assert hashlib.sha256(entry.read_bytes()).hexdigest() == package.artifact.sha256
    assert run_venv(python, "-c", "import theta; print(theta.__version__)").stdout == "1.0\n"


def test_a_wheel_unpacked_in_the_cache_needs_neither_its_archive_nor_the_index(
    tmp_path: Path, cache: Path, package_index: PackageIndex
) -> None:
    package = wanted(package_index, "theta", "1.0", "theta-1.0-py3-none-any.whl")
    native_install(make_venv(tmp_path / "first"), [package])
    next(cache.glob("wheels/*/*/theta-1.0-py3-none-any.whl")).unlink()
    downloads = package_index.requests.count("/files/theta-1.0-py3-none-any.whl")

    python = make_venv(tmp_path / "second")
    native_install(python, [package])

    assert package_index.requests.count("/files/theta-1.0-py3-none-any.whl") == downloads
    assert run_venv(python, "-c", "import theta; print(theta.__version__)").stdout == "1.0\n"


def test_a_file_edited_through_a_hard_link_does_not_reach_the_next_venv(
    tmp_path: Path, package_index: PackageIndex
) -> None:
    package = wanted(package_index, "theta", "1.0", "theta-1.0-py3-none-any.whl")
    first = make_venv(tmp_path / "first")
    native_install(first, [package])
    module = site_packages(tmp_path / "first") / "theta" / "__init__.py"
    with module.open("a", encoding="utf-8") as edit:  # in place: the cache's copy changes too
        edit.write("EDITED = True\n")

    second = make_venv(tmp_path / "second")
    native_install(second, [package])

    assert (site_packages(tmp_path / "second") / "theta" / "__init__.py").read_text() == (
        '__version__ = "1.0"\n'
    )
    assert "EDITED" in module.read_text()


def test_a_hash_mismatch_refuses_before_anything_is_installed(
    tmp_path: Path, cache: Path, package_index: PackageIndex
) -> None:
    python = make_venv(tmp_path / "venv")
    native_install(python, [wanted(package_index, "alpha", "1.0", "alpha-1.0-py3-none-any.whl")])
    before = snapshot(tmp_path / "venv")
    good = wanted(package_index, "alpha", "2.0", "alpha-2.0-py3-none-any.whl")
    bad = wanted(package_index, "beta", "2.0", "beta-2.0-py3-none-any.whl")
    wrong = "0" * 64
    bad = Wanted(
        name=bad.name,
        version=bad.version,
        artifact=Artifact(
            kind="wheel", url=bad.artifact.url, sha256=wrong, filename=bad.artifact.filename
        ),
    )

    with pytest.raises(HashMismatchError) as caught:
        native_install(python, [good, bad])

    assert "beta-2.0-py3-none-any.whl does not match the hash in pylock.toml" in str(caught.value)
    assert wrong in str(caught.value)
    real = next(
        f.sha256 for f in package_index.files() if f.filename == "beta-2.0-py3-none-any.whl"
    )
    assert real in str(caught.value)
    assert snapshot(tmp_path / "venv") == before
    assert not list(cache.glob(f"wheels/*/{wrong}"))
    assert not list((cache / "tmp").iterdir())


def test_apply_refuses_a_file_the_index_changed_after_locking(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fresh_index: PackageIndex
) -> None:
    write_env(tmp_path, ["theta"], fresh_index.url)
    assert envsync(capsys, "lock", "--spec", str(tmp_path / "env.toml")).code == 0
    served = fresh_index.root / "theta-1.0-py3-none-any.whl"
    build_wheel(tmp_path / "evil", "theta", "1.0", files={"theta/__init__.py": "EVIL = 1\n"})
    served.write_bytes((tmp_path / "evil" / served.name).read_bytes())

    result = envsync(capsys, "apply", "--frozen", "--spec", str(tmp_path / "env.toml"))

    assert result.code == 1
    assert "does not match the hash in pylock.toml" in result.err
    assert not list((tmp_path / ".venv").rglob("theta*"))


# -- removing -------------------------------------------------------------------------------


def test_uninstall_removes_every_recorded_file_and_the_folders_it_leaves_empty(
    tmp_path: Path, package_index: PackageIndex
) -> None:
    python = make_venv(tmp_path / "venv")
    before = files(tmp_path / "venv")
    packages = [wanted(package_index, "cli-tool", "1.0", "cli_tool-1.0-py3-none-any.whl")]
    native_install(python, packages, compile_bytecode=True)
    run_venv(python, "-c", "import cli_tool")

    remove(tmp_path / "venv", "cli-tool")

    assert files(tmp_path / "venv") == before
    assert not (site_packages(tmp_path / "venv") / "cli_tool").exists()


def test_uninstall_never_deletes_outside_the_venv(tmp_path: Path) -> None:
    make_venv(tmp_path / "venv")
    lib = site_packages(tmp_path / "venv")
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me\n")
    dist_info = lib / "sneaky-1.0.dist-info"
    dist_info.mkdir()
    escape = os.path.relpath(outside, lib)
    (dist_info / "RECORD").write_text(f"{escape},,\nsneaky-1.0.dist-info/RECORD,,\n")

    remove(tmp_path / "venv", "Sneaky")

    assert outside.read_text() == "keep me\n"
    assert not dist_info.exists()


# -- through envsync ------------------------------------------------------------------------


def write_env(root: Path, dependencies: list[str], index_url: str, **env: object) -> Path:
    data = {"env": {"dependencies": dependencies, "keep": [], **env}, "index": {"url": index_url}}
    (root / "env.toml").write_text(tomli_w.dumps(data), "utf-8")
    return root / "env.toml"


def installers(root: Path) -> dict[str, str]:
    lib = site_packages(root / ".venv")
    return {
        str(
            canonicalize_name(p.parent.name.removesuffix(".dist-info").rpartition("-")[0])
        ): p.read_text("utf-8").strip()
        for p in lib.glob("*.dist-info/INSTALLER")
    }


def test_the_spec_chooses_the_installer(tmp_path: Path) -> None:
    spec = parse_spec('[env]\ninstaller = "pip"\n', path=tmp_path / "env.toml")
    assert isinstance(backends.installer_for(spec), PipInstaller)
    spec = parse_spec("[env]\ncompile-bytecode = true\n", path=tmp_path / "env.toml")
    assert isinstance(backends.installer_for(spec), NativeInstaller)


def test_apply_installs_natively_and_check_verify_is_clean(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    spec = str(
        write_env(tmp_path, ["alpha", "gamma[fast]", "cli-tool", "sdist-only"], package_index.url)
    )
    assert envsync(capsys, "apply", "--spec", spec).code == 0

    assert venv_packages(tmp_path) == {
        "alpha": "2.0",
        "beta": "2.0",
        "gamma": "1.0",
        "delta": "1.0",
        "cli-tool": "1.0",
        "sdist-only": "1.0",
    }
    # Wheels natively; the sdist needs building, which pip does.
    assert installers(tmp_path) == {
        "alpha": "envsync",
        "beta": "envsync",
        "gamma": "envsync",
        "delta": "envsync",
        "cli-tool": "envsync",
        "sdist-only": "pip",
    }
    assert envsync(capsys, "check", "--verify", "--spec", spec).code == 0

    write_env(tmp_path, ["alpha<2"], package_index.url)
    assert envsync(capsys, "apply", "--spec", spec).code == 0
    assert venv_packages(tmp_path) == {"alpha": "1.0"}
    assert not (tmp_path / ".venv" / "bin" / "hello").exists()
    assert envsync(capsys, "check", "--verify", "--spec", spec).code == 0


def test_apply_with_the_pip_installer(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    spec = str(write_env(tmp_path, ["alpha", "cli-tool"], package_index.url, installer="pip"))
    assert envsync(capsys, "apply", "--spec", spec).code == 0

    assert venv_packages(tmp_path) == {"alpha": "2.0", "beta": "2.0", "cli-tool": "1.0"}
    assert set(installers(tmp_path).values()) == {"pip"}
    assert envsync(capsys, "check", "--verify", "--spec", spec).code == 0
    assert run_venv(tmp_path / ".venv" / "bin" / "hello").stdout == "hello from cli-tool\n"


def test_apply_verify_repairs_a_file_edited_through_a_hard_link(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    spec = str(write_env(tmp_path, ["theta"], package_index.url))
    assert envsync(capsys, "apply", "--spec", spec).code == 0
    module = site_packages(tmp_path / ".venv") / "theta" / "__init__.py"
    with module.open("a", encoding="utf-8") as edit:
        edit.write("EDITED = True\n")
    assert envsync(capsys, "check", "--verify", "--spec", spec).code == 2

    assert envsync(capsys, "apply", "--verify", "--spec", spec).code == 0

    assert module.read_text() == '__version__ = "1.0"\n'
    assert envsync(capsys, "check", "--verify", "--spec", spec).code == 0


@pytest.mark.parametrize("installer", ["native", "pip"])
def test_apply_replaces_a_version_and_repairs_an_edited_file_with_either_installer(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    package_index: PackageIndex,
    installer: str,
) -> None:
    # The transaction takes the old version out first: neither installer removes anything.
    spec = str(write_env(tmp_path, ["alpha", "theta"], package_index.url, installer=installer))
    assert envsync(capsys, "apply", "--spec", spec).code == 0
    write_env(tmp_path, ["alpha<2", "theta"], package_index.url, installer=installer)
    module = site_packages(tmp_path / ".venv") / "theta" / "__init__.py"
    module.write_text("EDITED = True\n")

    assert envsync(capsys, "apply", "--verify", "--spec", spec).code == 0

    assert venv_packages(tmp_path) == {"alpha": "1.0", "theta": "1.0"}
    assert len(list(site_packages(tmp_path / ".venv").glob("alpha-*.dist-info"))) == 1
    assert module.read_text() == '__version__ = "1.0"\n'
    assert set(installers(tmp_path).values()) == {"envsync" if installer == "native" else "pip"}
    assert envsync(capsys, "check", "--verify", "--spec", spec).code == 0
