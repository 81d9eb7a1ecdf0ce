"""``envsync why`` and ``envsync tree`` on locks written by both resolvers, read from the lock.

The lock records each package's Requires-Dist lines behind its dependencies (from the PEP
658 metadata file the index serves beside each wheel); why and tree show them, and need no
index, resolver or venv to do it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import jsonschema
import pytest
import tomli_w

from helpers import applied, envsync, envsync_process, lock_packages, venv_packages
from support.wheels import build_wheel

if TYPE_CHECKING:
    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "schemas" / "report.schema.json").read_text("utf-8")
)
OMEGA_REQUIRES = ["beta>=1.0", 'gamma[fast]; python_version >= "3.8"']

WHY_BETA = """\
beta 2.0
  <- alpha 2.0  (requires beta>=1.0)
    <- main dependencies  (alpha>=2)
  <- omega 1.0  (requires beta>=1.0)
    <- main dependencies  (omega)
"""

TREE = """\
main dependencies
  alpha 2.0  (alpha>=2)
    beta 2.0  (beta>=1.0)
  omega 1.0  (omega)
    beta 2.0 (*)  (beta>=1.0)
    gamma 1.0  (gamma[fast]; python_version >= "3.8")
      delta 1.0  (delta; extra == "fast")
group dev
  epsilon 1.0  (epsilon; python_version >= "3.8")
    zeta 1.0  (zeta; python_version < "3.12")
(*) shown in full above
"""


def write_project(root: Path, index: PackageIndex, resolver: str, **lock: list[str]) -> Path:
    """alpha and omega (which needs beta and gamma[fast]); group dev: epsilon (-> zeta)."""
    build = root.parent / f"{root.name}-wheels"
    index.add(
        build_wheel(build, "omega", "1.0", requires=OMEGA_REQUIRES)  # published mid-test
    )
    env: dict[str, object] = {"dependencies": ["alpha>=2", "omega"], "resolver": resolver}
    data: dict[str, object] = {
        "env": env,
        "groups": {"dev": ['epsilon; python_version >= "3.8"']},
        "index": {"url": index.url},
    }
    if lock:
        data["lock"] = lock
    root.mkdir(parents=True, exist_ok=True)
    (root / "env.toml").write_text(tomli_w.dumps(data), "utf-8")
    return root


@pytest.fixture(params=["pip-tools", "uv"])
def locked(
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
    fresh_index: PackageIndex,
    tmp_path: Path,
) -> Path:
    """The project, locked by each resolver."""
    project = write_project(tmp_path / "project", fresh_index, request.param)
    result = envsync(capsys, "lock", project=project)
    assert result.code == 0, result.err
    return project


def test_the_lock_records_the_requirement_behind_each_dependency(locked: Path) -> None:
    packages = lock_packages(locked)

    assert packages["omega"]["tool"] == {"envsync": {"requires": OMEGA_REQUIRES}}
    assert packages["alpha"]["tool"] == {"envsync": {"requires": ["beta>=1.0"]}}
    assert packages["epsilon"]["tool"] == {
        "envsync": {"requires": ['zeta; python_version < "3.12"']}
    }
    assert packages["gamma"]["tool"] == {"envsync": {"requires": ['delta; extra == "fast"']}}
    assert "tool" not in packages["beta"]  # it requires nothing


def test_why_shows_every_path_with_its_requirements(
    capsys: pytest.CaptureFixture[str], locked: Path
) -> None:
    assert envsync(capsys, "why", "Beta", project=locked).out == WHY_BETA
    only_dev = envsync(capsys, "why", "zeta", "--only-group", "dev", project=locked)
    assert only_dev.out == (
        "zeta 1.0\n"
        '  <- epsilon 1.0  (requires zeta; python_version < "3.12")\n'
        '    <- group dev  (epsilon; python_version >= "3.8")\n'
    )


def test_tree_depth_and_invert(capsys: pytest.CaptureFixture[str], locked: Path) -> None:
    assert envsync(capsys, "tree", "--group", "dev", project=locked).out == TREE
    assert envsync(capsys, "tree", "--depth", "1", project=locked).out == (
        "main dependencies\n  alpha 2.0  (alpha>=2)\n  omega 1.0  (omega)\n"
    )
    assert envsync(capsys, "tree", "--invert", "delta", project=locked).out == (
        "delta 1.0\n"
        '  <- gamma 1.0  (requires delta; extra == "fast")\n'
        '    <- omega 1.0  (requires gamma[fast]; python_version >= "3.8")\n'
        "      <- main dependencies  (omega)\n"
    )
    leaves = envsync(capsys, "tree", "--invert", "--depth", "1", project=locked).out
    assert leaves == (
        "beta 2.0\n"
        "  <- alpha 2.0  (requires beta>=1.0)\n"
        "  <- omega 1.0  (requires beta>=1.0)\n"
        "delta 1.0\n"
        '  <- gamma 1.0  (requires delta; extra == "fast")\n'
    )


def test_json_follows_the_published_schema(
    capsys: pytest.CaptureFixture[str], locked: Path
) -> None:
    why = json.loads(envsync(capsys, "why", "delta", "--json", project=locked).out)
    tree = json.loads(envsync(capsys, "tree", "--json", "--depth", "1", project=locked).out)

    jsonschema.validate(why, SCHEMA)
    jsonschema.validate(tree, SCHEMA)
    assert why["data"]["paths"] == [
        [
            {"kind": "main"},
            {"kind": "package", "name": "omega", "version": "1.0", "requirements": ["omega"]},
            {
                "kind": "package",
                "name": "gamma",
                "version": "1.0",
                "requirements": ['gamma[fast]; python_version >= "3.8"'],
            },
            {
                "kind": "package",
                "name": "delta",
                "version": "1.0",
                "requirements": ['delta; extra == "fast"'],
            },
        ]
    ]
    assert [child["name"] for child in tree["data"]["tree"][0]["children"]] == ["alpha", "omega"]


def test_a_name_the_lock_lacks_or_this_target_does_not_install(
    capsys: pytest.CaptureFixture[str], locked: Path
) -> None:
    typo = envsync(capsys, "why", "gamm", project=locked)
    assert typo.code == 1
    assert "error: pylock.toml has no package 'gamm'" in typo.err
    assert "hint: did you mean 'gamma'?" in typo.err

    grouped = envsync(capsys, "why", "zeta", project=locked)
    assert grouped.code == 1
    assert "zeta is in the lock, but not installed on Python 3.11 on linux-x86_64" in grouped.err
    assert "hint: it is installed with --group dev" in grouped.err


def test_an_old_lock_without_requires_still_reads_and_installs(
    capsys: pytest.CaptureFixture[str], fresh_index: PackageIndex, tmp_path: Path
) -> None:
    project = write_project(tmp_path / "project", fresh_index, "pip-tools")
    assert envsync(capsys, "lock", project=project).code == 0
    lock = project / "pylock.toml"
    old = re.sub(
        r"\n\[packages\.tool\.envsync\]\nrequires = \[\n(    .*\n)*\]\n", "\n", lock.read_text()
    )
    assert "requires" not in old
    lock.write_text(old, "utf-8")

    assert envsync(capsys, "why", "beta", project=project).out == (
        "beta 2.0\n"
        "  <- alpha 2.0  (requirement not recorded)\n"
        "    <- main dependencies  (alpha>=2)\n"
        "  <- omega 1.0  (requirement not recorded)\n"
        "    <- main dependencies  (omega)\n"
    )
    applied(capsys, project)
    assert venv_packages(project).keys() >= {"alpha", "beta", "omega", "gamma", "delta"}
    assert lock.read_text() == old  # a fresh lock is not rewritten to add them


def test_why_needs_no_index_and_loads_no_resolver(
    capsys: pytest.CaptureFixture[str], fresh_index: PackageIndex, tmp_path: Path
) -> None:
    project = write_project(tmp_path / "project", fresh_index, "pip-tools")
    assert envsync(capsys, "lock", project=project).code == 0
    fresh_index.stop()

    for command in (("why", "delta"), ("tree", "--invert")):
        result = envsync_process(project, *command, importtime=True)
        assert result.returncode == 0, result.stderr
        assert "delta 1.0" in result.stdout
        for heavy in ("envsync.resolve.keeppins", "envsync.index.simpleapi", "http.client"):
            assert f" {heavy}\n" not in result.stderr, heavy


def test_a_foreign_target_records_the_same_lines(
    capsys: pytest.CaptureFixture[str], fresh_index: PackageIndex, tmp_path: Path
) -> None:
    project = write_project(
        tmp_path / "project", fresh_index, "pip-tools", platforms=["windows-x86_64"]
    )
    result = envsync(capsys, "lock", project=project)
    assert result.code == 0, result.err

    assert lock_packages(project)["omega"]["tool"] == {"envsync": {"requires": OMEGA_REQUIRES}}
    windows = envsync(capsys, "why", "beta", "--platform", "windows-x86_64", project=project)
    assert windows.out == WHY_BETA
    here = envsync(capsys, "why", "beta", project=project)
    assert here.code == 1
    assert "error: pylock.toml is for Python 3.11 on windows-x86_64, not for this machine" in (
        here.err
    )


def test_a_package_another_target_installs_is_named_with_it(
    capsys: pytest.CaptureFixture[str], fresh_index: PackageIndex, tmp_path: Path
) -> None:
    project = write_project(
        tmp_path / "project", fresh_index, "uv", **{"python-versions": ["3.11", "3.12"]}
    )
    assert envsync(capsys, "lock", project=project).code == 0

    result = envsync(capsys, "why", "zeta", "--group", "dev", "--python", "3.12", project=project)

    assert result.code == 1
    assert "zeta is in the lock, but not installed on Python 3.12 on linux-x86_64" in result.err
    assert "hint: it is installed on Python 3.11 on linux-x86_64" in result.err
    group = envsync(capsys, "tree", "--only-group", "dev", "--python", "3.12", project=project)
    assert group.out == 'group dev\n  epsilon 1.0  (epsilon; python_version >= "3.8")\n'


def test_no_lock_a_stale_lock_and_a_bad_depth(
    capsys: pytest.CaptureFixture[str], fresh_index: PackageIndex, tmp_path: Path
) -> None:
    project = write_project(tmp_path / "project", fresh_index, "pip-tools")
    missing = envsync(capsys, "tree", project=project)
    assert missing.code == 1
    assert "pylock.toml does not exist" in missing.err
    assert "hint: run `envsync lock` first" in missing.err
    assert not (project / "pylock.toml").exists()

    assert envsync(capsys, "lock", project=project).code == 0
    spec = project / "env.toml"
    spec.write_text(spec.read_text().replace('"omega"', '"omega", "theta"'), "utf-8")
    stale = envsync(capsys, "why", "beta", project=project)
    assert stale.out == WHY_BETA
    assert "warning: pylock.toml is out of date" in stale.err

    bad = envsync(capsys, "tree", "--depth", "-1", project=project)
    assert bad.code == 64
    assert "expected a whole number of levels (0 or more), found '-1'" in bad.err
    assert envsync(capsys, "tree", "--depth", "x", project=project).code == 64


def test_a_mirror_that_leaves_out_the_metadata_offer_still_gives_the_texts(
    capsys: pytest.CaptureFixture[str], fresh_index: PackageIndex, tmp_path: Path
) -> None:
    fresh_index.offer_metadata = False
    root = write_project(tmp_path / "project", fresh_index, "pip-tools")
    assert envsync(capsys, "lock", project=root).code == 0

    result = envsync(capsys, "why", "beta", project=root)

    assert result.code == 0, result
    assert result.out == WHY_BETA


def test_a_mirror_that_serves_no_metadata_files_still_gives_the_texts(
    capsys: pytest.CaptureFixture[str], fresh_index: PackageIndex, tmp_path: Path
) -> None:
    fresh_index.offer_metadata = False
    fresh_index.serve_metadata_files = False  # read out of the wheels, in byte ranges
    root = write_project(tmp_path / "project", fresh_index, "pip-tools")
    assert envsync(capsys, "lock", project=root).code == 0

    result = envsync(capsys, "why", "beta", project=root)

    assert result.code == 0, result
    assert result.out == WHY_BETA
    assert fresh_index.range_requests  # the texts came from ranges of the wheels


def test_without_group_options_why_reads_the_groups_the_venv_was_applied_with(
    capsys: pytest.CaptureFixture[str], fresh_index: PackageIndex, tmp_path: Path
) -> None:
    root = write_project(tmp_path / "project", fresh_index, "pip-tools")
    assert envsync(capsys, "why", "zeta", project=root).code == 1  # no venv: the defaults
    assert envsync(capsys, "apply", "--group", "dev", project=root).code == 0

    result = envsync(capsys, "why", "zeta", project=root)

    assert result.code == 0, result
    assert "<- group dev" in result.out


def test_a_relock_records_again_what_the_lock_read_without_the_files(
    capsys: pytest.CaptureFixture[str], fresh_index: PackageIndex, tmp_path: Path
) -> None:
    root = write_project(tmp_path / "project", fresh_index, "pip-tools")
    assert envsync(capsys, "lock", project=root).code == 0
    first = (root / "pylock.toml").read_text("utf-8")
    # From now on the index gives no metadata at all: no file, no offer, no byte ranges.
    fresh_index.offer_metadata = False
    fresh_index.serve_metadata_files = False
    fresh_index.accept_ranges = False
    spec = root / "env.toml"
    spec.write_text(spec.read_text("utf-8").replace('"omega"', '"omega", "iota"'), "utf-8")

    assert envsync(capsys, "lock", project=root).code == 0

    relocked = (root / "pylock.toml").read_text("utf-8")
    assert "iota" in relocked
    assert relocked.count("requires = [") == first.count("requires = [") == 4
    assert envsync(capsys, "why", "beta", project=root).out == WHY_BETA


def test_e_reads_the_graph_as_that_environment_installs_it(
    capsys: pytest.CaptureFixture[str], fresh_index: PackageIndex, tmp_path: Path
) -> None:
    root = write_project(tmp_path / "project", fresh_index, "pip-tools")
    spec = root / "env.toml"
    spec.write_text(spec.read_text("utf-8") + '\n[envs.tools]\ngroups = ["dev"]\n', "utf-8")
    assert envsync(capsys, "lock", project=root).code == 0

    assert envsync(capsys, "why", "zeta", project=root).code == 1  # [env] installs no dev
    found = envsync(capsys, "why", "zeta", "-e", "tools", project=root)
    tree = envsync(capsys, "tree", "-e", "tools", project=root)

    assert found.code == 0, found
    assert "<- group dev" in found.out
    assert "group dev" in tree.out
    unknown = envsync(capsys, "tree", "-e", "tols", project=root)
    assert unknown.code == 1
    assert "there is no environment named 'tols'" in unknown.err
