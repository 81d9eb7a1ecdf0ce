"""The CI step: --frozen, --locked, check, plan --detailed-exitcode, --json, --quiet, colour."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import jsonschema
import pytest

from helpers import envsync, envsync_process, snapshot, venv_packages, venv_python, write_spec
from support import run_pip

if TYPE_CHECKING:
    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "schemas" / "report.schema.json").read_text("utf-8")
)


def report(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> dict[str, object]:
    """Run with --json; the document must validate against the published schema."""
    result = envsync(capsys, *args, "--json", project=root)
    document = json.loads(result.out)
    jsonschema.validate(document, SCHEMA)
    assert document["exit_code"] == result.code
    return document


def test_frozen_installs_the_lock_as_it_is_and_never_resolves(
    capsys: pytest.CaptureFixture[str], synced: Path, package_index: PackageIndex
) -> None:
    lock_before = (synced / "pylock.toml").read_bytes()
    write_spec(synced, ["alpha", "theta"], index_url=package_index.url)  # now stale
    run_pip("--python", venv_python(synced), "uninstall", "-y", "beta")

    result = envsync(capsys, "apply", "--frozen", project=synced)

    assert result.code == 0
    assert "+ beta 2.0" in result.out
    assert venv_packages(synced) == {"alpha": "2.0", "beta": "2.0"}  # no theta: not locked
    assert (synced / "pylock.toml").read_bytes() == lock_before


def test_frozen_without_a_lock_is_an_error(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    result = envsync(capsys, "apply", "--frozen", project=project)
    assert result.code == 1
    assert "--frozen needs a lock" in result.err
    assert snapshot(project) == {"lock": None, "venv": None}


def test_locked_fails_on_a_stale_lock_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], synced: Path, package_index: PackageIndex
) -> None:
    write_spec(synced, ["alpha", "theta"], index_url=package_index.url)
    before = snapshot(synced)

    result = envsync(capsys, "apply", "--locked", project=synced)

    assert result.code == 1
    assert "the lock is out of date: env.toml" in result.err
    assert snapshot(synced) == before


def test_check_passes_when_lock_and_venv_agree(
    capsys: pytest.CaptureFixture[str], synced: Path, package_index: PackageIndex
) -> None:
    requests = len(package_index.requests)
    result = envsync(capsys, "check", project=synced)
    assert result.code == 0
    assert result.out.splitlines()[-1] == "In sync."
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

    result = envsync(capsys, "check", project=synced)

    assert result.code == 2
    assert says in result.out
    assert result.out.splitlines()[-1] == "Out of sync: run `envsync apply` to fix it."


def test_check_with_a_group_checks_that_group(
    capsys: pytest.CaptureFixture[str], synced: Path
) -> None:
    result = envsync(capsys, "check", "--group", "dev", project=synced)
    assert result.code == 2
    assert "+ cli-tool 1.0" in result.out
    assert envsync(capsys, "apply", "--group", "dev", project=synced).code == 0
    assert envsync(capsys, "check", "--group", "dev", project=synced).code == 0
    assert envsync(capsys, "check", project=synced).code == 0  # the remembered group
    assert envsync(capsys, "check", "--no-default-groups", project=synced).code == 2  # extra


def test_check_on_a_bad_spec_is_an_error_not_drift(
    capsys: pytest.CaptureFixture[str], synced: Path
) -> None:
    (synced / "env.toml").write_text("[env]\ndependencies = 3\n")
    result = envsync(capsys, "check", project=synced)
    assert result.code == 1
    assert "env.dependencies" in result.err


def test_plan_detailed_exitcode(
    capsys: pytest.CaptureFixture[str], synced: Path, package_index: PackageIndex
) -> None:
    assert envsync(capsys, "plan", "--detailed-exitcode", project=synced).code == 0
    write_spec(synced, ["alpha", "theta"], index_url=package_index.url)
    result = envsync(capsys, "plan", "--detailed-exitcode", project=synced)
    assert result.code == 2
    assert "+ theta 1.0" in result.out
    # without the flag, changes are no error
    assert envsync(capsys, "plan", project=synced).code == 0
    (synced / "env.toml").write_text("not toml [")
    assert envsync(capsys, "plan", "--detailed-exitcode", project=synced).code == 1


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
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    result = envsync(capsys, "apply", "--json", project=project)
    assert result.code == 0
    json.loads(result.out)  # the whole of stdout is one document
    assert result.err == ""


def test_quiet_prints_no_progress(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    result = envsync(capsys, "apply", "--quiet", project=project)
    assert result.code == 0
    assert result.err == ""
    assert "+ alpha 2.0" in result.out


def run_on_a_terminal(
    project: Path, *args: str, env: dict[str, str | None] | None = None, stderr: bool = False
) -> str:
    """Run envsync with stdout (or stderr) on a pseudo-terminal, as a user's shell would."""
    leader, follower = pty.openpty()
    try:
        streams = (follower, subprocess.DEVNULL)
        stdout, err = streams[::-1] if stderr else streams
        envsync_process(project, *args, env=env, stdout=stdout, stderr=err, timeout=120)
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
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    assert "\x1b[" in run_on_a_terminal(project, "plan", env={"NO_COLOR": None})
    assert "\x1b[" not in run_on_a_terminal(project, "plan", env={"NO_COLOR": "1"})
    assert "\x1b[" not in envsync(capsys, "plan", project=project).out  # not a terminal


def test_a_usage_error_has_its_own_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    result = envsync(capsys, "check", "--no-such-flag")
    assert result.code == 64  # never 2, which means "out of sync"
    assert "unrecognized arguments: --no-such-flag" in result.err


def test_installs_show_a_progress_bar_on_a_terminal_only(
    capsys: pytest.CaptureFixture[str], project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = run_on_a_terminal(project, "apply", stderr=True)
    assert "installing" in shown
    assert "2/2" in shown
    shutil.rmtree(project / ".venv")
    monkeypatch.setenv("ENVSYNC_FASTPATH", "0")  # the installer again, not the replay path
    result = envsync(capsys, "apply", project=project)  # not a terminal: lines, no bar
    assert result.code == 0
    assert "\r" not in result.err
    assert "Installing 2 package(s)..." in result.err
