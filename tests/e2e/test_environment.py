"""probe_venv / read_installed on real venvs, with dists installed by real pip."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import threading
import zipfile
from pathlib import Path

import packaging
import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envsync.core.planner import DirectUrl, InstalledDist
from envsync.errors import EnvsyncError, InstallError, InterpreterNotFoundError, VenvError
from envsync.system.process import clean_env, run
from envsync.system.shims import pycache_dir, shim_dir
from envsync.venv import environment, installed
from envsync.venv.create import create_venv, venv_python
from envsync.venv.environment import VenvInfo, inspect, probe_venv, read_installed
from envsync.venv.interpreters import Interpreter, find_python
from envsync.venv.prober import Prober

pytestmark = pytest.mark.e2e

CURRENT = Version(platform.python_version())


@pytest.fixture(scope="module")
def other() -> Interpreter:
    """A Python of another minor version than the one running the tests (3.12 if it can)."""
    not_mine = f"!={CURRENT.major}.{CURRENT.minor}.*"
    found = find_or_none(f"==3.12.*,{not_mine}") or find_or_none(f">=3.9,{not_mine}")
    if found is None:
        pytest.skip("needs a second Python version (3.9+) on this machine")
    return found


def find_or_none(spec: str) -> Interpreter | None:
    try:
        return find_python(SpecifierSet(spec))
    except InterpreterNotFoundError:
        return None


@pytest.fixture
def venv(tmp_path) -> Path:
    root = tmp_path / "venv"
    create_venv(root, find_python(SpecifierSet(f"=={CURRENT}")))
    return root


def build_wheel(dest: Path, name: str, version: str) -> Path:
    """A minimal valid pure-Python wheel (with a hashed RECORD, as pip requires)."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": f'__version__ = "{version}"\n',
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = [f"{path},sha256={_b64sha(text.encode())},{len(text)}" for path, text in files.items()]
    files[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,"]) + "\n"
    wheel = dest / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def _b64sha(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def pip_install(root: Path, target: Path | str) -> None:
    argv = [sys.executable, "-m", "pip", "--python", str(venv_python(root)), "install"]
    run([*argv, "--no-index", str(target)], env=clean_env(), error=InstallError)


def write_dist_info(lib: Path, folder: str, files: dict[str, str]) -> None:
    (lib / folder).mkdir()
    for name, text in files.items():
        (lib / folder / name).write_text(text)


def metadata(name: str, version: str) -> str:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nlong description\n"


def test_probe_reads_the_target_interpreter_not_envsyncs(tmp_path, other):
    root = tmp_path / "venv"
    create_venv(root, other)
    info = probe_venv(root)
    py = f"{other.version.major}{other.version.minor}"
    assert info.root == root
    assert info.python == venv_python(root)
    assert info.version == other.version
    assert info.purelib.is_relative_to(root)
    assert info.platlib.is_relative_to(root)
    assert info.markers["python_version"] == f"{other.version.major}.{other.version.minor}"
    assert info.markers["python_full_version"] == str(other.version)
    assert info.markers["implementation_name"] == "cpython"
    assert "py3-none-any" in info.tags
    assert f"cp{py}-none-any" in info.tags
    assert info.tags[0].startswith(f"cp{py}-cp{py}-")
    mine = f"cp{CURRENT.major}{CURRENT.minor}"
    assert not any(tag.startswith(f"{mine}-{mine}-") for tag in info.tags)
    assert os.path.realpath(info.base_executable) == os.path.realpath(other.executable)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="manylinux tags are Linux's")
@pytest.mark.parametrize("which", ["current", "other"])
def test_a_new_venv_is_known_without_asking_it(tmp_path, monkeypatch, which, request):
    base = request.getfixturevalue("other") if which == "other" else find_current()
    root = tmp_path / "venv"
    create_venv(root, base)
    prober = Prober()  # one run's memory
    environment.probe_interpreter(base.executable, prober=prober)

    environment.expect_new_venv(root, base.executable, prober=prober)
    with monkeypatch.context() as patch:
        patch.setattr(environment, "_run_probe", lambda python, _: pytest.fail(f"{python} was run"))
        expected = probe_venv(root, prober=prober)

    # What the venv says when asked, with nothing remembered (a new run, an empty cache).
    monkeypatch.setenv("ENVSYNC_CACHE_DIR", str(tmp_path / "empty-cache"))
    assert probe_venv(root) == expected
    assert expected.version == base.version


@pytest.mark.parametrize("which", ["current", "other"])
def test_a_probe_compiles_the_lent_packaging_only_for_a_python_that_reads_other_bytecode(
    monkeypatch, which, request
):
    """With no bytecode kept (a fresh machine), probing envsync's own Python takes what
    envsync's imports keep beside packaging; another Python's goes to envsync's bytecode
    folder. Nothing is written beside envsync's packaging by another Python."""
    base = request.getfixturevalue("other") if which == "other" else find_current()
    folder = tempfile.mkdtemp(prefix="envsync-test-tmp-")
    monkeypatch.setattr(tempfile, "tempdir", folder)  # the shims, and their bytecode, anew
    monkeypatch.setenv("ENVSYNC_CACHE_DIR", str(Path(folder, "cache")))  # no answer kept
    beside = Path(packaging.__file__).parent / "__pycache__"
    before = sorted(beside.iterdir())
    try:
        info = environment.probe_interpreter(base.executable, prober=Prober())
        compiled = [p.name for p in pycache_dir().rglob("*.pyc")]
    finally:
        shutil.rmtree(folder)

    assert info.version == base.version
    tag = f"cpython-{base.version.major}{base.version.minor}"
    if which == "current":
        assert compiled == []
    else:
        assert f"markers.{tag}.pyc" in compiled
    assert sorted(beside.iterdir()) == before


def test_a_new_venv_is_known_to_the_next_run_too(tmp_path, monkeypatch):
    monkeypatch.setenv("ENVSYNC_CACHE_DIR", str(tmp_path / "cache"))
    base, root = find_current(), tmp_path / "venv"
    create_venv(root, base)
    first = Prober()
    environment.probe_interpreter(base.executable, prober=first)
    environment.expect_new_venv(root, base.executable, prober=first)

    with monkeypatch.context() as patch:  # the next run: its own Prober, the same cache
        patch.setattr(environment, "_run_probe", lambda python, _: pytest.fail(f"{python} was run"))
        remembered = probe_venv(root, prober=Prober())

    monkeypatch.setenv("ENVSYNC_CACHE_DIR", str(tmp_path / "empty-cache"))
    assert probe_venv(root) == remembered  # what the venv says when it is asked


def test_a_venv_remade_with_another_python_is_asked_again(tmp_path, other):
    root = tmp_path / "venv"
    create_venv(root, find_current())
    assert probe_venv(root).version == CURRENT
    shutil.rmtree(root)
    create_venv(root, other)
    assert probe_venv(root).version == other.version


def find_current() -> Interpreter:
    return find_python(SpecifierSet(f"=={CURRENT}"))


def test_probe_lists_manylinux_tags(venv):
    py = f"cp{CURRENT.major}{CURRENT.minor}"
    assert any(tag.startswith(f"{py}-{py}-manylinux") for tag in probe_venv(venv).tags)


def test_probe_leaves_the_venv_untouched(venv):
    before = sorted(str(p.relative_to(venv)) for p in venv.rglob("*"))
    probe_venv(venv)
    assert sorted(str(p.relative_to(venv)) for p in venv.rglob("*")) == before


def test_probe_of_a_missing_venv_says_so(tmp_path):
    with pytest.raises(VenvError, match="no virtual environment"):
        probe_venv(tmp_path / "nowhere")


def test_probe_of_a_venv_without_python_says_so(venv):
    venv_python(venv).unlink()
    with pytest.raises(VenvError, match="no interpreter"):
        probe_venv(venv)


def test_a_fresh_venv_holds_nothing(venv):
    info, installed = inspect(venv)
    assert isinstance(info, VenvInfo)
    assert installed == ()


def test_reads_a_wheel_installed_by_pip(tmp_path, venv):
    wheel = build_wheel(tmp_path, "Demo_Pkg", "1.2.0")
    pip_install(venv, wheel)
    (dist,) = read_installed(probe_venv(venv))
    assert dist.name == "demo-pkg"
    assert dist.version == Version("1.2.0")
    assert dist.installer == "pip"
    assert dist.direct_url is not None
    assert dist.direct_url.url == wheel.as_uri()
    assert dist.direct_url.sha256 == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert not dist.direct_url.is_dir


def test_reads_several_dists_sorted_by_name(tmp_path, venv):
    for name in ("zeta", "alpha", "Mid.Dle"):
        pip_install(venv, build_wheel(tmp_path, name, "1.0"))
    names = [dist.name for dist in read_installed(probe_venv(venv))]
    assert names == ["alpha", "mid-dle", "zeta"]


def test_broken_dist_infos_are_skipped_with_a_warning(tmp_path, venv, caplog):
    pip_install(venv, build_wheel(tmp_path, "good", "1.0"))
    info = probe_venv(venv)
    write_dist_info(info.purelib, "nometa-1.0.dist-info", {"INSTALLER": "pip\n"})
    write_dist_info(info.purelib, "badver-1.0.dist-info", {"METADATA": metadata("badver", "x!y")})
    write_dist_info(info.purelib, "noname-1.0.dist-info", {"METADATA": "Version: 1.0\n\n"})
    with caplog.at_level(logging.WARNING, logger="envsync.venv.environment"):
        installed = read_installed(info)
    assert [dist.name for dist in installed] == ["good"]
    warned = caplog.text
    assert all(name in warned for name in ("nometa-1.0", "badver-1.0", "noname-1.0"))


def test_direct_url_credentials_are_stripped_and_legacy_hash_read(venv):
    info = probe_venv(venv)
    direct = {
        "url": "https://user:s3cret@host.example/x-1.0.whl",
        "archive_info": {"hash": "sha256=AB12"},
    }
    files = {"METADATA": metadata("x", "1.0"), "direct_url.json": json.dumps(direct)}
    write_dist_info(info.purelib, "x-1.0.dist-info", files)
    (dist,) = read_installed(info)
    assert dist == InstalledDist(
        name="x",
        version=Version("1.0"),
        direct_url=DirectUrl(url="https://host.example/x-1.0.whl", sha256="ab12"),
    )


def test_editable_directory_install_is_recognised(venv):
    info = probe_venv(venv)
    direct = {"url": "file:///src/proj", "dir_info": {"editable": True}}
    files = {
        "METADATA": metadata("Proj", "0.1"),
        "INSTALLER": "uv\n",
        "direct_url.json": json.dumps(direct),
    }
    write_dist_info(info.purelib, "proj-0.1.dist-info", files)
    (dist,) = read_installed(info)
    assert dist.installer == "uv"
    assert dist.direct_url == DirectUrl(url="file:///src/proj", is_dir=True, editable=True)


def test_malformed_direct_url_is_ignored(venv):
    info = probe_venv(venv)
    files = {"METADATA": metadata("y", "2.0"), "direct_url.json": "{not json"}
    write_dist_info(info.purelib, "y-2.0.dist-info", files)
    (dist,) = read_installed(info)
    assert dist.direct_url is None
    assert dist.version == Version("2.0")


def _no_parsing(monkeypatch):
    monkeypatch.setattr(installed, "_parse_dist", lambda folder: pytest.fail(f"parsed {folder}"))


def _clock_at(monkeypatch, path, seconds):
    """Runs *seconds* after *path* was last changed (by its ctime, which nothing can set)."""
    changed = path.stat().st_ctime_ns
    monkeypatch.setattr(installed, "_now_ns", lambda: changed + int(seconds * 10**9))


def test_a_later_run_takes_what_an_earlier_one_read_while_the_files_are_unchanged(
    venv, monkeypatch
):
    info = probe_venv(venv)
    direct = {"url": "file:///src/proj", "dir_info": {"editable": True}}
    write_dist_info(
        info.purelib,
        "proj-0.1.dist-info",
        {
            "METADATA": metadata("Proj", "0.1"),
            "INSTALLER": "uv\n",
            "direct_url.json": json.dumps(direct),
        },
    )
    write_dist_info(info.purelib, "x-1.0.dist-info", {"METADATA": metadata("x", "1.0")})
    metadata_file = info.purelib / "x-1.0.dist-info" / "METADATA"
    _clock_at(monkeypatch, metadata_file, 10)  # every file written well before this run
    first = read_installed(info)

    with monkeypatch.context() as patch:  # another run: a new Prober, nothing parsed
        _no_parsing(patch)
        assert read_installed(info, prober=Prober()) == first

    # One METADATA written again (another version, same size) a second later, one gone. The
    # clock above is made up, so the later time is set: in the same tick it would be racy.
    before = metadata_file.stat()
    metadata_file.write_text(metadata("x", "1.1"))
    os.utime(metadata_file, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))
    shutil.rmtree(info.purelib / "proj-0.1.dist-info")
    _clock_at(monkeypatch, metadata_file, 10)
    (dist,) = read_installed(info, prober=Prober())
    assert (dist.name, dist.version) == ("x", Version("1.1"))


def _counting_parses(monkeypatch):
    parsed: list[str] = []
    parse = installed._parse_dist
    monkeypatch.setattr(installed, "_parse_dist", lambda f: parsed.append(f.name) or parse(f))
    return parsed


def test_a_dist_info_written_again_within_one_tick_of_the_file_clock_is_read_again(
    venv, monkeypatch
):
    # File times come from a coarse clock (a few ms; 2 s on FAT): written again within one
    # tick, at the same size and inode, a file keeps its identity. Here no tick ever passes.
    info = probe_venv(venv)
    write_dist_info(info.purelib, "x-1.0.dist-info", {"METADATA": metadata("x", "1.0")})
    real = installed.probecache.identity
    frozen = lambda path: None if (found := real(path)) is None else [*found[:3], 7, 7]  # noqa: E731
    monkeypatch.setattr(installed.probecache, "identity", frozen)
    monkeypatch.setattr(installed, "_now_ns", lambda: 8)  # just after the files' times
    parsed = _counting_parses(monkeypatch)

    assert read_installed(info)[0].version == Version("1.0")
    assert read_installed(info, prober=Prober())[0].version == Version("1.0")
    assert parsed == ["x-1.0.dist-info"]  # the same bytes: the next run took what was read

    (info.purelib / "x-1.0.dist-info" / "METADATA").write_text(metadata("x", "1.1"))
    assert read_installed(info, prober=Prober())[0].version == Version("1.1")
    assert parsed == ["x-1.0.dist-info"] * 2


def test_once_its_files_have_settled_a_dist_info_is_taken_by_their_identity_alone(
    venv, monkeypatch
):
    info = probe_venv(venv)
    write_dist_info(info.purelib, "x-1.0.dist-info", {"METADATA": metadata("x", "1.0")})
    metadata_file = info.purelib / "x-1.0.dist-info" / "METADATA"
    parsed = _counting_parses(monkeypatch)
    read_bytes: list[int] = []
    digest = installed._digest
    monkeypatch.setattr(installed, "_digest", lambda files: read_bytes.append(1) or digest(files))

    for seconds, checked in ((0.001, 1), (1.9, 2), (2.1, 3), (5, 3)):  # settled after 2 s
        _clock_at(monkeypatch, metadata_file, seconds)
        assert read_installed(info, prober=Prober())[0].version == Version("1.0")
        assert (parsed, len(read_bytes)) == (["x-1.0.dist-info"], checked), seconds


def test_a_broken_dist_info_warns_in_every_run(venv, caplog):
    info = probe_venv(venv)
    write_dist_info(info.purelib, "badver-1.0.dist-info", {"METADATA": metadata("badver", "x!y")})
    files = {"METADATA": metadata("y", "2.0"), "direct_url.json": "{not json"}
    write_dist_info(info.purelib, "y-2.0.dist-info", files)
    for _ in range(2):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="envsync.venv.environment"):
            (dist,) = read_installed(info, prober=Prober())
        assert dist.direct_url is None
        assert "badver-1.0" in caplog.text
        assert "y-2.0.dist-info/direct_url.json" in caplog.text


def test_shim_dir_holds_only_the_named_packages(other):
    folder = shim_dir(["packaging", "typing_extensions"])
    assert sorted(p.name for p in folder.iterdir()) == ["packaging", "typing_extensions.py"]
    assert shim_dir(["typing_extensions", "packaging"]) == folder
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import packaging, typing_extensions; "
        "print(packaging.__file__); print(typing_extensions.__file__)"
    )
    argv = [str(other.executable), "-I", "-B", "-c", code, str(folder)]
    lines = run(argv, env=clean_env(), error=VenvError).stdout.splitlines()
    assert all(line.startswith(str(folder)) for line in lines)


def test_shim_dir_is_built_once_under_concurrency(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(shim_dir(["packaging"]))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert len(set(results)) == 1
    base = results[0].parent
    assert sorted(p.name for p in base.iterdir()) == [results[0].name]
    assert [p.name for p in results[0].iterdir()] == ["packaging"]


def test_shim_dir_rejects_a_module_it_cannot_import():
    with pytest.raises(EnvsyncError, match="no_such_module_xyz"):
        shim_dir(["no_such_module_xyz"])
