"""envsync never deletes or changes what is not its own: user folders, symlinked working copies,
the venv's own interpreter and configuration. Each test sets up real user files and real
(sometimes malicious) wheels on a local index, runs the real CLI, and checks the user's files
byte for byte afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from envsync.errors import EXIT_ERROR

from helpers import envsync, envsync_process, venv_packages, write_spec
from support import tree_digest
from support.pkgindex import PackageIndex
from support.wheels import build_wheel

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.e2e


# -- the index of this module: ordinary and hostile wheels -----------------------------------


WHEELS = {
    "okpkg": {"okpkg/__init__.py": "X = 1\n", "okpkg/shared.py": "OWNER = 'okpkg'\n"},
    "data-python": {
        "data_python/__init__.py": "",
        "data_python-1.0.data/scripts/python": "#!/bin/sh\n",
    },
    "data-cfg": {"data_cfg/__init__.py": "", "data_cfg-1.0.data/data/pyvenv.cfg": "home = /evil\n"},
    "data-activate": {
        "data_activate/__init__.py": "",
        "data_activate-1.0.data/scripts/activate": "x\n",
    },
    "bad-entry-points": {
        "bad_entry_points/__init__.py": "",
        "bad_entry_points-1.0.dist-info/entry_points.txt": "[console_scripts\nbroken =\n",
    },
    "odd-data": {"odd_data/__init__.py": "", "odd_data-1.0.data/\x1belsewhere/x.txt": "x\n"},
    "clash": {"clash/__init__.py": "", "okpkg/shared.py": "OWNER = 'clash'\n"},
}
"""The files (path -> text) of each wheel of version 1.0 on this module's index."""


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackageIndex]:
    root = tmp_path_factory.mktemp("safety-index")
    for name, files in WHEELS.items():
        build_wheel(root, name, "1.0", files=files)
    build_wheel(root, "script-python", "1.0", console_scripts={"python": "okpkg:main"})
    served = PackageIndex(root).start()
    yield served
    served.stop()


def apply(capsys: pytest.CaptureFixture[str], project: Path, *args: str) -> tuple[int, str]:
    result = envsync(capsys, "apply", *args, project=project)
    return result.code, result.out + result.err


def project_with(tmp_path: Path, index: PackageIndex, deps: list[str], **env: str) -> Path:
    """tmp_path/project, its env.toml (re)written: *deps* from *index*, *env* keys in [env]."""
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    write_spec(project, deps, index_url=index.url)
    if env:
        text = (project / "env.toml").read_text()
        lines = "".join(f"{key} = {value!r}\n".replace("'", '"') for key, value in env.items())
        (project / "env.toml").write_text(text.replace("[env]\n", "[env]\n" + lines, 1))
    return project


def applied_project(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    index: PackageIndex,
    deps: list[str],
    **env: str,
) -> Path:
    """`project_with(...)`, applied: its venv holds *deps*."""
    project = project_with(tmp_path, index, deps, **env)
    code, text = apply(capsys, project)
    assert code == 0, text
    return project


@pytest.fixture
def installed(capsys: pytest.CaptureFixture[str], tmp_path: Path, index: PackageIndex) -> Path:
    """The project with okpkg installed in its venv."""
    return applied_project(capsys, tmp_path, index, ["okpkg"])


def site_packages(project: Path) -> Path:
    """The site-packages folder of the project's venv."""
    return next((project / ".venv" / "lib").glob("python*/site-packages"))


def user_files(folder: Path, count: int = 5) -> dict[str, str]:
    """Fill *folder* with a user's files; return their digest."""
    (folder / "pkg").mkdir(parents=True, exist_ok=True)
    for n in range(count):
        (folder / "pkg" / f"module{n}.py").write_text(f"VALUE = {n}\n")
    (folder / "README.md").write_text("my notes\n")
    return tree_digest(folder)


# -- 1. a venv path that names something else is refused, and it is left as it was -----------


@pytest.mark.parametrize("venv", ["src", "NOTES.md", "../other-project"])
def test_a_venv_path_naming_the_users_files_is_refused_and_they_stay(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, index: PackageIndex, venv: str
) -> None:
    project = project_with(tmp_path, index, ["okpkg"], venv=venv)
    (project / "src").mkdir()
    before_src = user_files(project / "src")
    (project / "NOTES.md").write_bytes(b"# notes\n")
    before_other = user_files(tmp_path / "other-project")

    code, text = apply(capsys, project)

    assert code == EXIT_ERROR
    says = {
        "src": "src is a folder (holding README.md, pkg) that is not a virtual environment",
        "NOTES.md": "NOTES.md is a file that is not a virtual environment",
        "../other-project": "other-project is a folder (holding README.md, pkg) that is not a",
    }
    assert says[venv] in text
    assert "Traceback" not in text
    assert tree_digest(project / "src") == before_src
    assert (project / "NOTES.md").read_bytes() == b"# notes\n"
    assert tree_digest(tmp_path / "other-project") == before_other
    assert not (project / "pylock.toml").exists()


@pytest.mark.parametrize(
    ("venv", "says"),
    [
        (".", "not the project folder or one above it"),
        ("..", "not the project folder or one above it"),
        ("env.toml", "it is the project's env.toml"),
        (".git", "it is the project's .git folder"),
        (".git/venv", "it is inside the project's .git folder"),
        ("/", "not the project folder or one above it"),
        ("../..", "not the project folder or one above it"),
    ],
)
def test_a_venv_path_over_the_projects_own_files_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, index: PackageIndex, venv: str, says: str
) -> None:
    project = project_with(tmp_path, index, ["okpkg"], venv=venv)
    (project / ".git").mkdir()
    (project / ".git" / "HEAD").write_bytes(b"ref: refs/heads/main\n")
    before = tree_digest(tmp_path)

    for command in ("apply", "plan", "lock"):
        result = envsync(capsys, command, project=project)
        assert result.code == EXIT_ERROR, command
        assert says in result.err
    assert tree_digest(tmp_path) == before


def test_a_home_folder_is_never_the_venv(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    index: PackageIndex,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home" / "someone"
    before = user_files(home)
    monkeypatch.setenv("HOME", str(home))
    project = project_with(tmp_path, index, ["okpkg"], venv=str(home))

    code, text = apply(capsys, project)

    assert code == EXIT_ERROR
    assert "it is a home folder" in text
    assert tree_digest(home) == before


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("run", "--", "true"), "not a virtual environment"),
        (("check",), "is a folder (holding README.md, pkg) that is not a virtual environment"),
    ],
    ids=["run", "check"],
)
def test_run_and_check_with_a_venv_path_naming_a_folder_leave_it(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    index: PackageIndex,
    args: tuple[str, ...],
    says: str,
) -> None:
    project = project_with(tmp_path, index, ["okpkg"], venv="src")
    (project / "src").mkdir()
    before = user_files(project / "src")

    result = envsync(capsys, *args, project=project)

    assert result.code == EXIT_ERROR
    assert says in result.err
    assert tree_digest(project / "src") == before


def test_an_empty_folder_becomes_the_venv(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, index: PackageIndex
) -> None:
    project = project_with(tmp_path, index, ["okpkg"])
    (project / ".venv").mkdir()  # a mount point, say

    code, text = apply(capsys, project)

    assert code == 0, text
    assert venv_packages(project) == {"okpkg": "1.0"}


# -- 1b. a venv whose interpreter is gone: recreated only when nothing of the user's is in it --


def dead_venv(project: Path, tmp_path: Path) -> Path:
    """A venv made from an interpreter that is then removed (its bin/python dangles)."""
    base = tmp_path / "gone-python" / "bin"
    base.mkdir(parents=True)
    (base / "python3").symlink_to(sys.executable)
    subprocess.run(
        [str(base / "python3"), "-m", "venv", "--without-pip", str(project / ".venv")], check=True
    )
    shutil.rmtree(tmp_path / "gone-python")
    assert not (project / ".venv" / "bin" / "python").exists()
    return project / ".venv"


def test_a_dead_venv_holding_user_files_is_not_deleted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, index: PackageIndex
) -> None:
    project = project_with(tmp_path, index, ["okpkg"])
    venv = dead_venv(project, tmp_path)
    (venv / "my-notes.txt").write_bytes(b"keep me\n")
    before = tree_digest(venv)

    code, text = apply(capsys, project)

    assert code == EXIT_ERROR
    assert "holds files that are not the venv's or its packages': my-notes.txt" in text
    assert tree_digest(venv) == before


def test_check_reports_a_dead_venv_as_broken(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, index: PackageIndex
) -> None:
    project = project_with(tmp_path, index, ["okpkg"])
    dead_venv(project, tmp_path)

    result = envsync(capsys, "check", project=project)
    assert result.code == 2
    assert "venv: broken (its interpreter no longer works" in result.out


def test_a_dead_venv_with_only_its_own_files_is_recreated(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, index: PackageIndex
) -> None:
    project = project_with(tmp_path, index, ["okpkg"])
    dead_venv(project, tmp_path)

    code, text = apply(capsys, project)

    assert code == 0, text
    assert "recreating" in text.lower()
    assert "no longer works" in text
    assert venv_packages(project) == {"okpkg": "1.0"}


# -- 2. removing a package never follows a link out of the venv ------------------------------


def test_removing_a_package_keeps_the_symlinked_working_copy(
    installed: Path, tmp_path: Path, index: PackageIndex
) -> None:
    site = site_packages(installed)
    checkout = tmp_path / "checkout" / "okpkg"
    checkout.mkdir(parents=True)
    for n in range(300):
        (checkout / f"mod{n}.py").write_text(f"N = {n}\n")
    (checkout / "__init__.py").write_text("X = 'checkout'\n")
    (checkout / "shared.py").write_text("OWNER = 'checkout'\n")
    before = tree_digest(checkout)
    shutil.rmtree(site / "okpkg")
    (site / "okpkg").symlink_to(checkout, target_is_directory=True)

    write_spec(installed, [], index_url=index.url)
    done = envsync_process(installed, "apply")

    assert done.returncode == 0, done.stderr
    assert tree_digest(checkout) == before
    assert not list(site.glob("okpkg-*.dist-info"))
    # Its RECORD lists 2 files, both under the link: said once, with where the link leads.
    said = f"not removing 2 file(s) of okpkg-1.0 under {site / 'okpkg'}: it is a link to {checkout}"
    assert said in done.stderr


def test_installing_through_a_symlinked_folder_out_of_the_venv_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, index: PackageIndex
) -> None:
    project = applied_project(capsys, tmp_path, index, [])
    site = site_packages(project)
    checkout = tmp_path / "checkout"
    before = user_files(checkout)
    (site / "okpkg").symlink_to(checkout, target_is_directory=True)

    code, text = apply(capsys, project_with(tmp_path, index, ["okpkg"]))

    assert code == EXIT_ERROR
    assert "a link that leads out of the venv" in text
    assert tree_digest(checkout) == before


# -- 3. a wheel writes only its own files ----------------------------------------------------


@pytest.mark.parametrize(
    ("package", "says"),
    [
        ("script-python", "it would overwrite the venv's own bin/python"),
        ("data-python", "it would overwrite the venv's own bin/python"),
        ("data-activate", "it would overwrite the venv's own bin/activate"),
        ("data-cfg", "it would overwrite the venv's own pyvenv.cfg"),
        ("bad-entry-points", "its entry_points.txt cannot be read"),
        ("odd-data", r"odd_data-1.0.data/\x1belsewhere/x.txt is not in a .data subfolder"),
    ],
)
def test_a_wheel_that_would_overwrite_the_venv_or_is_malformed_changes_nothing(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    index: PackageIndex,
    installed: Path,
    package: str,
    says: str,
) -> None:
    venv = installed / ".venv"
    before = tree_digest(venv)

    code, text = apply(capsys, project_with(tmp_path, index, ["okpkg", package]))

    assert code == EXIT_ERROR
    assert says in text
    assert "internal error" not in text
    assert "\x1b" not in text
    assert tree_digest(venv) == before
    # The venv still works afterwards.
    assert apply(capsys, project_with(tmp_path, index, ["okpkg"]))[0] == 0
    assert venv_packages(installed) == {"okpkg": "1.0"}


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_other_installers_cannot_overwrite_the_venv_itself_either(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, index: PackageIndex, installer: str
) -> None:
    project = applied_project(capsys, tmp_path, index, ["okpkg"], installer=installer)
    venv = project / ".venv"
    cfg = (venv / "pyvenv.cfg").read_bytes()

    code, out = apply(
        capsys, project_with(tmp_path, index, ["okpkg", "data-cfg"], installer=installer)
    )

    assert code == EXIT_ERROR
    assert "change the venv's own pyvenv.cfg" in out
    assert (venv / "pyvenv.cfg").read_bytes() == cfg
    assert venv_packages(project) == {"okpkg": "1.0"}


def test_rollback_restores_a_file_another_package_overwrote(
    capsys: pytest.CaptureFixture[str], installed: Path, index: PackageIndex
) -> None:
    shared = site_packages(installed) / "okpkg" / "shared.py"
    original = shared.read_bytes()

    write_spec(installed, ["okpkg", "clash"], index_url=index.url)
    failed = envsync_process(installed, "apply", fault="before-commit", fault_signal="TERM")

    assert failed.returncode == 143, failed.stderr
    assert shared.read_bytes() == original
    assert venv_packages(installed) == {"okpkg": "1.0"}
    # Without the fault the install wins, as with pip, and the venv is exactly the lock.
    code, text = apply(capsys, installed)
    assert code == 0, text
    assert shared.read_bytes() == b"OWNER = 'clash'\n"


# -- 4. messages, not internal errors --------------------------------------------------------


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """*folder* read-only: a read-only bind mount as root (who ignores modes), else modes."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    mount, umount = shutil.which("mount"), shutil.which("umount")
    if not sys.platform.startswith("linux") or not mount or not umount:
        pytest.skip("a read-only bind mount needs mount and umount on Linux")
    bound = subprocess.run([mount, "--bind", folder, folder], capture_output=True, check=False)
    if bound.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {bound.stderr.decode().strip()}")
    try:
        subprocess.run([mount, "-o", "remount,bind,ro", folder, folder], check=True)
        yield
    finally:
        subprocess.run([umount, "-l", folder], check=False)


def test_a_read_only_venv_gets_a_message(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, index: PackageIndex
) -> None:
    project = applied_project(capsys, tmp_path, index, [])
    venv = project / ".venv"
    before = tree_digest(venv)
    project_with(tmp_path, index, ["okpkg"])
    with read_only(venv):
        code, text = apply(capsys, project)
    assert code == EXIT_ERROR
    assert "internal error" not in text
    assert f"cannot change {venv}" in text
    assert "read-only" in text.lower() or "permission denied" in text.lower()
    assert tree_digest(venv) == before
