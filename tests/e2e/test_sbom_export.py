"""`envsync export --format cyclonedx`, for real: the SBOM of a lock `envsync lock` wrote.

One project on the test index, locked once for this machine (Python 3.11 on linux-x86_64)
and Python 3.12 on windows-x86_64: alpha 2.0 needs beta, gamma[fast] needs delta, epsilon
needs zeta below Python 3.12 only, iota has its own Windows wheel, and the group dev asks
for cli-tool. Every SBOM is checked with cyclonedx-python-lib's own JSON schema validator,
then against what packaging's ``Pylock.select`` installs from the lock on that target.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from envsync import __version__

from helpers import envsync, write_spec
from support.multitarget import ON_LINUX_X86_64, chosen_files, selected, target

if TYPE_CHECKING:
    from pathlib import Path

    from support.pkgindex import PackageIndex

pytestmark = [pytest.mark.e2e, ON_LINUX_X86_64]

VALIDATOR = JsonStrictValidator(SchemaVersion.V1_6)
HERE = target("3.11", "linux-x86_64")
WINDOWS = target("3.12", "windows-x86_64")
WINDOWS_OPTIONS = ("--platform", "windows-x86_64", "--python", "3.12")


@pytest.fixture(scope="module")
def project(package_index: PackageIndex, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project, locked once for both targets (nothing here changes it)."""
    root = tmp_path_factory.mktemp("sbom") / "myapp"
    root.mkdir()
    spec = write_spec(
        root,
        ["alpha==2.0", "gamma[fast]", "epsilon", "iota"],
        index_url=package_index.url,
        groups={"dev": ["cli-tool"]},
    )
    lock_table = '[lock]\npython-versions = ["3.11", "3.12"]\n'
    lock_table += 'platforms = ["linux-x86_64", "windows-x86_64"]\n'
    spec.write_text(spec.read_text("utf-8") + lock_table, "utf-8")
    result = envsync(None, "lock", project=root)
    assert result.code == 0, result
    return root


def export_sbom(capsys: pytest.CaptureFixture[str], project: Path, *args: str) -> dict[str, Any]:
    """``envsync export --format cyclonedx ARGS`` on stdout, valid by the CycloneDX schema."""
    result = envsync(capsys, "export", "--format", "cyclonedx", *args, project=project)
    assert result.code == 0, result
    assert "warning" not in result.err  # only progress there
    assert VALIDATOR.validate_str(result.out) is None
    document: dict[str, Any] = json.loads(result.out)
    return document


def components(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in document["components"]}


def graph(document: dict[str, Any]) -> dict[str, list[str]]:
    """Each component's dependencies by name (the project as ``myapp``)."""
    names = {c["bom-ref"]: c["name"] for c in document["components"]}
    names["myapp"] = "myapp"
    return {
        names[d["ref"]]: [names[r] for r in d.get("dependsOn", [])]
        for d in document["dependencies"]
    }


def test_the_sbom_of_this_machine_lists_what_the_lock_installs_here(
    capsys: pytest.CaptureFixture[str], project: Path, package_index: PackageIndex
) -> None:
    document = export_sbom(capsys, project)

    found = components(document)
    lock_file = project / "pylock.toml"
    assert {name: c["version"] for name, c in found.items()} == selected(lock_file, HERE)
    assert sorted(found) == ["alpha", "beta", "delta", "epsilon", "gamma", "iota", "zeta"]
    files = chosen_files(lock_file, HERE)
    for name, component in found.items():
        url, sha256 = files[name].split()
        assert component["purl"] == (
            f"pkg:pypi/{name}@{component['version']}?repository_url={package_index.url}"
        )
        assert component["bom-ref"] == component["purl"]
        assert component["hashes"] == [{"alg": "SHA-256", "content": sha256}]
        assert [(r["type"], r["url"]) for r in component["externalReferences"]] == [
            ("distribution", url)
        ]
    assert graph(document) == {
        "myapp": ["alpha", "epsilon", "gamma", "iota"],
        "alpha": ["beta"],
        "beta": [],
        "gamma": ["delta"],
        "delta": [],
        "epsilon": ["zeta"],
        "zeta": [],
        "iota": [],
    }
    metadata = document["metadata"]
    assert metadata["component"] == {"bom-ref": "myapp", "name": "myapp", "type": "application"}
    assert metadata["tools"]["components"][0]["version"] == __version__


def test_a_group_joins_the_sbom_and_the_projects_dependencies(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    document = export_sbom(capsys, project, "--group", "dev")

    assert "cli-tool" in components(document)
    assert graph(document)["myapp"] == ["alpha", "cli-tool", "epsilon", "gamma", "iota"]
    only = export_sbom(capsys, project, "--only-group", "dev")
    assert list(components(only)) == ["cli-tool"]
    assert graph(only) == {"myapp": ["cli-tool"], "cli-tool": []}


def test_the_sbom_of_a_windows_target_has_its_own_files_and_graph(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    document = export_sbom(capsys, project, *WINDOWS_OPTIONS)

    found = components(document)
    lock_file = project / "pylock.toml"
    assert {name: c["version"] for name, c in found.items()} == selected(lock_file, WINDOWS)
    assert "zeta" not in found  # epsilon needs it below Python 3.12 only
    assert graph(document)["epsilon"] == []
    iota = found["iota"]["externalReferences"][0]["url"]
    assert iota.endswith("/iota-1.0-cp312-cp312-win_amd64.whl")
    assert (
        chosen_files(lock_file, WINDOWS)["iota"]
        == f"{iota} {found['iota']['hashes'][0]['content']}"
    )
    properties = {p["name"]: p["value"] for p in document["metadata"]["properties"]}
    assert (properties["envsync:python_version"], properties["envsync:sys_platform"]) == (
        "3.12",
        "win32",
    )


def test_the_same_lock_gives_the_same_bytes_on_stdout_and_in_a_file(
    capsys: pytest.CaptureFixture[str], project: Path, tmp_path: Path
) -> None:
    output = tmp_path / "sbom.json"
    first = envsync(capsys, "export", "--format", "cyclonedx", project=project)
    written = envsync(
        capsys, "export", "--format", "cyclonedx1.6", "-o", str(output), project=project
    )

    assert written.code == 0, written
    assert written.out == f"Exported 7 package(s) to {output}\n"
    assert output.read_text("utf-8") == first.out
    document = json.loads(first.out)
    assert "serialNumber" not in document
    assert "timestamp" not in document["metadata"]


def test_source_date_epoch_sets_the_timestamp(
    capsys: pytest.CaptureFixture[str], project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")

    document = export_sbom(capsys, project)

    assert document["metadata"]["timestamp"] == "2023-11-14T22:13:20+00:00"


def test_a_malformed_source_date_epoch_is_an_error_and_writes_nothing(
    capsys: pytest.CaptureFixture[str],
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday\x1b[2J")
    output = tmp_path / "sbom.json"

    result = envsync(capsys, "export", "--format", "cyclonedx", "-o", str(output), project=project)

    assert (result.code, result.out) == (1, "")
    assert result.err.endswith(
        "error: SOURCE_DATE_EPOCH is not a Unix time in seconds: yesterday\\x1b[2J\n"
        "hint: set it to a whole number of seconds (such as `git log -1 --format=%ct`), "
        "or unset it\n"
    )
    assert not output.exists()


def test_uvs_name_of_the_requirements_format_is_the_default_format(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    default = envsync(capsys, "export", project=project)
    named = envsync(capsys, "export", "--format", "requirements.txt", project=project)

    assert default.code == named.code == 0
    assert named.out == default.out
    assert "alpha==2.0 \\\n" in named.out
