"""The replay path: a deleted venv is made again from the replica its last fresh apply kept.

Real applies against the local index, each test with its own cache (``own_cache``): the
first apply creates the venv and keeps it; after the venv is deleted, the next apply makes
it again without parsing, resolving or installing, and gives the same output. Anything that
could change the answer (a byte of the lock, the spec, a group option, the replica's
manifest or a kept file, a folder at the venv's path, ENVSYNC_FASTPATH=0) takes the full path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from helpers import envsync, envsync_process, venv_packages, write_spec
from support import isolated_env, tree_digest

if TYPE_CHECKING:
    from pathlib import Path

    from support.pkgindex import PackageIndex

pytestmark = [pytest.mark.e2e, pytest.mark.fastpath]

STATE = ".envsync-state.json"
LINKING = "Linking 3 package(s) as this lock's last fresh apply installed them..."
#: What the replay path must not import: a test makes each import fail.
HEAVY = ("packaging", "tomllib", "urllib", "filelock", "installer", "envsync.usecases.apply")


@pytest.fixture
def kept(project: Path, package_index: PackageIndex, own_cache: Path) -> Path:
    """A project whose first apply created its venv (and kept a replica of it)."""
    write_spec(project, ["alpha", "cli-tool"], index_url=package_index.url)
    first = envsync_process(project, "apply")
    assert first.returncode == 0, first.stderr
    assert "Installing 3 package(s)" in first.stderr
    (project / "first.out").write_text(first.stdout)
    assert len(_replicas(own_cache)) == 1
    return project


def _replicas(cache: Path) -> list[Path]:
    """The venvs kept in *cache* (each a folder; beside them, one note per project)."""
    return [path for path in (cache / "replay").iterdir() if path.is_dir()]


def _venv_files(project: Path) -> dict[str, str]:
    return {k: v for k, v in tree_digest(project / ".venv").items() if k != STATE}


def _again(project: Path, *args: str, **options: object) -> subprocess.CompletedProcess[str]:
    shutil.rmtree(project / ".venv")
    result = envsync_process(project, "apply", *args, **options)  # type: ignore[arg-type]
    assert result.returncode == 0, result.stderr
    return result


def test_a_deleted_venv_is_made_again_from_its_replica(kept: Path) -> None:
    files, packages = _venv_files(kept), venv_packages(kept)
    assert set(packages) == {"alpha", "beta", "cli-tool"}
    replayed = _again(kept)
    assert LINKING in replayed.stderr
    assert "Installing" not in replayed.stderr
    assert replayed.stdout == (kept / "first.out").read_text()  # the same plan and summary
    assert _venv_files(kept) == files
    tool = subprocess.run([kept / ".venv" / "bin" / "hello"], capture_output=True, check=False)
    assert tool.returncode == 0
    assert venv_packages(kept) == packages
    assert envsync_process(kept, "check").returncode == 0
    again = envsync_process(kept, "apply")  # the state it wrote vouches for the venv
    assert again.stdout == "No changes. The environment matches the lock.\n"


def test_the_replay_path_imports_no_parser_resolver_or_installer(kept: Path) -> None:
    packages = venv_packages(kept)
    shutil.rmtree(kept / ".venv")
    blocked = "".join(f"sys.modules[{name!r}] = None\n" for name in HEAVY)
    code = (
        f"import sys\n{blocked}"
        "from envsync.cli import main\n"
        f"sys.exit(main(['apply', '--spec', {str(kept / 'env.toml')!r}]))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        env=isolated_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert LINKING in run.stderr
    assert venv_packages(kept) == packages


@pytest.mark.parametrize("change", ["lock", "spec", "group"])
def test_a_changed_lock_spec_or_group_choice_takes_the_full_path(kept: Path, change: str) -> None:
    args: tuple[str, ...] = ()
    if change == "lock":
        lock = kept / "pylock.toml"
        text = lock.read_text()
        assert 'created-by = "envsync"' in text
        lock.write_text(text.replace('created-by = "envsync"', 'created-by = "envsynC"'))
    elif change == "spec":
        with (kept / "env.toml").open("a") as fh:
            fh.write("# a comment\n")
    else:
        args = ("--no-default-groups",)
    result = _again(kept, *args)
    assert "Linking" not in result.stderr
    assert "Installing 3 package(s)" in result.stderr
    assert envsync_process(kept, "check", *args).returncode == 0


def test_a_flipped_byte_in_the_manifest_is_detected_and_a_new_replica_kept(
    kept: Path, own_cache: Path
) -> None:
    (folder,) = _replicas(own_cache)
    manifest = folder / "manifest"
    data = bytearray(manifest.read_bytes())
    data[len(data) // 2] ^= 0x01
    manifest.write_bytes(bytes(data))
    result = _again(kept)
    assert "Linking" not in result.stderr
    assert "Installing 3 package(s)" in result.stderr
    assert envsync_process(kept, "check").returncode == 0
    assert LINKING in _again(kept).stderr  # the full path kept a sound one


def test_a_flipped_byte_in_a_kept_file_is_detected_and_the_venv_is_right(
    kept: Path, own_cache: Path
) -> None:
    files = _venv_files(kept)
    (folder,) = _replicas(own_cache)
    (module,) = (folder / "venv").glob("lib/python*/site-packages/alpha/__init__.py")
    data = bytearray(module.read_bytes())
    data[0] ^= 0x01  # the same inode as the venv's and the cache's copy of the file
    module.write_bytes(bytes(data))
    result = _again(kept)
    assert "Linking" not in result.stderr
    assert _venv_files(kept) == files  # the wheel's own bytes again, not the flipped ones
    assert envsync_process(kept, "check").returncode == 0


def test_a_folder_at_the_venv_path_is_never_replaced(kept: Path) -> None:
    shutil.rmtree(kept / ".venv")
    (kept / ".venv").mkdir()
    (kept / ".venv" / "notes.txt").write_text("mine\n")
    result = envsync_process(kept, "apply")
    assert "Linking" not in result.stderr
    assert (kept / ".venv" / "notes.txt").read_text() == "mine\n"


def test_envsync_fastpath_0_turns_the_fast_paths_off(kept: Path) -> None:
    off = {"ENVSYNC_FASTPATH": "0"}
    result = _again(kept, env=off, importtime=True)
    assert "Linking" not in result.stderr
    assert " envsync.usecases.apply\n" in result.stderr
    again = envsync_process(kept, "apply", env=off, importtime=True)
    assert " envsync.usecases.apply\n" in again.stderr  # no-change answered by the full path
    assert again.stdout == "No changes. The environment matches the lock.\n"


def test_cache_prune_removes_the_replicas(
    kept: Path, own_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = envsync(capsys, "cache", "prune")
    assert result.code == 0, result.err
    assert list((own_cache / "replay").iterdir()) == []  # the notes beside them too
    assert "Linking" not in _again(kept).stderr


def test_a_venv_of_copies_is_not_kept(
    project: Path, package_index: PackageIndex, own_cache: Path
) -> None:
    write_spec(project, ["alpha"], index_url=package_index.url)
    spec = project / "env.toml"
    spec.write_text(spec.read_text().replace("[env]\n", '[env]\nlink-mode = "copy"\n'))
    assert envsync_process(project, "apply").returncode == 0
    assert not (own_cache / "replay").exists()  # its files would be shared with the replica


def test_apply_verify_forgets_replicas_that_may_link_a_damaged_file(
    kept: Path, own_cache: Path
) -> None:
    files = _venv_files(kept)
    (module,) = (kept / ".venv").glob("lib/python*/site-packages/alpha/__init__.py")
    before = module.stat()
    data = bytearray(module.read_bytes())
    data[0] ^= 0x01  # in place, in the venv, the cache and the replica; size and mtime put back
    module.write_bytes(bytes(data))
    os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns))
    repaired = envsync_process(kept, "apply", "--verify")
    assert repaired.returncode == 0, repaired.stderr
    assert _replicas(own_cache) == []
    result = _again(kept)
    assert "Linking" not in result.stderr
    assert _venv_files(kept) == files


def test_killed_before_the_new_venv_is_in_place_leaves_nothing_beside_it(kept: Path) -> None:
    shutil.rmtree(kept / ".venv")
    before = sorted(p.name for p in kept.iterdir())
    killed = envsync_process(kept, "apply", fault="replay-linked")
    assert killed.returncode == -9
    assert sorted(p.name for p in kept.iterdir()) == before  # no venv, no half-made folder
    assert LINKING in envsync_process(kept, "apply").stderr
    assert envsync_process(kept, "check").returncode == 0


def test_terminated_before_the_new_venv_is_in_place_removes_what_it_made(
    kept: Path, own_cache: Path
) -> None:
    shutil.rmtree(kept / ".venv")
    stopped = envsync_process(kept, "apply", fault="replay-linked", fault_signal="TERM")
    assert stopped.returncode == 143
    assert "error: terminated (SIGTERM)" in stopped.stderr
    assert not (kept / ".venv").exists()
    assert [p.name for p in (own_cache / "tmp").iterdir() if p.name.startswith("replay-")] == []


def test_killed_after_the_venv_is_in_place_the_full_path_confirms_it(kept: Path) -> None:
    shutil.rmtree(kept / ".venv")
    killed = envsync_process(kept, "apply", fault="replay-published")
    assert killed.returncode == -9
    after = envsync_process(kept, "apply")  # no state file yet: the full path looks
    assert after.returncode == 0, after.stderr
    assert after.stdout == "No changes. The environment matches the lock.\n"
    assert envsync_process(kept, "check").returncode == 0


@pytest.mark.parametrize("point", ["before-commit", "writing-state"])
def test_a_fresh_apply_stopped_after_its_packages_are_in_keeps_no_replica(
    project: Path, package_index: PackageIndex, own_cache: Path, point: str
) -> None:
    """The replica is kept beside the apply's last steps: stopped there, nothing of it stays."""
    write_spec(project, ["alpha", "cli-tool"], index_url=package_index.url)

    stopped = envsync_process(project, "apply", fault=point, fault_signal="TERM")

    assert stopped.returncode == 143, stopped.stderr
    kept = own_cache / "replay"
    assert not kept.exists() or list(kept.iterdir()) == []  # no replica, no half-kept folder
    shutil.rmtree(project / ".venv", ignore_errors=True)  # kept (the state) or rolled back
    again = envsync_process(project, "apply")
    assert again.returncode == 0, again.stderr
    assert len(_replicas(own_cache)) == 1  # the next fresh apply keeps one
