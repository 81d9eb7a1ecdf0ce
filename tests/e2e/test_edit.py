"""`envsync add`, `remove` and `upgrade` against the local index: what a user sees.

env.toml is written by hand here, comments and odd spacing included, and compared byte for
byte after each edit: only the changed lines may differ. A failed edit leaves env.toml,
pylock.toml and the venv byte for byte as they were.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import jsonschema
import pytest

from helpers import envsync, envsync_process, lock_versions, venv_packages
from support import tree_digest
from support.wheels import build_wheel

if TYPE_CHECKING:
    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "schemas" / "report.schema.json").read_text("utf-8")
)

SPEC = """\
# Our project's environment: kept by hand, and by envsync add.
[env]
python = ">=3.10"    # any supported Python
dependencies = [
    "alpha",   # the main library
]

[index]
url = "{url}"
"""


def _project(root: Path, url: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "env.toml").write_text(SPEC.format(url=url), "utf-8")
    return root


def _state(root: Path) -> dict[str, object]:
    """env.toml, pylock.toml and the venv, byte for byte."""
    lock = root / "pylock.toml"
    venv = root / ".venv"
    return {
        "spec": (root / "env.toml").read_bytes(),
        "lock": lock.read_bytes() if lock.exists() else None,
        "venv": tree_digest(venv) if venv.exists() else None,
    }


@pytest.fixture
def synced(capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex):
    root = _project(tmp_path / "project", package_index.url)
    result = envsync(capsys, "apply", project=root)
    assert result.code == 0, result
    return root


@pytest.fixture
def synced_fresh(capsys: pytest.CaptureFixture[str], tmp_path: Path, fresh_index: PackageIndex):
    """Synced against an index of its own, which the test may publish to."""
    root = _project(tmp_path / "project", fresh_index.url)
    result = envsync(capsys, "apply", project=root)
    assert result.code == 0, result
    return root


def test_add_a_bare_name_writes_the_bound_resolved_locks_and_applies(capsys, synced):
    before = (synced / "env.toml").read_text("utf-8")

    result = envsync(capsys, "add", "gamma", project=synced)

    assert result.code == 0, result
    # Only the new line differs, and it bears the bound of the version resolved.
    assert (synced / "env.toml").read_text("utf-8") == before.replace(
        '"alpha",   # the main library\n', '"alpha",   # the main library\n    "gamma>=1.0",\n'
    )
    assert venv_packages(synced)["gamma"] == "1.0"
    assert lock_versions(synced)["gamma"] == "1.0"
    assert 'env.toml:\n  + "gamma>=1.0",' in result.out
    assert "    + gamma 1.0" in result.out  # the lock's change, per target
    assert "Applied to " in result.out
    # The lock was made for the file as written: check finds both in sync.
    assert envsync(capsys, "check", project=synced).code == 0


def test_add_keeps_an_explicit_specifier_as_written_and_reports_the_downgrade(capsys, synced):
    result = envsync(capsys, "add", "beta >=1.0, <2", project=synced)

    assert result.code == 0, result
    assert '    "beta >=1.0, <2",\n' in (synced / "env.toml").read_text("utf-8")
    assert venv_packages(synced)["beta"] == "1.0"
    assert "~ beta 2.0 -> 1.0" in result.out
    assert envsync(capsys, "check", project=synced).code == 0
    spec, lock = (synced / "env.toml").read_bytes(), (synced / "pylock.toml").read_bytes()

    again = envsync(capsys, "add", "beta >=1.0, <2", project=synced)

    assert again.code == 0, again
    assert "pylock.toml is up to date" in again.out
    assert "env.toml:" not in again.out
    assert (synced / "env.toml").read_bytes() == spec
    assert (synced / "pylock.toml").read_bytes() == lock


def test_add_to_a_new_group_makes_it_and_installs_it(capsys, synced):
    before = (synced / "env.toml").read_text("utf-8")

    result = envsync(capsys, "add", "--group", "docs", "--bounds", "major", "delta", project=synced)

    assert result.code == 0, result
    assert (synced / "env.toml").read_text("utf-8") == (
        before + '\n[groups]\ndocs = ["delta>=1.0,<2"]\n'
    )
    assert venv_packages(synced)["delta"] == "1.0"
    assert envsync(capsys, "check", "--group", "docs", project=synced).code == 0


def test_edits_keep_the_groups_the_venv_was_applied_with(capsys, synced):
    assert envsync(capsys, "add", "--group", "docs", "delta", project=synced).code == 0
    assert envsync(capsys, "add", "--group", "tools", "cli-tool", project=synced).code == 0
    # The second add installed its group beside the first one's, not instead of it.
    assert {"delta", "cli-tool"} <= set(venv_packages(synced))

    assert envsync(capsys, "remove", "alpha", project=synced).code == 0
    installed = venv_packages(synced)
    assert "alpha" not in installed
    assert {"delta", "cli-tool"} <= set(installed)
    # A plain apply and check afterwards mean the same groups: nothing to do, in sync.
    result = envsync(capsys, "apply", project=synced)
    assert result.code == 0, result
    assert "No changes" in result.out
    assert envsync(capsys, "check", project=synced).code == 0


def test_add_with_no_apply_locks_and_leaves_the_venv(capsys, synced):
    venv = tree_digest(synced / ".venv")
    lock = (synced / "pylock.toml").read_bytes()

    result = envsync(capsys, "add", "--no-apply", "--bounds", "exact", "theta", project=synced)

    assert result.code == 0, result
    assert '"theta==1.0",' in (synced / "env.toml").read_text("utf-8")
    assert (synced / "pylock.toml").read_bytes() != lock
    assert lock_versions(synced)["theta"] == "1.0"
    assert tree_digest(synced / ".venv") == venv
    assert "Applied" not in result.out
    # The lock is fresh for env.toml; only the venv is behind.
    check = envsync(capsys, "check", project=synced)
    assert check.code == 2
    assert "lock: fresh" in check.out


def test_add_frozen_edits_env_toml_only(capsys, synced):
    lock = (synced / "pylock.toml").read_bytes()
    venv = tree_digest(synced / ".venv")

    result = envsync(capsys, "add", "--frozen", "theta", project=synced)

    assert result.code == 0, result
    assert '"theta",' in (synced / "env.toml").read_text("utf-8")  # nothing resolved: no bound
    assert (synced / "pylock.toml").read_bytes() == lock
    assert tree_digest(synced / ".venv") == venv
    assert "theta was written without a version bound: --frozen resolves nothing" in result.err
    assert "pylock.toml was not updated (--frozen)" in result.out


def test_remove_prunes_the_lock_without_resolving_and_the_venv(capsys, synced):
    assert envsync(capsys, "add", "gamma", project=synced).code == 0
    before = (synced / "env.toml").read_text("utf-8")

    result = envsync(capsys, "remove", "GAMMA", project=synced)

    assert result.code == 0, result
    assert (synced / "env.toml").read_text("utf-8") == before.replace('    "gamma>=1.0",\n', "")
    assert "gamma" not in venv_packages(synced)
    assert "gamma" not in lock_versions(synced)
    assert "Resolving" not in result.err  # pruned from the lock's own graph
    assert "    - gamma 1.0" in result.out
    assert envsync(capsys, "check", project=synced).code == 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["add", "nosuchpackage"], "nosuchpackage"),
        (["add", "beta<1.0"], "beta"),  # alpha 2.0 needs beta>=1.0: a conflict
        (["add", "alpha @ file:///nonexistent/alpha"], "alpha"),
        (["remove", "alpah"], "did you mean 'alpha'?"),
        (["remove", "--group", "dev", "alpha"], "env.toml has no group 'dev'"),
        (["upgrade", "bta"], "did you mean 'beta'?"),
    ],
)
def test_a_bad_edit_leaves_everything_byte_for_byte(capsys, synced, args, says):
    before = _state(synced)

    result = envsync(capsys, *args, project=synced)

    assert result.code == 1, result
    assert says in result.err
    assert "Traceback" not in result.err
    assert _state(synced) == before


def test_a_failed_apply_writes_neither_env_toml_nor_the_lock(
    capsys, tmp_path, synced_fresh, fresh_index
):
    # It resolves and locks; installing it would overwrite the venv's pyvenv.cfg: refused.
    files = {"data_cfg/__init__.py": "", "data_cfg-1.0.data/data/pyvenv.cfg": "home = /evil\n"}
    fresh_index.add(build_wheel(tmp_path / "new", "data-cfg", "1.0", files=files))
    before = _state(synced_fresh)

    result = envsync(capsys, "add", "data-cfg", project=synced_fresh)

    assert result.code == 1, result
    assert "pyvenv.cfg" in result.err
    assert "env.toml and pylock.toml were left as they were" in result.err
    assert _state(synced_fresh) == before


def test_upgrade_moves_a_package_to_a_new_release_and_dry_run_changes_nothing(
    capsys, tmp_path, synced_fresh, fresh_index
):
    assert venv_packages(synced_fresh)["beta"] == "2.0"
    fresh_index.add(build_wheel(tmp_path / "new", "beta", "3.0"))
    before = _state(synced_fresh)

    dry = envsync(capsys, "upgrade", "--dry-run", project=synced_fresh)  # every package

    assert dry.code == 0, dry
    assert "~ beta 2.0 -> 3.0" in dry.out
    assert "would be updated" in dry.out
    assert _state(synced_fresh) == before

    result = envsync(capsys, "upgrade", "beta", "--json", project=synced_fresh)

    assert result.code == 0, result
    report = json.loads(result.out)
    jsonschema.validate(report, SCHEMA)
    changes = report["data"]["lock"]["changes"]
    assert [c["changed"] for c in changes] == [[{"name": "beta", "from": "2.0", "to": "3.0"}]]
    assert report["data"]["apply"]["plan"]["summary"]["upgrade"] == 1
    assert venv_packages(synced_fresh)["beta"] == "3.0"
    assert (synced_fresh / "env.toml").read_bytes() == before["spec"]
    assert envsync(capsys, "check", project=synced_fresh).code == 0


def test_add_json_reports_the_lines_and_the_lock_changes(capsys, synced):
    result = envsync(capsys, "add", "--no-apply", "--json", "theta", project=synced)

    assert result.code == 0, result
    report = json.loads(result.out)
    jsonschema.validate(report, SCHEMA)
    assert report["command"] == "add"
    assert report["data"]["spec"]["added"] == ['    "theta>=1.0",']
    assert report["data"]["apply"] is None
    added = [c["added"] for c in report["data"]["lock"]["changes"]]
    assert added == [[{"name": "theta", "version": "1.0"}]]


def test_a_bare_name_nothing_resolves_stays_bare_and_says_so(capsys, synced):
    result = envsync(capsys, "add", "--no-apply", "zeta; python_version < '3'", project=synced)

    assert result.code == 0, result
    assert "zeta; python_version < '3'\"," in (synced / "env.toml").read_text("utf-8")
    assert "written without a version bound: nothing was resolved for it" in result.err
    assert envsync(capsys, "check", project=synced).code == 0


LOCAL = """\
[env]
dependencies = ["alpha", "lib"]  # lib is ours

[sources]
lib = { path = "lib", editable = true }   # our library
"""


def test_frozen_edits_need_no_index_and_drop_a_source_only_its_package_used(capsys, tmp_path):
    (tmp_path / "env.toml").write_text(LOCAL, "utf-8")

    unchanged = envsync(capsys, "add", "--frozen", "alpha", "lib", project=tmp_path)
    assert unchanged.code == 0, unchanged
    assert (tmp_path / "env.toml").read_text("utf-8") == LOCAL
    assert "alpha was written without a version bound" in unchanged.err
    assert "lib was written" not in unchanged.err  # a local folder's package never gets one

    bad = envsync(capsys, "add", "--frozen", "lib @ file:./lib", project=tmp_path)
    assert bad.code == 1, bad
    assert "this edit would make env.toml invalid, so it was not made" in bad.err
    assert (tmp_path / "env.toml").read_text("utf-8") == LOCAL

    removed = envsync(capsys, "remove", "--frozen", "lib", project=tmp_path)
    assert removed.code == 0, removed
    assert (tmp_path / "env.toml").read_text(
        "utf-8"
    ) == '[env]\ndependencies = ["alpha"]  # lib is ours\n\n[sources]\n'
    assert not (tmp_path / "pylock.toml").exists()
    assert '  - lib = { path = "lib", editable = true }   # our library' in removed.out

    upgrade = envsync(capsys, "upgrade", "alpha", project=tmp_path)
    assert upgrade.code == 1
    assert "there is no pylock.toml yet to upgrade alpha in" in upgrade.err


def test_other_commands_never_import_tomlkit(synced):
    result = envsync_process(synced, "check", importtime=True)
    assert result.returncode == 0
    assert " tomlkit\n" not in result.stderr
    assert " envsync.core.specedit\n" not in result.stderr


def test_env_applies_the_edit_to_that_environment_with_its_groups(capsys, synced):
    spec = synced / "env.toml"
    spec.write_text(
        spec.read_text("utf-8") + '\n[groups]\ndev = []\n\n[envs.tools]\ngroups = ["dev"]\n',
        "utf-8",
    )
    default_venv = tree_digest(synced / ".venv")

    result = envsync(capsys, "add", "-e", "tools", "--group", "dev", "cli-tool", project=synced)

    assert result.code == 0, result
    tools = synced / ".venvs" / "tools"
    assert {"alpha", "cli-tool"} <= set(venv_packages(synced, venv=tools))
    assert tree_digest(synced / ".venv") == default_venv  # only the named one was applied
    assert envsync(capsys, "check", "-e", "tools", project=synced).code == 0
    # The lock is everyone's, and the default environment installs no dev: still in sync.
    assert envsync(capsys, "check", project=synced).code == 0
    assert "cli-tool" in (synced / "pylock.toml").read_text("utf-8")


def test_an_unknown_env_changes_nothing(capsys, synced):
    before = _state(synced)

    result = envsync(capsys, "add", "-e", "tols", "gamma", project=synced)

    assert result.code == 1
    assert "there is no environment named 'tols'" in result.err
    assert _state(synced) == before
