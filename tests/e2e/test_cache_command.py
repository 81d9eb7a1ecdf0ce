"""``envsync cache dir | verify | prune | clean`` on a cache a real apply filled.

Every test has its own cache under tmp_path (these delete from it), and checks what a user
sees: the exit code, the lines printed, what is left on disk, and that venvs still work.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import jsonschema
import pytest

from helpers import envsync, venv_python, write_spec

if TYPE_CHECKING:
    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e

HOURS_AGO = time.time() - 2 * 3600


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ENVSYNC_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def project(
    capsys: pytest.CaptureFixture[str], cache: Path, tmp_path: Path, package_index: PackageIndex
) -> Path:
    """A project whose venv holds alpha (and what it needs), linked from *cache*."""
    root = tmp_path / "project"
    root.mkdir()
    write_spec(root, ["alpha"], index_url=package_index.url)
    result = envsync(capsys, "apply", "--spec", str(root / "env.toml"))
    assert result.code == 0, result.err
    assert list((cache / "unpacked").iterdir())
    return root


def imports_alpha(root: Path) -> bool:
    proc = subprocess.run(
        [str(venv_python(root)), "-c", "import alpha"], capture_output=True, check=False
    )
    return proc.returncode == 0


def entries(cache: Path) -> tuple[list[str], list[str]]:
    """The unpacked entries and the wheel files in *cache*."""
    unpacked = sorted(p.name for p in (cache / "unpacked").iterdir())
    wheels = sorted(p.name for p in (cache / "wheels").glob("*/*/*"))
    return unpacked, wheels


def test_dir_prints_the_cache_folder(capsys: pytest.CaptureFixture[str], cache: Path) -> None:
    result = envsync(capsys, "cache", "dir")

    assert result.code == 0
    assert result.out == f"{cache}\n"


def test_an_action_is_required(capsys: pytest.CaptureFixture[str], cache: Path) -> None:
    assert envsync(capsys, "cache").code == 64
    assert envsync(capsys, "cache", "shrink").code == 64


# -- verify -----------------------------------------------------------------------------------


def test_verify_finds_a_changed_wheel_and_unpacked_file_and_fix_removes_them(
    capsys: pytest.CaptureFixture[str], cache: Path, project: Path
) -> None:
    assert envsync(capsys, "cache", "verify").out.endswith("is intact.\n")
    wheel = next(cache.glob("wheels/*/*/alpha-*.whl"))
    with wheel.open("ab") as out:
        out.write(b"\0")
    unpacked = next(cache.glob("unpacked/*/files/alpha/__init__.py"))
    before = unpacked.stat()
    unpacked.write_bytes(unpacked.read_bytes().upper())  # same size; mtime put back below
    os.utime(unpacked, ns=(before.st_atime_ns, before.st_mtime_ns))

    found = envsync(capsys, "cache", "verify")
    fixed = envsync(capsys, "cache", "verify", "--fix")
    again = envsync(capsys, "cache", "verify")

    assert found.code == 2
    assert f"! {wheel.parent}: {wheel.name} hashes to " in found.out
    assert ", not its name" in found.out
    assert f"! {unpacked.parents[2]}: changed in place: alpha/__init__.py" in found.out
    assert "2 bad entries: run `envsync cache verify --fix`" in found.out
    assert fixed.code == 0
    assert "Removed 2 bad entries" in fixed.out
    assert not wheel.parent.exists()
    assert not unpacked.parents[2].exists()
    assert again.code == 0
    repaired = envsync(capsys, "apply", "--verify", "--spec", str(project / "env.toml"))
    assert repaired.code == 0, repaired.err
    assert envsync(capsys, "check", "--verify", "--spec", str(project / "env.toml")).code == 0


# -- prune ------------------------------------------------------------------------------------


def test_prune_keeps_what_venvs_link_and_removes_old_leftovers_only(
    capsys: pytest.CaptureFixture[str], cache: Path, project: Path
) -> None:
    # The venv kept for the replay path goes too (tests/e2e/test_replay.py): not counted here.
    shutil.rmtree(cache / "replay", ignore_errors=True)
    kept = entries(cache)
    old_tmp, young_tmp = cache / "unpacked" / ".tmp-old", cache / "unpacked" / ".tmp-young"
    for folder in (old_tmp, young_tmp):
        (folder / "files").mkdir(parents=True)
        (folder / "files" / "x.py").write_bytes(b"x" * 1000)
    partial = cache / "tmp" / "beta-2.0-py3-none-any.whl.abc"
    partial.parent.mkdir(exist_ok=True)
    partial.write_bytes(b"y" * 500)
    for path in (old_tmp, partial):
        os.utime(path, (HOURS_AGO, HOURS_AGO))

    result = envsync(capsys, "cache", "prune")

    assert result.code == 0
    assert result.out.startswith(f"Removed 2 entries, 1.5 KiB freed from {cache}.")
    assert f"Kept {len(kept[0])} unpacked wheel(s) that venvs link to" in result.out
    assert not old_tmp.exists()
    assert not partial.exists()
    assert young_tmp.exists()  # may be a run under way
    assert [n for n in entries(cache)[0] if not n.startswith(".")] == kept[0]
    assert entries(cache)[1] == kept[1]
    assert imports_alpha(project)


def test_prune_removes_what_no_venv_links_any_more(
    capsys: pytest.CaptureFixture[str], cache: Path, project: Path
) -> None:
    shutil.rmtree(project / ".venv")
    wheel_bytes = sum(p.stat().st_size for p in cache.glob("wheels/*/*/*"))
    # The venv kept for the replay path links the unpacked wheels too: it goes first.
    replay = cache / "replay"
    replicas = [path for path in replay.iterdir() if path.is_dir()] if replay.exists() else []
    assert len(replicas) == (os.environ.get("ENVSYNC_FASTPATH") != "0")
    count = len(entries(cache)[0]) + len(entries(cache)[1]) + len(replicas)

    result = envsync(capsys, "cache", "prune")

    assert result.code == 0
    assert f"Removed {count} entries, " in result.out
    assert "Kept" not in result.out
    assert entries(cache) == ([], [])
    assert not replay.exists() or list(replay.iterdir()) == []
    freed = result.out.split(", ")[1].split(" freed")[0]
    assert float(freed.split()[0]) > 0
    assert wheel_bytes > 0


def test_prune_all_removes_linked_entries_and_the_venv_still_works(
    capsys: pytest.CaptureFixture[str], cache: Path, project: Path
) -> None:
    result = envsync(capsys, "cache", "prune", "--all")

    assert result.code == 0
    assert entries(cache) == ([], [])
    assert imports_alpha(project)
    assert envsync(capsys, "check", "--verify", "--spec", str(project / "env.toml")).code == 0


# -- clean ------------------------------------------------------------------------------------


def test_clean_removes_the_cache_but_never_follows_a_symlink_out_of_it(
    capsys: pytest.CaptureFixture[str], cache: Path, project: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine\n")
    (cache / "wheels" / "zz").mkdir()
    (cache / "wheels" / "zz" / "link").symlink_to(outside)
    (cache / "probes").mkdir(exist_ok=True)

    result = envsync(capsys, "cache", "clean")

    assert result.code == 0, result.err
    assert result.out.startswith(f"Removed {cache}: ")
    assert not cache.exists()
    assert (outside / "keep.txt").read_text() == "mine\n"
    assert imports_alpha(project)  # hard links keep the venv's files
    assert envsync(capsys, "cache", "clean").code == 0  # nothing left: nothing to do


def test_clean_refuses_a_folder_that_is_not_only_envsyncs(
    capsys: pytest.CaptureFixture[str], cache: Path, project: Path
) -> None:
    (cache / "thesis.tex").write_text("years of work\n")
    before = sorted(str(p) for p in cache.rglob("*"))

    result = envsync(capsys, "cache", "clean")

    assert result.code == 1
    assert f"error: {cache} does not look like envsync's cache: it also holds thesis.tex" in (
        result.err
    )
    assert "hint: move those out" in result.err
    assert sorted(str(p) for p in cache.rglob("*")) == before
    assert project.exists()


def test_clean_refuses_a_cache_folder_that_is_a_symlink(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tmp_path / "real"
    (real / "wheels").mkdir(parents=True)
    (tmp_path / "link").symlink_to(real)
    monkeypatch.setenv("ENVSYNC_CACHE_DIR", str(tmp_path / "link"))

    result = envsync(capsys, "cache", "clean")

    assert result.code == 1
    assert "is a symbolic link: envsync does not delete through it" in result.err
    assert (real / "wheels").is_dir()


def test_json_reports_validate_against_the_schema(
    capsys: pytest.CaptureFixture[str], cache: Path, project: Path
) -> None:
    schema = json.loads((Path(__file__).parents[2] / "schemas" / "report.schema.json").read_text())
    unpacked = next(cache.glob("unpacked/*/files/alpha/__init__.py"))
    unpacked.write_bytes(b"")  # changed: verify reports it

    documents = {}
    for action in (["dir"], ["verify"], ["prune", "--all"], ["clean"]):
        result = envsync(capsys, "cache", *action, "--json")
        document = json.loads(result.out)
        jsonschema.validate(document, schema)
        assert document["exit_code"] == result.code
        documents[action[0]] = document

    assert documents["dir"]["data"] == {"action": "dir", "cache": str(cache)}
    assert documents["verify"]["status"] == "drift"
    assert documents["verify"]["exit_code"] == 2
    assert documents["verify"]["data"]["bad"] == [
        {
            "path": str(unpacked.parents[2]),
            "problem": "a file changed (size, mode or mtime) or went missing",
        }
    ]
    assert documents["prune"]["data"]["removed"] > 0
    assert documents["prune"]["data"]["freed_bytes"] > 0
    assert documents["clean"]["status"] == "ok"
    assert not cache.exists()
