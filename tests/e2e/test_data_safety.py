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


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackageIndex]:
    root = tmp_path_factory.mktemp("safety-index")
    build_wheel(
        root,
        "okpkg",
        "1.0",
        files={"okpkg/__init__.py": "X = 1\n", "okpkg/shared.py": "OWNER = 'okpkg'\n"},
    )
    build_wheel(root, "script-python", "1.0", console_scripts={"python": "okpkg:main"})
    build_wheel(
        root,
        "data-python",
        "1.0",
        files={"data_python/__init__.py": "", "data_python-1.0.data/scripts/python": "#!/bin/sh\n"},
    )
    build_wheel(
        root,
        "data-cfg",
        "1.0",
        files={"data_cfg/__init__.py": "", "data_cfg-1.0.data/data/pyvenv.cfg": "home = /evil\n"},
    )
    build_wheel(
        root,
        "data-activate",
        "1.0",
        files={"data_activate/__init__.py": "", "data_activate-1.0.data/scripts/activate": "x\n"},
    )
    build_wheel(
        root,
        "bad-entry-points",
        "1.0",
        files={
            "bad_entry_points/__init__.py": "",
            "bad_entry_points-1.0.dist-info/entry_points.txt": "[console_scripts\nbroken =\n",
        },
    )
    build_wheel(
        root,
        "odd-data",
        "1.0",
        files={"odd_data/__init__.py": "", "odd_data-1.0.data/\x1belsewhere/x.txt": "x\n"},
    )
    build_wheel(
        root,
        "clash",
        "1.0",
        files={"clash/__init__.py": "", "okpkg/shared.py": "OWNER = 'clash'\n"},
    )
    served = PackageIndex(root).start()
    yield served
    served.stop()


def apply(capsys: pytest.CaptureFixture[str], project: Path, *args: str) -> tuple[int, str]:
    result = envsync(capsys, "apply", "--spec", str(project / "env.toml"), *args)
    return result.code, result.out + result.err


def project_with(tmp_path: Path, index: PackageIndex, deps: list[str], **env: str) -> Path:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    write_spec(project, deps, index_url=index.url)
    if env:
        text = (project / "env.toml").read_text()
        lines = "".join(f"{key} = {value!r}\n".replace("'", '"') for key, value in env.items())
        (project / "env.toml").write_text(text.replace("[env]\n", "[env]\n" + lines, 1))
    return project


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
        result = envsync(capsys, command, "--spec", str(project / "env.toml"))
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


def test_run_with_a_venv_path_naming_a_folder_leaves_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, index: PackageIndex
) -> None:
    project = project_with(tmp_path, index, ["okpkg"], venv="src")
    (project / "src").mkdir()
    before = user_files(project / "src")

    result = envsync(capsys, "run", "--spec", str(project / "env.toml"), "--", "true")

    assert result.code == EXIT_ERROR
    assert "not a virtual environment" in result.err
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


def test_check_reports_a_dead_venv_as_broken_and_a_folder_as_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, index: PackageIndex
) -> None:
    project = project_with(tmp_path, index, ["okpkg"])
    dead_venv(project, tmp_path)

    result = envsync(capsys, "check", "--spec", str(project / "env.toml"))
    assert result.code == 2
    assert "venv: broken (its interpreter no longer works" in result.out

    project = project_with(tmp_path, index, ["okpkg"], venv="src")
    (project / "src").mkdir()
    before = user_files(project / "src")
    result = envsync(capsys, "check", "--spec", str(project / "env.toml"))
    assert result.code == EXIT_ERROR
    assert "is a folder (holding README.md, pkg) that is not a virtual environment" in result.err
    assert tree_digest(project / "src") == before


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
    capsys: pytest.CaptureFixture[str], tmp_path: Path, index: PackageIndex
) -> None:
    project = project_with(tmp_path, index, ["okpkg"])
    assert apply(capsys, project)[0] == 0
    site = next((project / ".venv" / "lib").glob("python*/site-packages"))
    checkout = tmp_path / "checkout" / "okpkg"
    checkout.mkdir(parents=True)
    for n in range(300):
        (checkout / f"mod{n}.py").write_text(f"N = {n}\n")
    (checkout / "__init__.py").write_text("X = 'checkout'\n")
    (checkout / "shared.py").write_text("OWNER = 'checkout'\n")
    before = tree_digest(checkout)
    shutil.rmtree(site / "okpkg")
    (site / "okpkg").symlink_to(checkout, target_is_directory=True)

    write_spec(project, [], index_url=index.url)
    done = envsync_process(project, "apply")

    assert done.returncode == 0, done.stderr
    assert tree_digest(checkout) == before
    assert not list(site.glob("okpkg-*.dist-info"))
    # Its RECORD lists 2 files, both under the link: said once, with where the link leads.
    said = f"not removing 2 file(s) of okpkg-1.0 under {site / 'okpkg'}: it is a link to {checkout}"
    assert said in done.stderr


def test_installing_through_a_symlinked_folder_out_of_the_venv_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, index: PackageIndex
) -> None:
    project = project_with(tmp_path, index, [])
    assert apply(capsys, project)[0] == 0
    site = next((project / ".venv" / "lib").glob("python*/site-packages"))
    checkout = tmp_path / "checkout"
    before = user_files(checkout)
    (site / "okpkg").symlink_to(checkout, target_is_directory=True)

    write_spec(project, ["okpkg"], index_url=index.url)
    code, text = apply(capsys, project)

    assert code == EXIT_ERROR
    assert "a link that leads out of the venv" in text
    assert tree_digest(checkout) == before


# -- 3. a wheel writes only its own files ----------------------------------------------------


@pytest.mark.parametrize(
    ("package", "target"),
    [
        ("script-python", "bin/python"),
        ("data-python", "bin/python"),
        ("data-activate", "bin/activate"),
        ("data-cfg", "pyvenv.cfg"),
    ],
)
def test_a_wheel_that_would_overwrite_the_venv_itself_is_refused(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    index: PackageIndex,
    package: str,
    target: str,
) -> None:
    project = project_with(tmp_path, index, ["okpkg"])
    assert apply(capsys, project)[0] == 0
    venv = project / ".venv"
    before = tree_digest(venv)

    write_spec(project, ["okpkg", package], index_url=index.url)
    code, text = apply(capsys, project)

    assert code == EXIT_ERROR
    assert f"it would overwrite the venv's own {target}" in text
    assert tree_digest(venv) == before
    write_spec(project, ["okpkg"], index_url=index.url)  # the venv still works afterwards
    assert apply(capsys, project)[0] == 0
    assert venv_packages(project) == {"okpkg": "1.0"}


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_other_installers_cannot_overwrite_the_venv_itself_either(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, index: PackageIndex, installer: str
) -> None:
    project = project_with(tmp_path, index, ["okpkg"], installer=installer)
    assert apply(capsys, project)[0] == 0
    venv = project / ".venv"
    cfg = (venv / "pyvenv.cfg").read_bytes()

    write_spec(project, ["okpkg", "data-cfg"], index_url=index.url)
    text = (project / "env.toml").read_text()
    chosen = text.replace("[env]\n", f'[env]\ninstaller = "{installer}"\n')
    (project / "env.toml").write_text(chosen)
    code, out = apply(capsys, project)

    assert code == EXIT_ERROR
    assert "change the venv's own pyvenv.cfg" in out
    assert (venv / "pyvenv.cfg").read_bytes() == cfg
    assert venv_packages(project) == {"okpkg": "1.0"}


def test_rollback_restores_a_file_another_package_overwrote(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, index: PackageIndex
) -> None:
    project = project_with(tmp_path, index, ["okpkg"])
    assert apply(capsys, project)[0] == 0
    site = next((project / ".venv" / "lib").glob("python*/site-packages"))
    shared = site / "okpkg" / "shared.py"
    original = shared.read_bytes()

    write_spec(project, ["okpkg", "clash"], index_url=index.url)
    failed = envsync_process(
        project,
        "apply",
        env={"ENVSYNC_FAULT": "before-commit", "ENVSYNC_FAULT_SIGNAL": "TERM"},
    )

    assert failed.returncode == 143, failed.stderr
    assert shared.read_bytes() == original
    assert venv_packages(project) == {"okpkg": "1.0"}
    # Without the fault the install wins, as with pip, and the venv is exactly the lock.
    code, text = apply(capsys, project)
    assert code == 0, text
    assert shared.read_bytes() == b"OWNER = 'clash'\n"


# -- 4. messages, not internal errors --------------------------------------------------------


@pytest.mark.parametrize(
    ("package", "says"),
    [
        ("bad-entry-points", "its entry_points.txt cannot be read"),
        ("odd-data", r"odd_data-1.0.data/\x1belsewhere/x.txt is not in a .data subfolder"),
    ],
)
def test_a_malformed_wheel_gets_a_message_and_changes_nothing(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    index: PackageIndex,
    package: str,
    says: str,
) -> None:
    project = project_with(tmp_path, index, ["okpkg"])
    assert apply(capsys, project)[0] == 0
    before = tree_digest(project / ".venv")

    write_spec(project, ["okpkg", package], index_url=index.url)
    code, text = apply(capsys, project)

    assert code == EXIT_ERROR
    assert says in text
    assert "internal error" not in text
    assert "\x1b" not in text
    assert tree_digest(project / ".venv") == before


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
    project = project_with(tmp_path, index, [])
    assert apply(capsys, project)[0] == 0
    venv = project / ".venv"
    before = tree_digest(venv)
    write_spec(project, ["okpkg"], index_url=index.url)
    with read_only(venv):
        code, text = apply(capsys, project)
    assert code == EXIT_ERROR
    assert "internal error" not in text
    assert f"cannot change {venv}" in text
    assert "read-only" in text.lower() or "permission denied" in text.lower()
    assert tree_digest(venv) == before
