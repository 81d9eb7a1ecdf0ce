"""The CI step: --frozen, --locked, check, plan --detailed-exitcode, --json, --quiet, colour."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import jsonschema
import pytest

from helpers import envsync, snapshot, venv_packages, venv_python, write_spec
from support import isolated_env, run_pip

if TYPE_CHECKING:
    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "schemas" / "report.schema.json").read_text("utf-8")
)


@pytest.fixture
def synced(capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex) -> Path:
    """A project whose venv equals its fresh lock: alpha (and beta), group dev = cli-tool."""
    write_spec(tmp_path, ["alpha"], index_url=package_index.url, groups={"dev": ["cli-tool"]})
    assert envsync(capsys, "apply", "--spec", str(tmp_path / "env.toml")).code == 0
    return tmp_path


def cli(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, str, str]:
    result = envsync(capsys, *args, "--spec", str(root / "env.toml"))
    return result.code, result.out, result.err


def report(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> dict[str, object]:
    """Run with --json; the document must validate against the published schema."""
    code, out, _ = cli(capsys, root, *args, "--json")
    document = json.loads(out)
    jsonschema.validate(document, SCHEMA)
    assert document["exit_code"] == code
    return document


def test_frozen_installs_the_lock_as_it_is_and_never_resolves(
    capsys: pytest.CaptureFixture[str], synced: Path, package_index: PackageIndex
) -> None:
    lock_before = (synced / "pylock.toml").read_bytes()
    write_spec(synced, ["alpha", "theta"], index_url=package_index.url)  # now stale
    run_pip("--python", venv_python(synced), "uninstall", "-y", "beta")

    code, out, _ = cli(capsys, synced, "apply", "--frozen")

    assert code == 0
    assert "+ beta 2.0" in out
    assert venv_packages(synced) == {"alpha": "2.0", "beta": "2.0"}  # no theta: not locked
    assert (synced / "pylock.toml").read_bytes() == lock_before


def test_frozen_without_a_lock_is_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    write_spec(tmp_path, ["alpha"], index_url=package_index.url)
    code, _, err = cli(capsys, tmp_path, "apply", "--frozen")
    assert code == 1
    assert "--frozen needs a lock" in err
    assert snapshot(tmp_path) == {"lock": None, "venv": None}


def test_locked_fails_on_a_stale_lock_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], synced: Path, package_index: PackageIndex
) -> None:
    write_spec(synced, ["alpha", "theta"], index_url=package_index.url)
    before = snapshot(synced)

    code, _, err = cli(capsys, synced, "apply", "--locked")

    assert code == 1
    assert "the lock is out of date: env.toml" in err
    assert snapshot(synced) == before


def test_check_passes_when_lock_and_venv_agree(
    capsys: pytest.CaptureFixture[str], synced: Path, package_index: PackageIndex
) -> None:
    requests = len(package_index.requests)
    code, out, _ = cli(capsys, synced, "check")
    assert code == 0
    assert out.splitlines()[-1] == "In sync."
    assert len(package_index.requests) == requests  # check never resolves


@pytest.mark.parametrize(
    ("breakage", "says"),
    [
        pytest.param("hand-install", "- theta 1.0", id="extra package"),
        pytest.param("uninstall", "+ beta 2.0", id="missing package"),
        pytest.param("spec", "lock: stale (env.toml", id="stale lock"),
        pytest.param("no-lock", "lock: missing", id="no lock"),
        pytest.param("no-venv", "venv: missing", id="no venv"),
    ],
)
def test_check_exits_2_and_says_what_differs(
    capsys: pytest.CaptureFixture[str],
    synced: Path,
    package_index: PackageIndex,
    breakage: str,
    says: str,
) -> None:
    python = venv_python(synced)
    if breakage == "hand-install":
        run_pip("--python", python, "install", "--index-url", package_index.url, "theta")
    elif breakage == "uninstall":
        run_pip("--python", python, "uninstall", "-y", "beta")
    elif breakage == "spec":
        write_spec(synced, ["alpha", "theta"], index_url=package_index.url)
    elif breakage == "no-lock":
        (synced / "pylock.toml").unlink()
    else:
        shutil.rmtree(synced / ".venv")

    code, out, _ = cli(capsys, synced, "check")

    assert code == 2
    assert says in out
    assert out.splitlines()[-1] == "Out of sync: run `envsync apply` to fix it."


def test_check_with_a_group_checks_that_group(
    capsys: pytest.CaptureFixture[str], synced: Path
) -> None:
    code, out, _ = cli(capsys, synced, "check", "--group", "dev")
    assert code == 2
    assert "+ cli-tool 1.0" in out
    assert cli(capsys, synced, "apply", "--group", "dev")[0] == 0
    assert cli(capsys, synced, "check", "--group", "dev")[0] == 0
    assert cli(capsys, synced, "check")[0] == 2  # now cli-tool is extra


def test_check_on_a_bad_spec_is_an_error_not_drift(
    capsys: pytest.CaptureFixture[str], synced: Path
) -> None:
    (synced / "env.toml").write_text("[env]\ndependencies = 3\n")
    code, _, err = cli(capsys, synced, "check")
    assert code == 1
    assert "env.dependencies" in err


def test_plan_detailed_exitcode(
    capsys: pytest.CaptureFixture[str], synced: Path, package_index: PackageIndex
) -> None:
    assert cli(capsys, synced, "plan", "--detailed-exitcode")[0] == 0
    write_spec(synced, ["alpha", "theta"], index_url=package_index.url)
    code, out, _ = cli(capsys, synced, "plan", "--detailed-exitcode")
    assert code == 2
    assert "+ theta 1.0" in out
    assert cli(capsys, synced, "plan")[0] == 0  # without the flag, changes are no error
    (synced / "env.toml").write_text("not toml [")
    assert cli(capsys, synced, "plan", "--detailed-exitcode")[0] == 1


def test_json_reports_validate_against_the_schema(
    capsys: pytest.CaptureFixture[str], synced: Path, package_index: PackageIndex
) -> None:
    clean = report(capsys, synced, "check")
    assert clean["status"] == "ok"
    assert clean["data"]["in_sync"] is True

    write_spec(synced, ["theta"], index_url=package_index.url)
    planned = report(capsys, synced, "plan")
    assert planned["status"] == "changes"
    changes = {c["name"]: c["action"] for c in planned["data"]["plan"]["changes"]}
    assert changes == {"alpha": "remove", "beta": "remove", "theta": "install"}

    drift = report(capsys, synced, "check")
    assert drift["status"] == "drift"
    assert drift["exit_code"] == 2
    assert drift["data"]["lock"]["state"] == "stale"

    applied = report(capsys, synced, "apply")
    assert applied["status"] == "ok"
    assert applied["data"]["plan"]["summary"] == {
        "install": 1,
        "upgrade": 0,
        "downgrade": 0,
        "reinstall": 0,
        "remove": 2,
    }
    assert applied["data"]["lock"]["change"] == "updated"

    (synced / "env.toml").write_text("[env]\npyhton = '3'\n")
    failed = report(capsys, synced, "apply")
    assert failed["status"] == "error"
    assert failed["exit_code"] == 1
    assert failed["errors"][0]["code"] == "spec-invalid"


def test_json_mode_prints_only_the_document_on_stdout(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    write_spec(tmp_path, ["alpha"], index_url=package_index.url)
    code, out, err = cli(capsys, tmp_path, "apply", "--json")
    assert code == 0
    json.loads(out)  # the whole of stdout is one document
    assert err == ""


def test_quiet_prints_no_progress(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    write_spec(tmp_path, ["alpha"], index_url=package_index.url)
    code, out, err = cli(capsys, tmp_path, "apply", "--quiet")
    assert code == 0
    assert err == ""
    assert "+ alpha 2.0" in out


def run_on_a_terminal(args: list[str], env: dict[str, str], *, stderr: bool = False) -> str:
    """Run envsync with stdout (or stderr) on a pseudo-terminal, as a user's shell would."""
    leader, follower = pty.openpty()
    try:
        subprocess.run(
            [sys.executable, "-m", "envsync", *args],
            stdout=subprocess.DEVNULL if stderr else follower,
            stderr=follower if stderr else subprocess.DEVNULL,
            env=env,
            check=False,
            timeout=120,
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode()
    finally:
        os.close(leader)


def test_colour_only_on_a_terminal_and_never_with_no_color(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    write_spec(tmp_path, ["alpha"], index_url=package_index.url)
    args = ["plan", "--spec", str(tmp_path / "env.toml")]
    env = isolated_env()
    env.pop("NO_COLOR", None)
    assert "\x1b[" in run_on_a_terminal(args, env)
    assert "\x1b[" not in run_on_a_terminal(args, {**env, "NO_COLOR": "1"})
    assert "\x1b[" not in cli(capsys, tmp_path, "plan")[1]  # not a terminal


def test_a_usage_error_has_its_own_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    result = envsync(capsys, "check", "--no-such-flag")
    assert result.code == 64  # never 2, which means "out of sync"
    assert "unrecognized arguments: --no-such-flag" in result.err


def test_installs_show_a_progress_bar_on_a_terminal_only(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    write_spec(tmp_path, ["alpha"], index_url=package_index.url)
    shown = run_on_a_terminal(
        ["apply", "--spec", str(tmp_path / "env.toml")], isolated_env(), stderr=True
    )
    assert "installing" in shown
    assert "2/2" in shown
    shutil.rmtree(tmp_path / ".venv")
    code, _, err = cli(capsys, tmp_path, "apply")  # not a terminal: lines, no bar
    assert code == 0
    assert "\r" not in err
    assert "Installing 2 package(s)..." in err
