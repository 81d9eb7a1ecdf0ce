"""drift.verify on real venvs, with real wheels installed by real pip."""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from packaging.utils import canonicalize_name

from envsync.venv.create import venv_python
from envsync.venv.drift import DriftItem, verify
from envsync.venv.environment import probe_venv, read_installed

from support import isolated_env
from support.wheels import build_wheel

if TYPE_CHECKING:
    from pathlib import Path

    from envsync.venv.drift import DriftKind
    from envsync.venv.environment import VenvInfo

pytestmark = pytest.mark.e2e

ALPHA_FILES = {
    "alpha/__init__.py": 'def main():\n    print("alpha")\n',
    "alpha/util.py": "VALUE = 1\n",
    "alpha/sub/__init__.py": "",
}


def make_venv(tmp_path: Path) -> Path:
    root = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(root)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return root


def pip_install(root: Path, *wheels: Path, compile_pyc: bool = True) -> None:
    argv = [sys.executable, "-m", "pip", "--python", str(venv_python(root)), "install"]
    argv += ["--no-index", "--no-deps", *([] if compile_pyc else ["--no-compile"])]
    subprocess.run(
        [*argv, *map(str, wheels)],
        env=isolated_env(),
        check=True,
        capture_output=True,
        timeout=300,
    )


def alpha_wheel(tmp_path: Path) -> Path:
    return build_wheel(
        tmp_path / "wheels",
        "alpha",
        "1.0",
        console_scripts={"alpha-cli": "alpha:main"},
        files=ALPHA_FILES,
    )


@pytest.fixture
def alpha_venv(tmp_path) -> VenvInfo:
    """A venv holding alpha 1.0 (a package, a subpackage and a console script)."""
    root = make_venv(tmp_path)
    pip_install(root, alpha_wheel(tmp_path))
    return probe_venv(root)


def item(kind: DriftKind, path: str, package: str = "alpha") -> DriftItem:
    return DriftItem(package=canonicalize_name(package), kind=kind, path=path)


def test_a_clean_venv_has_no_drift(alpha_venv):
    assert verify(alpha_venv) == ()


def test_an_edited_module_is_modified(alpha_venv):
    (alpha_venv.purelib / "alpha/util.py").write_text("VALUE = 2\n")
    assert verify(alpha_venv) == (item("modified", "alpha/util.py"),)


def test_an_edit_that_keeps_the_size_is_still_modified(alpha_venv):
    (alpha_venv.purelib / "alpha/util.py").write_text("VALUE = 7\n")
    assert verify(alpha_venv) == (item("modified", "alpha/util.py"),)


def test_a_deleted_file_is_missing(alpha_venv):
    (alpha_venv.purelib / "alpha/sub/__init__.py").unlink()
    assert verify(alpha_venv) == (item("missing", "alpha/sub/__init__.py"),)


def test_an_added_file_is_unrecorded(alpha_venv):
    (alpha_venv.purelib / "alpha/extra.py").write_text("x = 1\n")
    (alpha_venv.purelib / "alpha/sub/deeper").mkdir()
    (alpha_venv.purelib / "alpha/sub/deeper/data.txt").write_text("x\n")
    assert verify(alpha_venv) == (
        item("unrecorded", "alpha/extra.py"),
        item("unrecorded", "alpha/sub/deeper/data.txt"),
    )


def test_files_outside_the_package_folders_are_not_blamed(alpha_venv):
    (alpha_venv.purelib / "loose.py").write_text("x = 1\n")
    (alpha_venv.root / "bin" / "my-own-script").write_text("#!/bin/sh\n")
    assert verify(alpha_venv) == ()


def test_a_modified_console_script_is_modified(alpha_venv):
    script = alpha_venv.root / "bin" / "alpha-cli"
    script.write_text(script.read_text() + "# edited\n")
    (found,) = verify(alpha_venv)
    assert (found.package, found.kind) == ("alpha", "modified")
    assert found.path.endswith("/bin/alpha-cli")
    assert (alpha_venv.purelib / found.path).resolve() == script.resolve()


def test_bytecode_written_by_an_import_is_not_drift(tmp_path):
    root = make_venv(tmp_path)
    pip_install(root, alpha_wheel(tmp_path), compile_pyc=False)
    info = probe_venv(root)
    code = "import alpha.util, alpha.sub"
    subprocess.run([str(info.python), "-c", code], check=True, env=clean_python_env(), timeout=60)
    assert list((info.purelib / "alpha").glob("__pycache__/util.*.pyc"))
    assert verify(info) == ()


def clean_python_env() -> dict[str, str]:
    """The test run's environment, minus anything that stops Python writing bytecode."""
    env = isolated_env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPYCACHEPREFIX", None)
    return env


def test_drift_in_one_package_names_only_that_one(tmp_path):
    root = make_venv(tmp_path)
    beta = build_wheel(tmp_path / "wheels", "beta", "1.0")
    pip_install(root, alpha_wheel(tmp_path), beta)
    info = probe_venv(root)
    (info.purelib / "beta/__init__.py").write_text("broken = True\n")
    assert verify(info) == (item("modified", "beta/__init__.py", "beta"),)


def test_only_the_given_dists_are_verified(tmp_path):
    root = make_venv(tmp_path)
    pip_install(root, alpha_wheel(tmp_path), build_wheel(tmp_path / "wheels", "beta", "1.0"))
    info = probe_venv(root)
    (info.purelib / "beta/__init__.py").unlink()
    (info.purelib / "alpha/util.py").unlink()
    alpha = [dist for dist in read_installed(info) if dist.name == "alpha"]
    assert verify(info, alpha) == (item("missing", "alpha/util.py"),)
    assert verify(info, []) == ()


def test_a_shared_namespace_folder_blames_only_the_owner(tmp_path):
    root = make_venv(tmp_path)
    one = build_wheel(tmp_path / "wheels", "ns-one", "1.0", files={"ns/one/__init__.py": ""})
    two = build_wheel(tmp_path / "wheels", "ns-two", "1.0", files={"ns/two/__init__.py": ""})
    pip_install(root, one, two)
    info = probe_venv(root)
    (info.purelib / "ns/one/new.py").write_text("")
    (info.purelib / "ns/nobodys.py").write_text("")
    assert verify(info) == (item("unrecorded", "ns/one/new.py", "ns-one"),)


def test_record_paths_outside_the_venv_are_skipped_with_a_warning(alpha_venv, caplog):
    record = next(alpha_venv.purelib.glob("alpha-1.0.dist-info")) / "RECORD"
    escape = "../" * (len(alpha_venv.purelib.parts) + 2) + "etc/passwd"
    outside = alpha_venv.root.parent / "outside.txt"
    outside.write_text("not the venv's\n")
    rows = f"{escape},sha256=AAAA,1\n{outside},sha256=AAAA,1\n"
    record.write_text(record.read_text() + rows)
    with caplog.at_level(logging.WARNING, logger="envsync.venv.drift"):
        assert verify(alpha_venv) == ()
    assert "etc/passwd" in caplog.text
    assert "outside.txt" in caplog.text


def test_a_dist_without_record_is_skipped_with_a_warning(alpha_venv, caplog):
    (alpha_venv.purelib / "alpha-1.0.dist-info" / "RECORD").unlink()
    with caplog.at_level(logging.WARNING, logger="envsync.venv.drift"):
        assert verify(alpha_venv) == ()
    assert "alpha-1.0.dist-info" in caplog.text
