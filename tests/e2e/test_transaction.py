"""The transaction's own API (``install/transaction.py``) on a real venv in tmp_path.

A venv made by ``python -m venv`` holds ``alpha 1.0`` and ``keep 1.0`` (whose ``shared.py``
another version of alpha overwrites) and the no-change path's state file. Each test changes
it inside ``applying`` as an installer would, by hand, and checks every file, link and folder
afterwards. test_transactions runs whole applies with faults injected; these tests ask the
transaction alone: what ``applying`` commits or puts back, what ``recover`` makes of what a
crash left, and what ``pending`` says on the way.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from envsync.core.names import STATE_NAME
from envsync.errors import InstallError, VenvError
from envsync.install import transaction

from support import isolated_env, tree_digest

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.e2e


def dist(name: str, version: str, files: dict[str, str]) -> dict[str, str]:
    """The files of an installed dist: *files*, and a dist-info whose RECORD lists them all."""
    info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    listed = [*files, f"{info}/METADATA", f"{info}/RECORD"]
    record = "".join(f"{path},,\n" for path in listed)
    return {**files, f"{info}/METADATA": metadata, f"{info}/RECORD": record}


OLD_ALPHA = dist("alpha", "1.0", {"alpha/__init__.py": "V = 1\n", "alpha/sub/old.py": "OLD = 1\n"})
KEEP = dist("keep", "1.0", {"keep/__init__.py": "", "keep/shared.py": "OWNER = 'keep'\n"})
NEW_ALPHA = {
    **dist("alpha", "2.0", {"alpha/__init__.py": "V = 2\n", "alpha/deep/er/new.py": ""}),
    "keep/shared.py": "OWNER = 'alpha'\n",  # the install wins, as with pip
}
WRITES = ["keep/shared.py"]


def write(site: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_text(text)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("template") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    write(site_of(venv), {**OLD_ALPHA, **KEEP})
    (venv / STATE_NAME).write_text('{"the": "no-change record"}\n')
    return venv


@pytest.fixture
def venv(template: Path, tmp_path: Path) -> Path:
    return shutil.copytree(template, tmp_path / "venv", symlinks=True)


def site_of(venv: Path) -> Path:
    return next(venv.glob("lib/python*/site-packages"))


@contextlib.contextmanager
def new_alpha(venv: Path) -> Iterator[transaction.Transaction]:
    """``applying`` as apply runs it for alpha 1.0 -> 2.0; the block runs before the install."""
    site = site_of(venv)
    writes = [str(site / path) for path in WRITES]
    with transaction.applying(venv, ["alpha"], [site], writes) as txn:
        yield txn
        write(site, NEW_ALPHA)


# -- applying ---------------------------------------------------------------------------------


def test_applying_commits_the_new_state_and_drops_what_it_replaced(venv: Path) -> None:
    site = site_of(venv)
    inside = {}
    with new_alpha(venv) as txn:
        inside["alpha"] = (site / "alpha").exists()
        inside["shared"] = (site / "keep" / "shared.py").exists()
        inside["pending"] = transaction.pending(venv)
        inside["state"] = (venv / STATE_NAME).exists()

    assert inside == {"alpha": False, "shared": False, "pending": True, "state": False}
    assert txn.committed
    assert not transaction.pending(venv)
    assert not (venv / transaction.FOLDER).exists()
    assert not (site / "alpha-1.0.dist-info").exists()
    assert not (site / "alpha" / "sub").exists()  # only 1.0 had it
    assert (site / "alpha" / "__init__.py").read_text() == "V = 2\n"
    assert (site / "keep" / "shared.py").read_text() == "OWNER = 'alpha'\n"
    assert (site / "keep" / "__init__.py").exists()
    assert not (venv / STATE_NAME).exists()  # it vouched for the old venv


def fail_once_all_is_written(venv: Path, error: BaseException) -> None:
    """New files, folders and links everywhere, a kept file overwritten: then *error*."""
    site = site_of(venv)
    with new_alpha(venv):
        write(site, NEW_ALPHA)
        (venv / "bin" / "alpha").write_text("#!/bin/sh\n")
        (site / "alpha-link").symlink_to("alpha")
        (site / "empty" / "deeper").mkdir(parents=True)
        raise error


def install_over_the_layout(venv: Path) -> None:
    """An install that rewrites pyvenv.cfg, relinks bin/python and adds an interpreter."""
    with new_alpha(venv):
        (venv / "pyvenv.cfg").write_text("home = /somewhere/else\n")
        (venv / "bin" / "python").unlink()
        (venv / "bin" / "python").symlink_to("/bin/false")
        (venv / "bin" / "python3.99").write_text("#!/bin/sh\n")


@pytest.mark.parametrize(
    "error",
    [RuntimeError("boom"), KeyboardInterrupt(), InstallError("cannot link alpha")],
    ids=["bug", "ctrl-c", "install-error"],
)
def test_a_failure_inside_applying_puts_every_file_back_byte_for_byte(
    venv: Path, error: BaseException
) -> None:
    before = tree_digest(venv)

    with pytest.raises(type(error)) as caught:
        fail_once_all_is_written(venv, error)

    assert caught.value is error  # raised on as it was
    assert tree_digest(venv) == before
    assert not transaction.pending(venv)


def test_a_dists_own_folder_leaves_in_one_rename_and_comes_back_on_failure(venv: Path) -> None:
    site = site_of(venv)
    folder = (site / "alpha").stat().st_ino
    before = tree_digest(venv)
    aside = {}

    def look_aside_then_fail() -> None:
        with new_alpha(venv):
            old = venv / transaction.FOLDER / "old" / site.relative_to(venv)
            aside["alpha"] = (old / "alpha").stat().st_ino
            aside["dist-info"] = (old / "alpha-1.0.dist-info" / "RECORD").is_file()
            raise RuntimeError

    with pytest.raises(RuntimeError):
        look_aside_then_fail()

    assert aside == {"alpha": folder, "dist-info": True}  # the same folder, moved whole
    assert tree_digest(venv) == before


def test_a_file_of_the_user_in_a_dists_folder_stays_where_it_is(venv: Path) -> None:
    site = site_of(venv)
    (site / "alpha" / "sub" / "mine.txt").write_text("mine\n")
    before = tree_digest(venv)

    with pytest.raises(RuntimeError), new_alpha(venv):
        raise RuntimeError

    assert tree_digest(venv) == before
    with new_alpha(venv):
        pass
    assert (site / "alpha" / "sub" / "mine.txt").read_text() == "mine\n"
    assert sorted(p.name for p in (site / "alpha" / "sub").iterdir()) == ["mine.txt"]
    assert (site / "alpha" / "__init__.py").read_text() == "V = 2\n"


def test_a_change_to_the_venvs_own_files_is_refused_at_commit_and_put_back(venv: Path) -> None:
    before = tree_digest(venv)

    with pytest.raises(InstallError) as caught:
        install_over_the_layout(venv)

    assert str(caught.value) == (
        f"installing would change the venv's own bin/python, bin/python3.99, pyvenv.cfg in "
        f"{venv}: a package tried to overwrite its interpreter, activation scripts or pyvenv.cfg"
    )
    assert caught.value.hint == "do not install that package into a venv (report it to its authors)"
    assert tree_digest(venv) == before
    assert not transaction.pending(venv)


# -- after a crash ----------------------------------------------------------------------------


def crash_inside(venv: Path) -> None:
    """Leave a transaction as a run killed part way leaves it: alpha half replaced."""
    site = site_of(venv)
    txn = transaction.begin(venv)
    txn.move_aside([site], ["alpha"])
    txn.set_aside([str(site / path) for path in WRITES])
    write(site, dict(list(NEW_ALPHA.items())[:2]))  # the process ends here: no rollback


def test_recover_undoes_what_a_crashed_run_left(venv: Path) -> None:
    before = tree_digest(venv)
    crash_inside(venv)
    assert transaction.pending(venv)

    said = transaction.recover(venv)

    assert said == "undid the changes of an apply that was interrupted"
    assert tree_digest(venv) == before
    assert not transaction.pending(venv)
    assert transaction.recover(venv) is None  # nothing left to do


def test_the_next_transaction_undoes_a_crashed_one_before_it_begins(venv: Path) -> None:
    expected = venv.parent / "expected"
    shutil.copytree(venv, expected, symlinks=True)
    with new_alpha(expected):
        pass
    crash_inside(venv)

    with new_alpha(venv):
        pass

    assert tree_digest(venv) == tree_digest(expected)
    assert not transaction.pending(venv)


# One run of the transaction in its own process, killed at the fault point ENVSYNC_FAULT names.
KILLED = """\
import json, sys
from pathlib import Path
from envsync.install import transaction
venv, site, writes, files = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
with transaction.applying(venv, ["alpha"], [site], json.loads(writes)):
    for relative, text in json.loads(files).items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_text(text)
"""


@pytest.mark.parametrize(
    ("point", "said", "ends"),
    [
        ("moving-aside:2", "undid the changes of an apply that was interrupted", "before"),
        ("before-commit", "undid the changes of an apply that was interrupted", "before"),
        ("committed", "finished an apply that was interrupted after it had completed", "after"),
    ],
)
def test_recover_after_a_kill_ends_in_the_state_before_or_after(
    venv: Path, point: str, said: str, ends: str
) -> None:
    after = venv.parent / "after"
    shutil.copytree(venv, after, symlinks=True)
    with new_alpha(after):
        pass
    states = {"before": tree_digest(venv), "after": tree_digest(after)}
    site = site_of(venv)
    writes = json.dumps([str(site / path) for path in WRITES])
    argv = [sys.executable, "-c", KILLED, str(venv), str(site), writes, json.dumps(NEW_ALPHA)]
    env = isolated_env({"ENVSYNC_FAULT": point, "ENVSYNC_FAULT_SIGNAL": "KILL"})

    killed = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)

    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert transaction.pending(venv)
    assert transaction.recover(venv) == said
    assert tree_digest(venv) == states[ends]
    assert not transaction.pending(venv)


def test_a_journal_cut_short_is_removed_and_nothing_else_changes(venv: Path) -> None:
    before = tree_digest(venv)
    (venv / transaction.FOLDER).mkdir()
    (venv / transaction.FOLDER / "journal.json").write_text('{"format": 1, "sta')
    assert transaction.pending(venv)

    said = transaction.recover(venv)

    assert said == ("removed what an apply that was interrupted before it changed anything left")
    assert tree_digest(venv) == before


def test_an_open_journal_without_its_list_of_paths_is_an_error_and_nothing_is_deleted(
    venv: Path,
) -> None:
    crash_inside(venv)
    journal = venv / transaction.FOLDER / "journal.json"
    journal.write_text(json.dumps({"format": 1, "state": "open", "paths": "lost"}))
    left = tree_digest(venv)

    with pytest.raises(VenvError) as caught:
        transaction.recover(venv)

    assert str(caught.value) == (
        f"cannot undo the interrupted changes to {venv}: its journal is unreadable "
        "(the journal has no list of paths)"
    )
    assert caught.value.hint == f"delete {venv} and run `envsync apply` to make it again"
    assert tree_digest(venv) == left  # the moved-aside files are still there to rescue
    assert transaction.pending(venv)
