"""venv.replica: a tree kept as hard links is made again exactly, and any doubt is Stale.

Trees of files, folders and symlinks in temporary folders; a replica made again must equal
the original byte for byte and link for link, and one changed byte anywhere (a kept file, the
manifest) must stop it before anything is linked from a changed file.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from envsync.system import forked as forked_helpers
from envsync.venv import replica, replicacapture

from support import counted_forks, tree_digest

STATE = ".envsync-state.json"


def _venv(root: Path) -> Path:
    venv = root / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "lib" / "site-packages" / "alpha").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "bin" / "tool").write_text("#!/venv/bin/python\n")
    (venv / "bin" / "tool").chmod(0o755)
    (venv / "lib" / "site-packages" / "alpha" / "__init__.py").write_text("x = 1\n")
    (venv / "bin" / "python").symlink_to("/usr/bin/python3")
    (venv / "lib64").symlink_to("lib")
    (venv / STATE).write_text("{}")
    return venv


def _capture(root: Path, venv: Path) -> Path:
    folder = root / "kept"
    folder.mkdir()
    meta: dict[str, object] = {"stdout": "out\n"}
    replicacapture.capture(str(venv), str(folder), skip=frozenset({STATE}), meta=meta)
    return folder


def _restore(root: Path, folder: Path, name: str = "again") -> Path:
    into = root / name
    into.mkdir()
    replica.restore(replica.load(str(folder)), str(folder), str(into))
    return into


def test_a_kept_venv_is_made_again_exactly_without_what_it_skips(tmp_path: Path) -> None:
    venv = _venv(tmp_path)
    folder = _capture(tmp_path, venv)
    (venv / STATE).unlink()
    again = _restore(tmp_path, folder)
    assert tree_digest(again) == tree_digest(venv)
    assert (again / "bin" / "python").readlink().as_posix() == "/usr/bin/python3"
    assert (again / "bin" / "tool").stat().st_mode & 0o777 == 0o755
    # One inode shared with the kept tree, as the installer's links share the cache's.
    assert (again / "pyvenv.cfg").stat().st_ino == (venv / "pyvenv.cfg").stat().st_ino
    kept = replica.load(str(folder))
    assert kept.venv == str(venv)
    assert kept.meta == {"stdout": "out\n"}


def test_a_kept_file_changed_in_place_is_stale(tmp_path: Path) -> None:
    venv = _venv(tmp_path)
    folder = _capture(tmp_path, venv)
    shared = venv / "lib" / "site-packages" / "alpha" / "__init__.py"
    shared.write_text("x = 2\n")  # one byte, through the venv that shares the inode
    with pytest.raises(replica.Stale, match="changed since it was kept"):
        _restore(tmp_path, folder)


def test_a_kept_file_replaced_or_gone_is_stale(tmp_path: Path) -> None:
    venv = _venv(tmp_path)
    folder = _capture(tmp_path, venv)
    kept = folder / replica.TREE / "pyvenv.cfg"
    kept.unlink()
    with pytest.raises(replica.Stale, match="is gone"):
        _restore(tmp_path, folder)
    kept.write_text("home = /usr/bin\n")  # the same bytes, another file
    with pytest.raises(replica.Stale, match="changed"):
        _restore(tmp_path, folder, "again2")


@pytest.mark.parametrize("where", [0, 5, 31, 32, 40, -1])
def test_one_flipped_byte_of_the_manifest_is_stale(tmp_path: Path, where: int) -> None:
    folder = _capture(tmp_path, _venv(tmp_path))
    manifest = folder / replica.MANIFEST
    data = bytearray(manifest.read_bytes())
    data[where] ^= 0x01
    manifest.write_bytes(bytes(data))
    with pytest.raises(replica.Stale):
        replica.load(str(folder))


def test_a_manifest_of_another_shape_or_a_path_out_of_the_venv_is_stale(tmp_path: Path) -> None:
    folder = tmp_path / "kept"
    (folder / replica.TREE).mkdir(parents=True)

    def write(data: object) -> None:
        body = marshal.dumps(data)
        (folder / replica.MANIFEST).write_bytes(hashlib.sha256(body).digest() + body)

    write([1, 2])
    with pytest.raises(replica.Stale, match="another format"):
        replica.load(str(folder))
    write({"format": replica.FORMAT, "venv": "/v", "dirs": [], "files": []})  # format 2's keys
    with pytest.raises(replica.Stale, match="not complete"):
        replica.load(str(folder))
    kept = (folder / replica.TREE).stat()
    stats = replica.STATS.pack(kept.st_ino, kept.st_size, kept.st_mtime_ns)
    for number, (rows, links) in enumerate(
        [
            ([("../outside", "x", "", b"")], []),  # a folder's path
            ([("/etc", "x", "", b"")], []),
            ([("a/../../b", "x", "", b"")], []),
            ([("", "..", "", b"")], []),  # a folder's name
            ([("", "a/../../b", "", b"")], []),
            ([("", "a\x00", "", b"")], []),  # an empty name among others
            ([("", "", "..", stats)], []),  # a file's name
            ([("", "", "../venv", stats)], []),
            ([], [("../x", "/etc")]),  # a link's path
            ([], [("", "/etc")]),
        ]
    ):
        write({"format": replica.FORMAT, "venv": "/v", "folders": rows, "links": links, "meta": {}})
        into = tmp_path / f"into{number}"
        into.mkdir()
        with pytest.raises(replica.Stale, match="outside the venv"):
            replica.restore(replica.load(str(folder)), str(folder), str(into))
        assert list(into.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("into")) == ["kept"]


_PARTS = st.sampled_from(["a", "b", "..", ".", "", "/", "/etc", "a/b", "a/../..", "x\x00y"])
_ANY = st.recursive(
    st.one_of(st.none(), st.integers(-2, 2), _PARTS, st.binary(max_size=3)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.tuples(inner, inner)),
    max_leaves=8,
)
_JOINED = st.lists(_PARTS, max_size=3).map("\x00".join)
#: Files' names: ``f`` is the kept file ``a/f``, which a row of ``a`` may link.
_FILES = st.lists(st.sampled_from(["f", "a", "..", "", "/"]), max_size=2).map("\x00".join)
#: A row's stats: those of the kept file ``a/f`` (its name in the row or not), another
#: file's, a length no file's have, none.
_STATS = st.sampled_from(["a/f", "garbage", "short", "empty"])
_ROWS = st.lists(
    st.one_of(st.tuples(_PARTS, _JOINED, _FILES, _STATS), st.tuples(_PARTS, _JOINED), _ANY),
    max_size=4,
)


def _with_stats(rows: object, real: bytes) -> object:
    """*rows*, each row's stats given as a name of ``_STATS`` made into bytes."""
    if not isinstance(rows, list):
        return rows
    stats = {"a/f": real, "garbage": b"\x01" * 24, "short": b"\x01" * 25, "empty": b""}
    return [
        (*row[:3], stats[row[3]])
        if isinstance(row, tuple) and len(row) == 4 and row[3] in stats
        else row
        for row in rows
    ]


_WHOLE = [("", "a", "", "empty"), ("a", "b", "f", "a/f")]


@example(rows=_WHOLE, links=[("a/l", "f")], workers=1)  # made whole
@example(rows=_WHOLE, links=[], workers=3)  # made whole, the folder a made before the helper
@example(rows=[("", "a", "", "empty"), ("a", "", "f", "garbage")], links=[], workers=1)  # changed
@example(rows=[("", "a", "", "empty"), ("a", "", "f", "short")], links=[], workers=2)
@given(
    rows=st.one_of(_ROWS, _ANY),
    links=st.one_of(st.lists(st.tuples(_PARTS, _PARTS), max_size=2), _ANY),
    workers=st.sampled_from([1, 2, 3]),
)
def test_a_manifest_of_any_shape_makes_nothing_outside_and_fails_only_as_stale(
    rows: object, links: object, workers: int
) -> None:
    # What a damaged or hand-edited manifest (its hash made to match) can hold: restore
    # either makes a tree inside its folder or raises Stale, and never writes beside it,
    # in this process alone or with helpers (forked whatever the size, as no thread runs).
    parallel_from, may_fork = replica.PARALLEL_FROM, replica.may_fork
    replica.PARALLEL_FROM, replica.may_fork = 0, lambda: True  # type: ignore[assignment]
    try:
        _restore_any(rows, links, workers)
    finally:
        replica.PARALLEL_FROM, replica.may_fork = parallel_from, may_fork  # type: ignore[assignment]


def _restore_any(rows: object, links: object, workers: int) -> None:
    with tempfile.TemporaryDirectory() as base:
        root = Path(base)
        folder = root / "kept"
        (folder / replica.TREE / "a" / "b").mkdir(parents=True)
        (folder / replica.TREE / "a" / "f").write_text("kept\n")
        found = (folder / replica.TREE / "a" / "f").stat()
        real = replica.STATS.pack(found.st_ino, found.st_size, found.st_mtime_ns)
        data = {"format": replica.FORMAT, "venv": "/v", "folders": _with_stats(rows, real)}
        body = marshal.dumps({**data, "links": links, "meta": {}})
        (folder / replica.MANIFEST).write_bytes(hashlib.sha256(body).digest() + body)
        into = root / "sub" / "into"
        into.mkdir(parents=True)
        with contextlib.suppress(replica.Stale):
            replica.restore(replica.load(str(folder)), str(folder), str(into), workers=workers)
        assert _no_child_left()
        assert sorted(p.name for p in root.iterdir()) == ["kept", "sub"]
        assert [p.name for p in (root / "sub").iterdir()] == ["into"]
        assert (folder / replica.TREE / "a" / "f").read_text() == "kept\n"


def test_a_venv_holding_something_else_than_files_folders_and_links_is_not_kept(
    tmp_path: Path,
) -> None:
    venv = _venv(tmp_path)
    os.mkfifo(venv / "bin" / "pipe")
    folder = tmp_path / "kept"
    folder.mkdir()
    with pytest.raises(replica.Stale, match="neither"):
        replicacapture.capture(str(venv), str(folder), skip=frozenset(), meta={})


def test_a_venv_reached_through_a_link_or_holding_no_file_is_not_kept(tmp_path: Path) -> None:
    venv = _venv(tmp_path)
    link = tmp_path / "link"
    link.symlink_to(venv)
    empty = tmp_path / "empty"
    (empty / "lib").mkdir(parents=True)
    for where, says in ((link, "is not a folder"), (empty, "holds no file")):
        folder = tmp_path / f"kept-{where.name}"
        folder.mkdir()
        with pytest.raises(replica.Stale, match=says):
            replicacapture.capture(str(where), str(folder), skip=frozenset(), meta={})
        assert not (folder / replica.MANIFEST).exists()


_NAMES = st.text(alphabet="abcdef_.", min_size=1, max_size=6).filter(lambda n: n not in {".", ".."})
_TREES = st.recursive(
    st.one_of(st.binary(max_size=64), st.sampled_from([("link", "x"), ("link", "/abs")])),
    lambda inner: st.dictionaries(_NAMES, inner, max_size=4),
    max_leaves=12,
)


def _write(path: Path, node: object) -> None:
    if isinstance(node, dict):
        path.mkdir()
        for name, child in node.items():
            _write(path / name, child)
    elif isinstance(node, tuple):
        path.symlink_to(node[1])
    else:
        assert isinstance(node, bytes)
        path.write_bytes(node)


@given(tree=st.dictionaries(_NAMES, _TREES, max_size=5))
def test_any_tree_of_files_folders_and_links_comes_back_as_it_was(tree: dict[str, object]) -> None:
    with tempfile.TemporaryDirectory() as base:
        root = Path(base)
        _write(root / "venv", tree)
        (root / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")  # as every venv has
        folder = _capture(root, root / "venv")
        again = _restore(root, folder)
        assert tree_digest(again) == tree_digest(root / "venv")


def _many(root: Path, count: int) -> Path:
    """A venv of *count* files in folders three deep, and an empty folder in each package."""
    venv = root / "venv"
    for number in range(count):
        folder = venv / "lib" / f"pkg{number % 7}"
        (folder / "empty").mkdir(parents=True, exist_ok=True)
        if number % 3:
            folder = folder / f"sub{number % 3}" / "deeper"
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"m{number}.py").write_text(f"x = {number}\n")
    return venv


def _in_processes(
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    changed: str | None = None,
    threaded: bool = False,
    workers: int = 3,
) -> tuple[Path, Path, list[int]]:
    """A venv of 200 files kept, then made again into ``root/again`` by *workers* processes.

    *changed* names a file of the venv written to before (the inode the replica keeps).
    Returns the venv, the new folder and the pid of each helper forked. *threaded*: leave
    the check for other threads as it is (else this process counts as having none).
    """
    monkeypatch.setattr(replica, "PARALLEL_FROM", 10)
    if not threaded:  # the suite's index serves from a thread: as the fast path, have none
        monkeypatch.setattr(replica, "may_fork", lambda: True)
    forked = counted_forks(monkeypatch)
    venv = _many(root, 200)
    folder = _capture(root, venv)
    if changed is not None:
        (venv / changed).write_text("x = 0\n")
    into = root / "again"
    into.mkdir()
    try:
        replica.restore(replica.load(str(folder)), str(folder), str(into), workers=workers)
    finally:
        monkeypatch.undo()
    return venv, into, forked


def _no_child_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@pytest.mark.parametrize("workers", [2, 3, 4, 6])
def test_a_large_venv_is_made_by_helper_processes_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    # The shares' bounds fall at other folders for each count: in a package, in a package's
    # sub-folder, between packages; each share's folders are there before it links into them.
    venv, into, forked = _in_processes(tmp_path, monkeypatch, workers=workers)
    assert len(forked) == workers - 1  # this process does one share, the helpers the others
    assert tree_digest(into) == tree_digest(venv)
    assert _no_child_left()


@pytest.mark.parametrize("changed", ["lib/pkg0/m0.py", "lib/pkg3/m150.py", "lib/pkg6/m195.py"])
def test_a_changed_file_in_any_share_is_stale_and_no_helper_outlives_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, changed: str
) -> None:
    into = tmp_path / "again"
    with pytest.raises(replica.Stale, match=r"changed since it was kept|could not link its share"):
        _in_processes(tmp_path, monkeypatch, changed=changed)
    assert _no_child_left()  # every helper has ended: the caller may delete what they made
    linked = sorted(p for p in into.rglob("*") if p.is_file())
    shutil.rmtree(into)
    assert not into.exists()
    assert len(linked) < 200


def test_with_another_thread_running_no_helper_is_forked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading  # noqa: PLC0415

    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        venv, into, forked = _in_processes(tmp_path, monkeypatch, threaded=True)
    finally:
        release.set()
        other.join()
    assert forked == []  # a fork would copy a process whose other thread may hold a lock
    assert tree_digest(into) == tree_digest(venv)


# -- the manifest's paths, read without splitting them ----------------------------------------

#: The reading before ``_dot_component``: one search for each mark, dots spelled out.
_OUTSIDE_BEFORE = ("\x00\x00", "\x00/", "\x00../", "/../", "/..\x00", "\x00..\x00", "\x00./")
_OUTSIDE_BEFORE += ("/./", "/.\x00", "\x00.\x00", "//")
_NOT_A_NAME_BEFORE = ("/", "\x00\x00", "\x00.\x00", "\x00..\x00")


def _clear_before(strings: list[object], marks: tuple[str, ...]) -> bool:
    if not all(isinstance(item, str) for item in strings):
        return False
    framed = "\x00" + "\x00".join(strings) + "\x00"  # type: ignore[arg-type]
    return not strings or not any(mark in framed for mark in marks)


def _inside(path: str) -> bool:
    """Whether *path*, put after a folder as ``restore`` does (``into + path``), names
    something inside it."""
    root = "/r/o/o/t/"
    return os.path.normpath(root + path).startswith(root)


_PATH_PIECES = st.sampled_from(["a", "b.py", ".", "..", "/", ".a", "a.", "..a", "\x00"])
_PATHS = st.lists(_PATH_PIECES, max_size=7).map("".join)
_ITEMS = st.lists(st.one_of(_PATHS, _PATHS, _PATHS, st.just(b"a"), st.none()), max_size=5)


@given(_ITEMS)
def test_paths_are_judged_as_every_dotted_mark_judged_them(items: list[object]) -> None:
    assert replica._framed_clear(items, replica._OUTSIDE) is _clear_before(items, _OUTSIDE_BEFORE)
    names = replica._framed_clear(items, replica._NOT_A_NAME)
    assert names is _clear_before(items, _NOT_A_NAME_BEFORE)


@given(st.lists(_PATHS.filter(lambda p: "\x00" not in p), max_size=5))
def test_a_path_found_clear_stays_inside(paths: list[str]) -> None:
    if replica._framed_clear(paths, replica._OUTSIDE):
        assert all(map(_inside, paths))


@pytest.mark.parametrize(
    ("path", "inside"),
    [
        ("lib/python3.11/site-packages/typer/.agents/skills", True),  # a dot folder: fine
        ("lib/.../x", True),
        ("lib/..", False),
        ("lib/./x", False),
        ("./lib", False),
        ("..", False),
        ("lib//x", False),
        ("/lib", False),
    ],
)
def test_a_dot_component_is_told_from_a_dot_folder(path: str, inside: bool) -> None:
    assert replica._framed_clear([path], replica._OUTSIDE) is inside


# -- keeping a venv from a helper process (replicacapture.Background) -----------------------


def _background(
    root: Path, venv: Path, monkeypatch: pytest.MonkeyPatch, *, fork: bool
) -> tuple[Path, replicacapture.Background, list[int]]:
    """A walk of *venv* started into a new folder, in a helper (*fork*) or here."""
    monkeypatch.setattr(forked_helpers, "may_fork", lambda: fork)
    forked = counted_forks(monkeypatch)
    folder = root / "kept"
    folder.mkdir()
    walking = replicacapture.Background.start(str(venv), str(folder), skip=frozenset({STATE}))
    return folder, walking, forked


@pytest.mark.parametrize("fork", [True, False], ids=["helper", "here"])
def test_a_venv_kept_by_a_walk_in_the_background_is_made_again_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fork: bool
) -> None:
    venv = _venv(tmp_path)
    folder, walking, forked = _background(tmp_path, venv, monkeypatch, fork=fork)
    replicacapture.write(str(folder), walking.result(), {"stdout": "out\n"})

    assert len(forked) == (1 if fork else 0)
    assert _no_child_left()
    (venv / STATE).unlink()
    again = _restore(tmp_path, folder)
    assert tree_digest(again) == tree_digest(venv)
    assert (again / "pyvenv.cfg").stat().st_ino == (venv / "pyvenv.cfg").stat().st_ino
    assert replica.load(str(folder)).meta == {"stdout": "out\n"}


def test_a_walk_that_fails_in_its_helper_is_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = _venv(tmp_path)
    os.mkfifo(venv / "bin" / "fifo")  # neither a file, a folder nor a link: not kept

    _, walking, forked = _background(tmp_path, venv, monkeypatch, fork=True)

    with pytest.raises(replica.Stale, match="could not keep the venv"):
        walking.result()
    assert len(forked) == 1
    assert _no_child_left()


def test_a_stopped_walk_leaves_no_helper_and_no_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = _many(tmp_path, 200)
    folder, walking, forked = _background(tmp_path, venv, monkeypatch, fork=True)

    walking.stop()

    assert len(forked) == 1
    assert _no_child_left()  # killed and waited for: the caller may delete its folder now
    shutil.rmtree(folder)
    assert not folder.exists()
    with pytest.raises(replica.Stale, match="stopped"):
        walking.result()
