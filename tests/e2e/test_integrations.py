"""The shipped integrations: .pre-commit-hooks.yaml and the GitHub Actions example workflow."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from helpers import envsync, envsync_process, venv_packages, write_spec
from support import isolated_env

if TYPE_CHECKING:
    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e

REPO = Path(__file__).parents[2]
HOOKS = REPO / ".pre-commit-hooks.yaml"
WORKFLOW = REPO / "examples" / "github-actions" / "ci.yml"
BIN = Path(sys.executable).parent  # the venv running the tests: pre-commit etc. live here
WELL_KNOWN_ACTIONS = {
    "actions/checkout@v4",
    "actions/setup-python@v5",
    "actions/cache@v4",
    "actions/upload-artifact@v4",
}


def tool(name: str, *args: str | Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run a console script of the test venv; return its exit code and combined output."""
    proc = subprocess.run(
        [str(BIN / name), *map(str, args)],
        cwd=REPO,
        env=env or isolated_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return proc.returncode, proc.stdout + proc.stderr


def hooks() -> dict[str, dict[str, Any]]:
    """The hooks of .pre-commit-hooks.yaml by id."""
    data = yaml.safe_load(HOOKS.read_text("utf-8"))
    return {hook["id"]: hook for hook in data}


def workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def steps() -> list[dict[str, Any]]:
    return [step for job in workflow()["jobs"].values() for step in job["steps"]]


def envsync_lines() -> list[str]:
    """Every line of a `run:` script that runs envsync."""
    lines = (line.strip() for step in steps() for line in str(step.get("run", "")).splitlines())
    return [line for line in lines if line.startswith("envsync ")]


def hook_args(entry: str) -> list[str]:
    """The hook's arguments to envsync (run as `python -m envsync`: it need not be on PATH)."""
    words = shlex.split(entry)
    assert words[0] == "envsync"
    return words[1:]


# -- pre-commit -----------------------------------------------------------------------------


def test_the_hooks_manifest_is_valid_for_pre_commit(tmp_path: Path) -> None:
    env = isolated_env({"PRE_COMMIT_HOME": str(tmp_path / "pre-commit")})
    code, output = tool("pre-commit", "validate-manifest", HOOKS, env=env)
    assert code == 0, output


def test_the_hooks_run_only_for_env_toml_and_pylock_toml() -> None:
    found = hooks()
    assert set(found) == {"envsync-check", "envsync-lock"}
    for hook in found.values():
        assert hook["language"] == "python"
        assert hook["pass_filenames"] is False
        assert hook["files"] == r"^(env\.toml|pylock\.toml)$"
        assert hook["description"]
    assert found["envsync-check"]["entry"] == "envsync check"


def test_the_hook_entries_work_on_a_project(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    spec = write_spec(tmp_path, ["alpha"], index_url=package_index.url)
    assert envsync(capsys, "apply", project=tmp_path).code == 0
    check = hook_args(hooks()["envsync-check"]["entry"])
    lock = hook_args(hooks()["envsync-lock"]["entry"])

    in_sync = envsync_process(tmp_path, *check)
    assert in_sync.returncode == 0, in_sync.stdout + in_sync.stderr
    assert in_sync.stdout.splitlines()[-1] == "In sync."
    unchanged = (tmp_path / "pylock.toml").read_bytes()
    assert envsync_process(tmp_path, *lock).returncode == 0
    assert (tmp_path / "pylock.toml").read_bytes() == unchanged  # pre-commit: hook passes

    spec.write_text(spec.read_text("utf-8").replace('"alpha"', '"alpha", "theta"'), "utf-8")
    drift = envsync_process(tmp_path, *check)
    assert drift.returncode == 2, drift.stdout + drift.stderr
    assert "lock: stale" in drift.stdout

    relocked = envsync_process(tmp_path, *lock)
    assert relocked.returncode == 0, relocked.stderr
    assert relocked.stderr == ""  # --quiet: no progress lines
    assert (tmp_path / "pylock.toml").read_bytes() != unchanged  # pre-commit: hook fails
    still = envsync_process(tmp_path, *check)
    assert still.returncode == 2  # the lock is fresh now, but theta is not installed
    assert "+ theta 1.0" in still.stdout
    assert venv_packages(tmp_path) == {"alpha": "2.0", "beta": "2.0"}


# -- GitHub Actions -------------------------------------------------------------------------


def test_the_workflow_validates_against_the_github_workflow_schema() -> None:
    # The schema is vendored in check-jsonschema: no network is needed.
    code, output = tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", WORKFLOW)
    assert code == 0, output


def test_the_workflow_installs_the_frozen_lock_checks_it_and_reports() -> None:
    used = {step["uses"] for step in steps() if "uses" in step}
    assert used == WELL_KNOWN_ACTIONS
    cache = next(step for step in steps() if step.get("uses") == "actions/cache@v4")
    assert "hashFiles('pylock.toml')" in cache["with"]["key"]
    upload = next(step for step in steps() if step.get("uses") == "actions/upload-artifact@v4")
    assert upload["with"]["path"] == "envsync-report.json"

    lines = envsync_lines()
    for wanted in ("envsync apply --frozen", "envsync check", "envsync run -- pytest"):
        assert wanted in lines
    # The named environments' job: every environment from the one lock, one gate for all.
    for wanted in ("envsync apply --frozen --all-envs", "envsync check --all-envs"):
        assert wanted in lines
    assert "envsync run -e py311 -e py312 -- pytest" in lines
    assert "envsync check --json > envsync-report.json || code=$?" in lines
    installs = [str(step.get("run", "")) for step in steps()]
    assert any("pip install envsync" in run for run in installs)


@pytest.mark.parametrize("line", envsync_lines())
def test_every_envsync_command_in_the_workflow_is_valid(line: str) -> None:
    words = shlex.split(line, comments=True)
    # Stop at shell syntax (redirection, ||) and at `--`, after which the words are not ours.
    cut = next((i for i, w in enumerate(words) if w in {">", "|", "||", "&&", ";", "--"}), None)
    words = words[:cut]
    subcommand, *options = words[1:]

    usage = envsync_process(None, subcommand, "--help")

    assert usage.returncode == 0, usage.stderr
    for flag in (w.split("=", 1)[0] for w in options if w.startswith("-")):
        assert flag in usage.stdout, f"{line!r}: envsync {subcommand} has no option {flag}"
