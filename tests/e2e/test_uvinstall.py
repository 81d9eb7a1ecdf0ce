"""installer = "uv": `uv pip install` puts exactly the lock into the venv, from the local index."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import tomli_w
from packaging.utils import canonicalize_name

from envsync.core.lockfile import Artifact, Wanted
from envsync.core.spec import IndexConfig, parse_spec
from envsync.install.uv import UvInstaller
from envsync.resolve.uv import find_uv
from envsync.usecases import backends
from envsync.venv.environment import probe_venv

from helpers import envsync, lock_versions, snapshot, venv_packages
from support import isolated_env
from support.pkgindex import PackageIndex
from support.wheels import build_project_dir, build_wheel

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from envsync.errors import EnvsyncError

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(find_uv() is None, reason="uv is not installed (it is a test extra)"),
]

USER = "envsync-user"
SECRET = "s3cr3t-token"  # noqa: S105 - the test looks for it in every output


@pytest.fixture(autouse=True)
def _private_uv_and_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold uv cache per test; the machine's ~/.netrc and ENVSYNC_INDEX_* kept out."""
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    for name in [n for n in os.environ if n.startswith("ENVSYNC_INDEX")]:
        monkeypatch.delenv(name)


# -- helpers --------------------------------------------------------------------------------


def write_env(root: Path, dependencies: list[str], index_url: str, **env: object) -> str:
    """env.toml asking for the uv installer (unless *env* says otherwise); its path."""
    settings = {"dependencies": dependencies, "keep": [], "installer": "uv", **env}
    data = {"env": settings, "index": {"url": index_url}}
    (root / "env.toml").write_text(tomli_w.dumps(data), "utf-8")
    return str(root / "env.toml")


def apply_ok(capsys: pytest.CaptureFixture[str], spec: str, *args: str) -> str:
    result = envsync(capsys, "apply", "--spec", spec, *args)
    assert result.code == 0, result.err
    return result.out


def site_packages(root: Path) -> Path:
    return next((root / ".venv").glob("lib/python*/site-packages"))


def installers(root: Path) -> set[str]:
    """What the INSTALLER files of the venv's dists say."""
    return {p.read_text("utf-8").strip() for p in site_packages(root).glob("*.dist-info/INSTALLER")}


def run_venv(program: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(program), *args], check=False, capture_output=True, text=True, env=isolated_env()
    )


# -- installing and removing ----------------------------------------------------------------


def test_the_spec_chooses_the_uv_installer(tmp_path: Path) -> None:
    spec = parse_spec('[env]\ninstaller = "uv"\n', path=tmp_path / "env.toml")
    assert isinstance(backends.installer_for(spec), UvInstaller)


def test_apply_installs_exactly_the_lock_and_removes_what_it_no_longer_holds(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    spec = write_env(
        tmp_path, ["alpha", "gamma[fast]", "cli-tool", "sdist-only"], package_index.url
    )

    apply_ok(capsys, spec)

    expected = {
        "alpha": "2.0",
        "beta": "2.0",
        "gamma": "1.0",
        "delta": "1.0",
        "cli-tool": "1.0",
        "sdist-only": "1.0",  # an sdist: uv builds it
    }
    assert venv_packages(tmp_path) == expected == lock_versions(tmp_path)
    assert installers(tmp_path) == {"uv"}
    assert run_venv(tmp_path / ".venv" / "bin" / "hello").stdout == "hello from cli-tool\n"
    assert envsync(capsys, "check", "--verify", "--spec", spec).code == 0
    assert "No changes" in apply_ok(capsys, spec)

    write_env(tmp_path, ["alpha<2"], package_index.url)  # a downgrade, and five removals
    apply_ok(capsys, spec)

    assert venv_packages(tmp_path) == {"alpha": "1.0"}
    assert not (tmp_path / ".venv" / "bin" / "hello").exists()
    assert envsync(capsys, "check", "--verify", "--spec", spec).code == 0


@pytest.mark.parametrize("editable", [True, False], ids=["editable", "not-editable"])
def test_a_local_folder_is_installed_as_the_lock_says(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    package_index: PackageIndex,
    editable: bool,
) -> None:
    folder = build_project_dir(tmp_path / "libs", "mylib", "0.1", requires=["theta"])
    spec = write_env(tmp_path, ["mylib"], package_index.url)
    source = {"mylib": {"path": folder.relative_to(tmp_path).as_posix(), "editable": editable}}
    with (tmp_path / "env.toml").open("a", encoding="utf-8") as out:
        out.write(tomli_w.dumps({"sources": source}))

    apply_ok(capsys, spec)

    assert venv_packages(tmp_path) == {"mylib": "0.1", "theta": "1.0"}
    imported = run_venv(
        tmp_path / ".venv" / "bin" / "python", "-c", "import mylib; print(mylib.__file__)"
    )
    assert imported.stdout.startswith(str(folder)) is editable
    assert envsync(capsys, "check", "--verify", "--spec", spec).code == 0


def test_apply_verify_repairs_a_file_edited_in_the_venv(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    # uv hard-links files from its cache: the reinstall must not link the edited copy back.
    spec = write_env(tmp_path, ["theta"], package_index.url)
    apply_ok(capsys, spec)
    module = site_packages(tmp_path) / "theta" / "__init__.py"
    with module.open("a", encoding="utf-8") as edit:
        edit.write("EDITED = True\n")
    assert envsync(capsys, "check", "--verify", "--spec", spec).code == 2

    apply_ok(capsys, spec, "--verify")

    assert module.read_text("utf-8") == '__version__ = "1.0"\n'
    assert envsync(capsys, "check", "--verify", "--spec", spec).code == 0


@pytest.mark.parametrize("compile_bytecode", [True, False], ids=["compile", "no-compile"])
def test_compile_bytecode_writes_pyc_files(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    package_index: PackageIndex,
    compile_bytecode: bool,
) -> None:
    spec = write_env(
        tmp_path, ["theta"], package_index.url, **{"compile-bytecode": compile_bytecode}
    )

    apply_ok(capsys, spec)

    compiled = list((site_packages(tmp_path) / "theta").glob("__pycache__/__init__.*.pyc"))
    assert bool(compiled) is compile_bytecode
    assert envsync(capsys, "check", "--verify", "--spec", spec).code == 0


# -- indexes and credentials ------------------------------------------------------------------


@pytest.fixture
def locked_internal(tmp_path: Path) -> Iterator[PackageIndex]:
    """A named index behind basic auth, serving private-pkg 1.0 (which needs beta)."""
    root = tmp_path / "internal"
    build_wheel(root, "private-pkg", "1.0", requires=["beta>=1.0"])
    with PackageIndex(root, auth=(USER, SECRET)) as index:
        yield index


def write_pinned_env(root: Path, public: PackageIndex, internal: PackageIndex) -> str:
    data = {
        "env": {"dependencies": ["private-pkg", "alpha"], "keep": [], "installer": "uv"},
        "index": {"url": public.url},
        "indexes": {"internal": {"url": internal.url}},
        "sources": {"private-pkg": {"index": "internal"}},
    }
    (root / "env.toml").write_text(tomli_w.dumps(data), "utf-8")
    return str(root / "env.toml")


def test_a_package_from_a_named_index_with_credentials(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    package_index: PackageIndex,
    locked_internal: PackageIndex,
) -> None:
    monkeypatch.setenv("ENVSYNC_INDEX_INTERNAL_USERNAME", USER)
    monkeypatch.setenv("ENVSYNC_INDEX_INTERNAL_PASSWORD", SECRET)
    spec = write_pinned_env(tmp_path, package_index, locked_internal)

    with caplog.at_level(logging.DEBUG, logger="envsync"):
        out = apply_ok(capsys, spec, "--verbose")

    assert venv_packages(tmp_path) == {"private-pkg": "1.0", "alpha": "2.0", "beta": "2.0"}
    assert "/files/private_pkg-1.0-py3-none-any.whl" in "\n".join(locked_internal.requests)
    assert " pip install " in caplog.text  # uv's command line was logged, without the secret
    assert SECRET not in out + capsys.readouterr().err + caplog.text


def test_a_refused_download_is_a_clear_error(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    package_index: PackageIndex,
    locked_internal: PackageIndex,
) -> None:
    monkeypatch.setenv("ENVSYNC_INDEX_INTERNAL_USERNAME", USER)
    monkeypatch.setenv("ENVSYNC_INDEX_INTERNAL_PASSWORD", SECRET)
    spec = write_pinned_env(tmp_path, package_index, locked_internal)
    assert envsync(capsys, "lock", "--spec", spec).code == 0
    monkeypatch.delenv("ENVSYNC_INDEX_INTERNAL_PASSWORD")  # the lock is there; the login is not

    result = envsync(capsys, "apply", "--frozen", "--spec", spec)

    assert result.code == 1
    assert "an index refused a download (no or wrong credentials)" in result.err
    assert "ENVSYNC_INDEX_<NAME>_USERNAME" in result.err
    assert "Traceback" not in result.err
    assert SECRET not in result.out + result.err
    assert not (tmp_path / ".venv").exists()


def test_a_file_that_does_not_match_its_locked_hash_is_not_installed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    spec = write_env(tmp_path, ["theta"], package_index.url)
    assert envsync(capsys, "lock", "--spec", spec).code == 0
    lock = tmp_path / "pylock.toml"
    text = lock.read_text("utf-8")
    good = text.split('sha256 = "')[1].split('"')[0]
    lock.write_text(text.replace(good, "0" * 64), "utf-8")

    result = envsync(capsys, "apply", "--frozen", "--spec", spec)

    assert result.code == 1
    assert "does not match the hash in pylock.toml" in result.err
    assert "Hash mismatch" in result.err  # uv's own words, for the details
    assert not (tmp_path / ".venv").exists()


# -- no uv ----------------------------------------------------------------------------------


@pytest.fixture
def no_uv(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine without uv: not on PATH, and no ``uv`` Python package to ask."""
    path = os.environ.get("PATH", "").split(os.pathsep)
    monkeypatch.setenv("PATH", os.pathsep.join(d for d in path if not (Path(d) / "uv").exists()))
    monkeypatch.setitem(sys.modules, "uv", None)  # `import uv` now raises ImportError
    assert find_uv() is None


MISSING = 'error: env.toml asks for installer = "uv", but uv is not installed'
FIX = 'hint: install uv (pip install uv), or set installer = "native" (or "pip")'


@pytest.mark.usefixtures("no_uv")
def test_a_missing_uv_is_a_clear_error_and_nothing_is_made(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    spec = write_env(tmp_path, ["alpha"], package_index.url)

    result = envsync(capsys, "apply", "--spec", spec)

    assert result.code == 1
    assert MISSING in result.err
    assert FIX in result.err
    assert "Traceback" not in result.err
    assert not (tmp_path / ".venv").exists()
    assert not (tmp_path / "pylock.toml").exists()


def test_a_missing_uv_leaves_an_existing_venv_as_it_was(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    package_index: PackageIndex,
) -> None:
    spec = write_env(tmp_path, ["alpha"], package_index.url, installer="native")
    apply_ok(capsys, spec)
    before = snapshot(tmp_path)
    write_env(tmp_path, ["alpha", "theta"], package_index.url)  # now installer = "uv"
    monkeypatch.setattr(backends, "find_uv", lambda: None)

    result = envsync(capsys, "apply", "--spec", spec)

    assert result.code == 1
    assert MISSING in result.err
    assert snapshot(tmp_path) == before


# -- the command lines (the contract with uv) ----------------------------------------------


class Recorder:
    """A runner that records each argv, and the requirements file it names, instead of running."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], str | None]] = []

    def __call__(
        self,
        argv: Sequence[str],
        *,
        error: Callable[[str], EnvsyncError],  # noqa: ARG002 - the Runner signature
        cwd: Path | None = None,  # noqa: ARG002 - the Runner signature
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        assert env is not None
        assert env["UV_NO_CONFIG"] == "1"  # uv.toml and UV_* variables never add an index
        requirements = Path(argv[-1]).read_text("utf-8") if "-r" in argv else None
        self.calls.append((list(argv), requirements))
        return subprocess.CompletedProcess(list(argv), 0, "", "")


def wanted(name: str, artifact: Artifact, *, editable: bool = False) -> Wanted:
    return Wanted(name=canonicalize_name(name), version=None, artifact=artifact, editable=editable)


def test_the_uv_command_lines(tmp_path: Path) -> None:
    recorder = Recorder()
    uv = tmp_path / "uv"
    installer = UvInstaller(uv=uv, compile_bytecode=True, runner=recorder)
    root = tmp_path / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    venv = probe_venv(root)
    python = venv.python
    url = "https://files.example/a-1.0-py3-none-any.whl"
    wheel = Artifact(kind="wheel", url=url, sha256="ab" * 32)
    folder = Artifact(kind="directory", url=(tmp_path / "lib").as_uri())

    installer.install(
        venv,
        [wanted("a", wheel), wanted("lib", folder, editable=True)],
        index=IndexConfig(url="https://index.example/simple", find_links=(str(tmp_path),)),
    )

    head = [str(uv), "pip", "install", f"--python={python}", "--no-deps", "--reinstall"]
    head += ["--color=never", "--compile-bytecode"]
    options = ["--index-url=https://index.example/simple", f"--find-links={tmp_path}"]
    (hashed, wheels), (folders, local) = recorder.calls
    assert hashed[:-1] == [*head, "--require-hashes", *options, "-r"]
    assert wheels == f"a @ {url} --hash=sha256:{'ab' * 32}\n"
    assert folders[:-1] == [*head, *options, "-r"]
    assert local == f"-e {(tmp_path / 'lib').as_uri()}\n"
