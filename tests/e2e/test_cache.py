"""The wheel store on its own (``install/cache.py``): what it keeps, reuses, refuses and repairs.

Real wheels served from 127.0.0.1, a private cache under tmp_path, and the store's API as the
installers call it (``fetch``, ``unpacked``, ``tree``, ``remove``). Each test checks what a user
finds on disk or reads in an error: the entry and its bytes, what is (not) left behind, the
message. How a whole apply uses the store is tested in test_nativeinstall and test_verify.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from envsync.core.lockfile import Artifact
from envsync.errors import EnvsyncError, HashMismatchError, InstallError
from envsync.install.cache import Cache

from helpers import envsync, venv_packages, write_spec
from support.pkgindex import PackageIndex

if TYPE_CHECKING:
    from collections.abc import Callable

    from envsync.install.unpack import Tree

pytestmark = pytest.mark.e2e

THETA = "theta-1.0-py3-none-any.whl"


def no_index(url: str) -> None:
    """The lookup for URLs of no configured index: no credentials, plain messages."""


def served(index: PackageIndex, filename: str, sha256: str | None = None) -> Artifact:
    """The lock's view of *filename* on *index*: its URL and (unless given) its true hash."""
    true = next(f.sha256 for f in index.files() if f.filename == filename)
    url = f"{index.base_url}/files/{filename}"
    return Artifact(kind="wheel", url=url, sha256=sha256 or true, filename=filename)


def leftovers(cache: Path) -> list[str]:
    """Half-made entries, trash and partial downloads: what a finished run must not leave."""
    found = [p.name for p in (cache / "unpacked").glob(".*")]
    found += [p.name for p in (cache / "wheels").glob("*/.*")]
    return found + [p.name for p in (cache / "tmp").glob("*")]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cache:
    """A private cache, which envsync run in this test uses too."""
    monkeypatch.setenv("ENVSYNC_CACHE_DIR", str(tmp_path / "cache"))
    return Cache(tmp_path / "cache")


# -- reuse ----------------------------------------------------------------------------------


def test_a_wheel_is_downloaded_once_and_a_second_venv_reuses_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fresh_index: PackageIndex, store: Cache
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    spec = write_spec(first, ["theta"], index_url=fresh_index.url)
    assert envsync(capsys, "lock", "--spec", str(spec)).code == 0
    second.mkdir()
    for name in ("env.toml", "pylock.toml"):
        (second / name).write_bytes((first / name).read_bytes())
    downloads = []
    for project in (first, second):
        before = fresh_index.requests.count(f"/files/{THETA}")
        result = envsync(capsys, "apply", "--frozen", "--spec", str(project / "env.toml"))
        assert result.code == 0, result.err
        downloads.append(fresh_index.requests.count(f"/files/{THETA}") - before)

    assert downloads == [1, 0]  # the second venv was made from the store
    assert [venv_packages(p) for p in (first, second)] == [{"theta": "1.0"}] * 2
    assert [p.name for p in store.root.glob("wheels/*/*/*")] == [THETA]
    assert len(list((store.root / "unpacked").iterdir())) == 1


def test_a_stored_wheel_is_fetched_from_the_store_and_unpacked_once(
    store: Cache, fresh_index: PackageIndex
) -> None:
    artifact = served(fresh_index, THETA)
    first = store.fetch(artifact, no_index)
    tree = store.unpacked(first, str(artifact.sha256))

    again = store.fetch(artifact, no_index)

    assert again == first == store.wheel_path(str(artifact.sha256), THETA)
    assert fresh_index.requests.count(f"/files/{THETA}") == 1
    assert hashlib.sha256(first.read_bytes()).hexdigest() == artifact.sha256
    assert store.tree(str(artifact.sha256)) == tree
    assert store.unpacked(again, str(artifact.sha256)) == tree
    assert (tree.root / "theta" / "__init__.py").read_text() == '__version__ = "1.0"\n'


# -- refusals -------------------------------------------------------------------------------


def test_a_download_with_other_bytes_than_locked_is_refused_and_nothing_is_kept(
    store: Cache, tmp_path: Path, wheelhouse: Path
) -> None:
    (tmp_path / "files").mkdir()
    with PackageIndex(tmp_path / "files", auth=("user", "s3cret")) as private:
        private.add(wheelhouse / THETA)
        private.add(wheelhouse / "delta-1.0-py3-none-any.whl")
        real, port = served(private, THETA).sha256, private.port
        with_login = f"http://user:s3cret@127.0.0.1:{port}/files"
        good = Artifact(
            kind="wheel",
            url=f"{with_login}/delta-1.0-py3-none-any.whl",
            sha256=served(private, "delta-1.0-py3-none-any.whl").sha256,
        )
        kept = store.fetch(good, no_index)
        kept_bytes = kept.read_bytes()
        wrong = Artifact(kind="wheel", url=f"{with_login}/{THETA}", sha256="0" * 64)

        with pytest.raises(HashMismatchError) as caught:
            store.fetch(wrong, no_index)

    assert str(caught.value) == (
        f"{THETA} does not match the hash in pylock.toml: expected sha256 {'0' * 64}, "
        f"downloaded {real} (from http://***@127.0.0.1:{port}/files/{THETA})"
    )
    assert "envsync lock --upgrade-package NAME" in str(caught.value.hint)
    assert not list(store.root.glob(f"wheels/*/*/{THETA}"))
    assert leftovers(store.root) == []
    assert kept.read_bytes() == kept_bytes  # what was stored before is untouched


def test_an_artifact_the_lock_gives_no_hash_is_not_cached(store: Cache) -> None:
    artifact = Artifact(kind="wheel", url="https://example.invalid/files/x-1.0-py3-none-any.whl")

    with pytest.raises(InstallError) as caught:
        store.fetch(artifact, no_index)

    assert str(caught.value) == (
        "https://example.invalid/files/x-1.0-py3-none-any.whl has no sha256 in the lock: "
        "it cannot be cached"
    )
    assert not store.root.exists()  # nothing was asked of the network, nothing was made


# -- damaged entries ------------------------------------------------------------------------


def garble_manifest(tree: Tree) -> None:
    (tree.root.parent / "manifest.json").write_text("{", "utf-8")


def remove_a_file(tree: Tree) -> None:
    (tree.root / "theta" / "__init__.py").unlink()


def grow_a_file(tree: Tree) -> None:
    with (tree.root / "theta" / "__init__.py").open("a") as out:
        out.write("EDITED = True\n")


def make_a_file_executable(tree: Tree) -> None:
    (tree.root / "theta" / "__init__.py").chmod(0o755)


@pytest.mark.parametrize(
    "damage", [garble_manifest, remove_a_file, grow_a_file, make_a_file_executable]
)
def test_a_damaged_unpacked_entry_is_not_used_and_is_unpacked_again(
    store: Cache,
    fresh_index: PackageIndex,
    caplog: pytest.LogCaptureFixture,
    damage: Callable[[Tree], None],
) -> None:
    artifact = served(fresh_index, THETA)
    wheel = store.fetch(artifact, no_index)
    damage(store.unpacked(wheel, str(artifact.sha256)))

    found = store.tree(str(artifact.sha256))
    repaired = store.unpacked(wheel, str(artifact.sha256))

    assert found is None  # a damaged entry is never linked into a venv
    assert f"unpacking {THETA} again: a file of its cached copy changed" in caplog.text
    with zipfile.ZipFile(wheel) as archive:
        for member in repaired.members:
            assert (repaired.root / member.path).read_bytes() == archive.read(member.path)
    assert not os.access(repaired.root / "theta" / "__init__.py", os.X_OK)
    assert store.tree(str(artifact.sha256)) == repaired
    assert leftovers(store.root) == []


def test_verifying_discards_an_entry_changed_in_place_that_its_sizes_still_vouch_for(
    store: Cache, fresh_index: PackageIndex, caplog: pytest.LogCaptureFixture
) -> None:
    artifact = served(fresh_index, THETA)
    tree = store.unpacked(store.fetch(artifact, no_index), str(artifact.sha256))
    module = tree.root / "theta" / "__init__.py"
    before = module.stat()
    module.write_text('__version__ = "6.6"\n')  # bit rot: same size, mtime put back
    os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns))

    trusted = store.tree(str(artifact.sha256))
    verified = store.tree(str(artifact.sha256), rehash=True)

    assert trusted == tree  # size, mode and mtime vouch for it: the documented trade-off
    assert verified is None
    assert f"unpacking {THETA} again: theta/__init__.py changed in the cache" in caplog.text
    assert not tree.root.parent.exists()
    assert leftovers(store.root) == []


# -- two at once ----------------------------------------------------------------------------

# One helper process of the race: fetch and unpack the wheel, print where its files are.
FETCH = """\
import sys
from pathlib import Path
from envsync.core.lockfile import Artifact
from envsync.install.cache import Cache
url, sha256, filename, root = sys.argv[1:]
artifact = Artifact(kind="wheel", url=url, sha256=sha256, filename=filename)
cache = Cache(Path(root))
print(cache.unpacked(cache.fetch(artifact, lambda url: None), sha256).root)
"""


def in_threads(store: Cache, artifact: Artifact, count: int) -> list[Path]:
    start = threading.Barrier(count)
    roots: list[Path] = []

    def one() -> None:
        start.wait()
        wheel = store.fetch(artifact, no_index)
        roots.append(store.unpacked(wheel, str(artifact.sha256)).root)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return roots


def in_processes(store: Cache, artifact: Artifact, count: int) -> list[Path]:
    argv = [sys.executable, "-c", FETCH, artifact.url, str(artifact.sha256), THETA, store.root]
    runs = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) for _ in range(count)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0] * count
    return [Path(out.strip()) for out in outputs]


@pytest.mark.parametrize("race", [in_threads, in_processes], ids=["threads", "processes"])
def test_fetches_of_one_wheel_at_the_same_time_leave_one_whole_entry(
    store: Cache,
    fresh_index: PackageIndex,
    race: Callable[[Cache, Artifact, int], list[Path]],
) -> None:
    fresh_index.file_delay = 0.3  # every download is under way before any ends
    artifact = served(fresh_index, THETA)

    roots = race(store, artifact, 4)

    assert len(roots) == 4
    assert set(roots) == {store.root / "unpacked" / str(artifact.sha256) / "files"}
    wheel = store.wheel_path(str(artifact.sha256), THETA)
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == artifact.sha256
    assert [p.name for p in store.root.glob("wheels/*/*/*")] == [THETA]
    assert [p.name for p in (store.root / "unpacked").iterdir()] == [artifact.sha256]
    assert leftovers(store.root) == []
    tree = store.tree(str(artifact.sha256))
    assert tree is not None
    assert tree.dist_info == "theta-1.0.dist-info"


# -- removing -------------------------------------------------------------------------------


def test_remove_deletes_only_inside_the_cache_and_never_through_a_link(
    store: Cache, tmp_path: Path
) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("mine\n")
    (store.root / "wheels" / "zz").mkdir(parents=True)
    link = store.root / "wheels" / "zz" / "link"
    link.symlink_to(precious)

    with pytest.raises(EnvsyncError) as outside:
        store.remove(precious / "keep.txt")
    with pytest.raises(EnvsyncError) as through:
        store.remove(link / "keep.txt")
    store.remove(link)

    assert str(outside.value) == (
        f"envsync does not delete {precious / 'keep.txt'}: it is not inside {store.root}"
    )
    assert str(through.value) == (
        f"envsync does not delete {link / 'keep.txt'}: it is not inside {store.root}"
    )
    assert not link.is_symlink()
    assert (precious / "keep.txt").read_text() == "mine\n"


def test_the_cache_folder_goes_only_once_it_is_empty(store: Cache) -> None:
    (store.root / "pages").mkdir(parents=True)
    (store.root / "pages" / "page.json").write_text("{}")

    with pytest.raises(EnvsyncError) as caught:
        store.remove_root()
    store.remove(store.root / "pages")
    store.remove_root()

    assert str(caught.value) == f"envsync did not delete {store.root}: it is not empty"
    assert not store.root.exists()
