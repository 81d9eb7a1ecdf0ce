"""`envsync init` and `envsync export`, for real: compared with what pip itself installs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from envsync.usecases.project import load_spec

from helpers import applied, envsync, venv_packages, venv_python, write_spec
from support import isolated_env, run_pip
from support.wheels import build_project_dir

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

if TYPE_CHECKING:
    from pathlib import Path

    from helpers import SyncProject
    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e


def init(capsys: pytest.CaptureFixture[str], project: Path, *args: str) -> str:
    """``envsync init ARGS`` writing project/env.toml; it must succeed. Its stderr."""
    result = envsync(capsys, "init", *args, project=project)
    assert result.code == 0, result.err
    return result.err


def bare_venv(root: Path, like: Path) -> Path:
    """A venv without pip at root/.venv, made by the interpreter of the venv *like*."""
    subprocess.run(
        [str(venv_python(like)), "-m", "venv", "--without-pip", str(root / ".venv")],
        check=True,
        env=isolated_env(),
    )
    return venv_python(root)


def pip_install(python: Path, *args: str | Path) -> None:
    """Real pip, run from the test's interpreter against the venv of *python*."""
    proc = run_pip("--python", python, "install", *args)
    assert proc.returncode == 0, proc.stderr


def pip_installs_the_same(requirements: Path, project: Path, index: PackageIndex) -> None:
    """pip, given *requirements* with --require-hashes, makes a venv equal to *project*'s."""
    fresh = bare_venv(project.parent / "fresh", like=project)
    pip_install(
        fresh, "--no-deps", "--require-hashes", "-r", requirements, "--index-url", index.url
    )
    assert venv_packages(project.parent / "fresh") == venv_packages(project)


# --- init --from requirements.txt --------------------------------------------------------------


def test_init_from_requirements_then_apply_installs_what_pip_would(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    reqs = tmp_path / "reqs"
    reqs.mkdir()
    (reqs / "base.txt").write_text("alpha  # the main thing\n", "utf-8")
    requirements = reqs / "requirements.txt"
    requirements.write_text(
        f"--index-url {package_index.url}\n"
        "-r base.txt\n"
        "gamma[fast]\n"
        "epsilon; python_version >= '3.8'\n"
        "--pre\n",
        "utf-8",
    )
    project = tmp_path / "project"

    err = init(capsys, project, "--from", str(requirements))
    assert "warning: " in err
    assert "dropped --pre" in err
    spec = load_spec(project / "env.toml")
    assert spec.index.url == package_index.url
    applied(capsys, project)

    reference = bare_venv(tmp_path / "pip", like=project)
    pip_install(reference, "-r", requirements)
    assert venv_packages(project) == venv_packages(tmp_path / "pip")
    assert set(venv_packages(project)) >= {"alpha", "beta", "gamma", "delta", "epsilon"}


def test_init_writes_an_editable_folder_as_a_source(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lib = tmp_path / "libs" / "mylib"
    lib.mkdir(parents=True)
    (lib / "pyproject.toml").write_text('[project]\nname = "mylib"\n', "utf-8")
    requirements = tmp_path / "libs" / "requirements.txt"
    requirements.write_text("-e ./mylib\n", "utf-8")

    init(capsys, tmp_path / "app", "--from", str(requirements))

    spec = load_spec(tmp_path / "app" / "env.toml")
    assert [str(r) for r in spec.dependencies] == ["mylib"]
    source = spec.source("mylib")
    assert source is not None
    assert (source.path, source.editable) == ("../libs/mylib", True)


# --- init --from pyproject.toml ----------------------------------------------------------------

PYPROJECT = """\
[project]
name = "myproj"
version = "0.1"
requires-python = ">=3.8"
dependencies = ["alpha"]

[project.optional-dependencies]
fast = ["gamma[fast]"]

[dependency-groups]
test = ["theta"]
dev = [{include-group = "test"}, "cli-tool"]
"""


def test_init_from_pyproject_then_apply_a_group(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, "utf-8")
    init(capsys, tmp_path, "--from", str(tmp_path / "pyproject.toml"), "--no-project")
    text = (tmp_path / "env.toml").read_text("utf-8")
    assert "not extras" in text
    data = tomllib.loads(text)
    assert data["env"] == {"python": ">=3.8", "dependencies": ["alpha"]}
    assert data["groups"] == {
        "fast": ["gamma[fast]"],
        "test": ["theta"],
        "dev": ["theta", "cli-tool"],
    }
    # The test index is the only index a test may reach.
    with (tmp_path / "env.toml").open("a", encoding="utf-8") as fh:
        fh.write(f'\n[index]\nurl = "{package_index.url}"\n')

    base = {"alpha": "2.0", "beta": "2.0"}
    for group, adds in (
        ("dev", {"theta": "1.0", "cli-tool": "1.0"}),
        ("fast", {"gamma": "1.0", "delta": "1.0"}),
    ):
        applied(capsys, tmp_path, "--group", group)
        assert venv_packages(tmp_path) == {**base, **adds}, group


def test_init_from_pyproject_installs_the_project_itself_editable(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    built = build_project_dir(tmp_path / "build", "myproj", "0.1", requires=["alpha"])
    project = tmp_path / "myproj"
    shutil.copytree(built, project)
    with (project / "pyproject.toml").open("a", encoding="utf-8") as fh:  # the in-tree backend's
        fh.write('\n[project]\nname = "myproj"\nversion = "0.1"\ndependencies = ["alpha"]\n')
        fh.write('\n[dependency-groups]\ntest = ["theta"]\n')

    assert init(capsys, project, "--from", str(project / "pyproject.toml")) == ""
    data = tomllib.loads((project / "env.toml").read_text("utf-8"))
    assert data["env"]["dependencies"] == ["myproj", "alpha"]
    assert data["sources"] == {"myproj": {"path": ".", "editable": True}}
    with (project / "env.toml").open("a", encoding="utf-8") as fh:
        fh.write(f'\n[index]\nurl = "{package_index.url}"\n')

    assert "+ myproj 0.1 (editable, from file://" in applied(capsys, project, "--group", "test")

    assert venv_packages(project) == {
        "myproj": "0.1",
        "alpha": "2.0",
        "beta": "2.0",
        "theta": "1.0",
    }
    code = "import myproj; print(myproj.__file__)"
    where = subprocess.run(
        [str(venv_python(project)), "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert where == str(project / "myproj" / "__init__.py")  # its own sources, not a copy


def test_init_from_a_pyproject_without_a_project_name_says_it_left_the_project_out(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.black]\nline-length = 100\n\n[dependency-groups]\ndev = ["theta"]\n', "utf-8"
    )

    err = init(capsys, tmp_path, "--from", str(tmp_path / "pyproject.toml"))

    assert err == (
        f"warning: {tmp_path / 'pyproject.toml'} has no [project] name, so the project itself "
        "is not added (only a named project can be installed); pass --no-project to leave it "
        "out quietly\n"
    )
    data = tomllib.loads((tmp_path / "env.toml").read_text("utf-8"))
    assert (data["env"]["dependencies"], "sources" in data) == ([], False)
    assert data["groups"] == {"dev": ["theta"]}
    again = envsync(capsys, "init", "--from", str(tmp_path / "pyproject.toml"), "--no-project",
                    "--force", project=tmp_path)  # fmt: skip
    assert (again.code, again.err) == (0, "")


# --- init: the template, refusals and errors ---------------------------------------------------


def test_init_without_from_writes_a_template_envsync_loads(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    init(capsys, tmp_path / "new")
    spec = load_spec(tmp_path / "new" / "env.toml")
    assert str(spec.python) == f">={sys.version_info.major}.{sys.version_info.minor}"
    assert spec.dependencies == ()

    init(capsys, tmp_path / "new", "--python", "3.12", "--force")
    assert str(load_spec(tmp_path / "new" / "env.toml").python) == "==3.12.*"


def test_init_refuses_to_overwrite(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "env.toml").write_text("# mine\n", "utf-8")

    result = envsync(capsys, "init", project=tmp_path)

    assert result.code == 1
    assert f"{tmp_path / 'env.toml'} already exists" in result.err
    assert "--force" in result.err
    assert (tmp_path / "env.toml").read_text("utf-8") == "# mine\n"


def test_init_reports_every_bad_line_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    requirements = tmp_path / "req.txt"
    requirements.write_text("alpha\nrequests >>> 2\n# ok\n--frobnicate\nbeta\n", "utf-8")

    result = envsync(capsys, "init", "--from", str(requirements), project=tmp_path)

    assert result.code == 1
    assert result.err.count("error:") == 1
    assert f"{requirements}:2: expected a PEP 508 requirement" in result.err
    assert f"{requirements}:4: expected a requirement or a pip option" in result.err
    assert not (tmp_path / "env.toml").exists()


def test_init_from_a_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    result = envsync(capsys, "init", "--from", str(tmp_path / "nope.txt"), project=tmp_path)
    assert result.code == 1
    assert "nope.txt was not found" in result.err


# --- export ------------------------------------------------------------------------------------


@pytest.fixture
def exported(sync_project: SyncProject, tmp_path: Path) -> Path:
    """A project applied from the test index, with a dev group not installed."""
    deps = ["alpha", "gamma[fast]", "epsilon"]
    return sync_project(tmp_path / "project", deps, groups={"dev": ["cli-tool"]})


def test_export_installs_with_require_hashes_to_the_same_venv(
    capsys: pytest.CaptureFixture[str], exported: Path, tmp_path: Path, package_index: PackageIndex
) -> None:
    output = tmp_path / "req.txt"
    result = envsync(capsys, "export", "-o", str(output), project=exported)
    assert result.code == 0, result.err
    assert result.out.startswith("Exported ")
    text = output.read_text("utf-8")
    assert text.startswith("# Exported from pylock.toml by envsync")
    assert "cli-tool" not in text

    pip_installs_the_same(output, exported, package_index)

    stdout = envsync(capsys, "export", project=exported)
    assert stdout.out == text


def test_export_a_group(
    capsys: pytest.CaptureFixture[str], exported: Path, tmp_path: Path, package_index: PackageIndex
) -> None:
    output = tmp_path / "dev.txt"
    result = envsync(capsys, "export", "--group", "dev", "-o", str(output), project=exported)
    assert result.code == 0, result.err
    assert "cli-tool==1.0 \\\n    --hash=sha256:" in output.read_text("utf-8")

    applied(capsys, exported, "--group", "dev")
    pip_installs_the_same(output, exported, package_index)


def test_export_a_stale_lock_warns_and_exports_it_as_it_is(
    capsys: pytest.CaptureFixture[str], exported: Path, package_index: PackageIndex
) -> None:
    write_spec(exported, ["alpha", "theta"], index_url=package_index.url)
    requests = len(package_index.requests)

    result = envsync(capsys, "export", project=exported)

    assert result.code == 0
    assert "warning: pylock.toml is out of date" in result.err
    assert "gamma==1.0" in result.out
    assert "theta" not in result.out
    assert len(package_index.requests) == requests  # never resolves


def test_export_without_a_lock_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    write_spec(tmp_path, ["alpha"], index_url=package_index.url)

    result = envsync(capsys, "export", project=tmp_path)

    assert result.code == 1
    assert "export needs a lock" in result.err
    assert not (tmp_path / "pylock.toml").exists()


def test_export_refuses_an_unknown_format(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    result = envsync(capsys, "export", "--format", "pylock")
    assert result.code == 64
    assert "invalid choice: 'pylock'" in result.err
