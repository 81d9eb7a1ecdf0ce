"""Several environments from one lock (issue 12): ``[envs.NAME]``, ``-e``, ``--all-envs``, ``envs``.

A project with two named environments on this machine's two Pythons (3.11 and 3.12), each
with its own groups, all installed from one pylock.toml against the local index. What a user
sees: the venvs and what they hold, the one lock, per-environment reports and exit codes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import jsonschema
import pytest
from packaging.specifiers import SpecifierSet

from envsync.errors import InterpreterNotFoundError
from envsync.venv.interpreters import find_python

from helpers import envsync, lock_packages, read_lock, venv_packages

if TYPE_CHECKING:
    from support.pkgindex import PackageIndex
    from support.runner import Result

pytestmark = pytest.mark.e2e

REPORT_SCHEMA = jsonschema.Draft202012Validator(
    json.loads((Path(__file__).parents[2] / "schemas" / "report.schema.json").read_text("utf-8"))
)


def _has(minor: str) -> bool:
    try:
        find_python(SpecifierSet(f"=={minor}.*"))
    except InterpreterNotFoundError:
        return False
    return True


TWO_PYTHONS = pytest.mark.skipif(
    not (_has("3.11") and _has("3.12")), reason="needs Python 3.11 and 3.12 on this machine"
)


def spec_text(index_url: str, *, default_python: str = "3.12", extra: str = "") -> str:
    """alpha and epsilon for all; py311 adds the group test (theta), py312 the group lint."""
    return f"""\
[env]
python = "{default_python}"
dependencies = ["alpha", "epsilon", "kappa"]

[groups]
test = ["theta"]
lint = ["gamma"]

[envs.py311]
python = "3.11"
groups = ["test"]

[envs.py312]
python = "3.12"
groups = ["lint"]
{extra}
[index]
url = "{index_url}"
"""


@pytest.fixture
def project(tmp_path: Path, package_index: PackageIndex) -> Path:
    (tmp_path / "env.toml").write_text(spec_text(package_index.url), "utf-8")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> Result:
    command, *rest = args  # --spec before the rest: run's command line ends with the command
    return envsync(capsys, command, "--spec", str(root / "env.toml"), *rest)


@pytest.fixture
def applied(capsys: pytest.CaptureFixture[str], project: Path) -> Path:
    """The project with ``apply --all-envs`` done."""
    result = run(capsys, project, "apply", "--all-envs")
    assert result.code == 0, result
    return project


@TWO_PYTHONS
def test_apply_all_envs_builds_each_venv_from_one_lock(
    capsys: pytest.CaptureFixture[str], applied: Path
) -> None:
    py311, py312 = (
        venv_packages(applied, venv=applied / ".venvs/py311"),
        venv_packages(applied, venv=applied / ".venvs/py312"),
    )
    # Each its own groups, each its own Python's choice, and a shared package alike.
    assert py311 == {
        "alpha": "2.0", "beta": "2.0", "epsilon": "1.0", "zeta": "1.0", "kappa": "0.9",
        "theta": "1.0",
    }  # fmt: skip
    shared = {"alpha": "2.0", "beta": "2.0", "epsilon": "1.0"}
    assert py312 == {**shared, "kappa": "1.0", "gamma": "1.0"}
    assert "theta" not in venv_packages(applied)  # [env] installs no group
    # One lock, whose targets are both Pythons on this platform.
    targets = {t["python"] for t in read_lock(applied)["tool"]["envsync"]["targets"]}
    assert targets == {"3.11", "3.12"}
    assert set(lock_packages(applied)) >= {"alpha", "theta", "gamma", "zeta", "kappa"}


@TWO_PYTHONS
def test_several_envs_lock_once_and_head_each_env(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    result = run(capsys, project, "apply", "-e", "py311", "-e", "py312")
    assert result.code == 0, result
    assert "== env py311 (.venvs/py311) ==" in result.out
    assert "== env py312 (.venvs/py312) ==" in result.out
    assert result.out.index("env py311") < result.out.index("env py312")
    # The first environment locked for both; the second found the lock fresh.
    assert result.err.count("Resolving") == 2  # one line per target, one lock run
    assert not (project / ".venv").exists()  # only the environments asked for
    again = run(capsys, project, "apply", "-e", "py311", "-e", "py312")
    assert again.code == 0
    assert "Resolving" not in again.err


@TWO_PYTHONS
def test_check_all_envs_is_one_gate_with_a_report_per_env(
    capsys: pytest.CaptureFixture[str], applied: Path
) -> None:
    ok = run(capsys, applied, "check", "--all-envs")
    assert ok.code == 0, ok
    assert "Environments:" in ok.out
    assert "py311    .venvs/py311  in sync" in ok.out
    # Drift in one environment: the gate fails, and says which.
    (dist_info,) = (applied / ".venvs/py312/lib").glob("python3.12/site-packages/gamma-*.dist-info")
    shutil.rmtree(dist_info)  # as if someone uninstalled gamma by hand
    drift = run(capsys, applied, "check", "--all-envs")
    assert drift.code == 2
    assert "py311    .venvs/py311  in sync" in drift.out
    assert "py312    .venvs/py312  drift" in drift.out
    assert "Out of sync: run `envsync apply -e py312` to fix it." in drift.out  # its own fix
    report = json.loads(run(capsys, applied, "check", "--all-envs", "--json").out)
    REPORT_SCHEMA.validate(report)
    assert report["exit_code"] == 2
    assert report["status"] == "drift"
    states = {e["env"]: (e["state"], e["exit_code"]) for e in report["data"]["envs"]}
    assert states == {"default": ("in sync", 0), "py311": ("in sync", 0), "py312": ("drift", 2)}


@TWO_PYTHONS
def test_run_in_several_envs_exits_with_the_first_failure(
    capsys: pytest.CaptureFixture[str], applied: Path
) -> None:
    said = applied / "said.txt"  # the command's own output goes past capsys
    code = f"import sys, kappa; open({str(said)!r}, 'a').write(sys.version[:4] + ' ok\\n')"
    both = run(capsys, applied, "run", "-e", "py311", "-e", "py312", "--", "python", "-c", code)
    assert both.code == 0, both
    assert said.read_text().splitlines() == ["3.11 ok", "3.12 ok"]
    assert "== env py311 (.venvs/py311) ==" in both.err  # the command's stdout stays its own
    # theta is in py311 only: the command fails in py312, and the run says so.
    fails = run(capsys, applied, "run", "-e", "py311", "-e", "py312", "--", "python", "-c",
                "import theta")  # fmt: skip
    assert fails.code == 1
    assert "the command exited 1 in environment py312" in fails.err
    assert "in environment py311" not in fails.err


@TWO_PYTHONS
def test_envs_lists_each_state_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    assert run(capsys, project, "apply", "-e", "py311").code == 0
    listed = run(capsys, project, "envs")
    assert listed.code == 0, listed
    lines = listed.out.splitlines()
    assert lines[0].split() == ["NAME", "VENV", "PYTHON", "GROUPS", "STATE"]
    assert lines[1].split()[0] == "default"
    assert lines[1].endswith("missing")
    assert lines[2].split()[:2] == ["py311", ".venvs/py311"]
    assert "3.11" in lines[2]
    assert "test" in lines[2]
    assert lines[2].endswith("in sync")
    assert lines[3].endswith("missing")
    report = json.loads(run(capsys, project, "envs", "--json").out)
    REPORT_SCHEMA.validate(report)
    assert [(e["name"], e["state"]) for e in report["data"]["envs"]] == [
        ("default", "missing"),
        ("py311", "in sync"),
        ("py312", "missing"),
    ]
    assert not (project / ".venvs" / "py312").exists()
    # env.toml gains a group: every environment's lock is stale, none is changed.
    before = (project / "pylock.toml").read_bytes()
    text = (project / "env.toml").read_text("utf-8").replace('lint = ["gamma"]', 'lint = ["delta"]')
    (project / "env.toml").write_text(text, "utf-8")
    stale = run(capsys, project, "envs")
    assert stale.out.splitlines()[2].endswith("lock stale")
    assert (project / "pylock.toml").read_bytes() == before


def test_envs_shows_the_groups_a_venv_was_last_applied_with(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    spec = spec_text(package_index.url, default_python="3.11")
    (tmp_path / "env.toml").write_text(spec, "utf-8")
    assert run(capsys, tmp_path, "apply", "--group", "lint").code == 0

    listed = run(capsys, tmp_path, "envs")

    default = listed.out.splitlines()[1].split()
    assert default[0] == "default"
    assert "lint" in default  # what [env]'s venv holds, as check reads it
    assert listed.out.splitlines()[1].endswith("in sync")


def test_an_unknown_env_is_named_with_the_known_ones(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    result = run(capsys, project, "apply", "-e", "pyy311")
    assert result.code == 1
    assert "there is no environment named 'pyy311' (environments: default, py311, py312)" in (
        result.err
    )
    assert "did you mean 'py311'?" in result.err
    assert not (project / "pylock.toml").exists()


def test_e_without_envs_explains_how_to_declare_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    (tmp_path / "env.toml").write_text(f'[index]\nurl = "{package_index.url}"\n', "utf-8")
    result = run(capsys, tmp_path, "check", "-e", "py312")
    assert result.code == 1
    assert "env.toml declares none besides the default one" in result.err
    assert "[envs.py312]" in result.err
    assert run(capsys, tmp_path, "check", "-e", "a", "--all-envs").code == 64


def test_export_names_one_env(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    result = run(capsys, project, "export", "-e", "py311", "-e", "py312")
    assert result.code == 1
    assert "one environment at a time" in result.err


def test_an_env_whose_python_is_missing_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    extra = '[envs.old]\npython = "3.1"\n'
    (tmp_path / "env.toml").write_text(spec_text(package_index.url, extra=extra), "utf-8")
    result = run(capsys, tmp_path, "plan", "-e", "old")
    assert result.code == 1
    assert "environment 'old': no Python interpreter matching '==3.1.*'" in result.err
    assert "[envs.old] python" in result.err
