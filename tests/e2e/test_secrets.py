"""No secret on any command line, in pylock.toml or in anything envsync says.

A project takes one package from each of four places on 127.0.0.1 that demand HTTP basic
auth, so each login must really reach whoever downloads: the default index (user and
password), an extra index (a token with no password), a find-links page (user and
password) and a direct URL (user and password). All four are on one host, and netrc holds
one login per host: the three others must reach pip, pip-compile and uv another way.

envsync runs as a process (lock, then apply, with --verbose, then plan --json and apply
--json) while a thread reads the command line of every process below it from /proc, for
the pip-tools resolver with the native, pip and uv installers, and the uv resolver.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from helpers import envsync_started, venv_packages
from support.pkgindex import PackageIndex
from support.wheels import build_wheel

if TYPE_CHECKING:
    from collections.abc import Iterator

    from typing_extensions import Self

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads command lines from /proc (Linux)"
)

#: Where each package comes from, and the login demanded there: (user, password or "").
PLACES = {
    "index": ("onlya", "user", f"pw-a-{secrets.token_hex(8)}"),
    "extra": ("onlyb", f"tok-b-{secrets.token_hex(8)}", ""),
    "links": ("onlyc", "links", f"pw-c-{secrets.token_hex(8)}"),
    "direct": ("onlyd", "direct", f"pw-d-{secrets.token_hex(8)}"),
}
SECRETS = [login[2] or login[1] for login in PLACES.values()]


class Watcher:
    """Every command line of the processes below one pid, read from /proc while it runs."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        parents: dict[int, int] = {}  # each pid's parent, read once: a pass stays short
        below: set[int] = set()
        while not self._stop.is_set():
            new = [int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit()]
            new = [pid for pid in new if pid not in parents]
            parents.update((pid, _parent(pid)) for pid in new)
            below.update(pid for pid in new if _descends(pid, self.root, parents))
            # Read again on every pass: a child shows its parent's command line until its
            # exec, and may exec again (a Python launcher, say).
            for pid in below:
                line = _cmdline(pid)
                if line:
                    self.seen.add(line)


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state


def _descends(pid: int, root: int, parents: dict[int, int]) -> bool:
    while pid > 1:
        if pid == root:
            return True
        pid = parents.get(pid, 0)
    return False


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, PackageIndex]]:
    """One authenticated server per place, each holding only its own package."""
    served = {}
    for place, (package, user, password) in PLACES.items():
        root = tmp_path_factory.mktemp(place)
        build_wheel(root, package, "1.0")
        served[place] = PackageIndex(root, auth=(user, password)).start()
        # Each download takes a while: no pip or uv run ends before the watcher sees it.
        served[place].file_delay = 0.3
    yield served
    for index in served.values():
        index.stop()


def _with_login(url: str, place: str) -> str:
    _, user, password = PLACES[place]
    return url.replace("http://", f"http://{user}{':' + password if password else ''}@")


def _spec(
    root: Path, places: dict[str, PackageIndex], installer: str, resolver: str = "pip-tools"
) -> Path:
    direct = _with_login(f"{places['direct'].base_url}/files/onlyd-1.0-py3-none-any.whl", "direct")
    links = _with_login(f"{places['links'].base_url}/simple/onlyc/", "links")
    spec = root / "env.toml"
    spec.write_text(
        f"""\
[env]
dependencies = ["onlya", "onlyb", "onlyc", "onlyd @ {direct}"]
installer = "{installer}"
resolver = "{resolver}"

[index]
url = "{_with_login(places["index"].url, "index")}"
extra-urls = ["{_with_login(places["extra"].url, "extra")}"]
find-links = ["{links}"]
""",
        "utf-8",
    )
    return spec


def run_watched(spec: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run envsync as a process; what it returned, and every command line below it.

    pip's and uv's caches are the project's own, so that they download (with a login).
    """
    caches = {name: str(spec.parent / name.lower()) for name in ("PIP_CACHE_DIR", "UV_CACHE_DIR")}
    with envsync_started(spec.parent, *args, env=caches) as proc:
        with Watcher(proc.pid) as watcher:
            out, err = proc.communicate(timeout=300)
            time.sleep(0.01)
        lines = [" ".join(proc.args), *sorted(watcher.seen)]
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), lines


@pytest.mark.parametrize(
    ("resolver", "installer"),
    [("pip-tools", "native"), ("pip-tools", "pip"), ("pip-tools", "uv"), ("uv", "native")],
)
def test_no_secret_reaches_a_command_line_the_lock_or_any_output(
    tmp_path: Path, places: dict[str, PackageIndex], resolver: str, installer: str
) -> None:
    spec = _spec(tmp_path, places, installer, resolver)
    said, lines = [], []
    for args in (("lock", "--verbose"), ("apply", "--verbose"), ("plan", "--json")):
        done, seen = run_watched(spec, *args)
        assert done.returncode == 0, done.stderr
        said += [done.stdout, done.stderr]
        lines += seen
    report = json.loads(said[-2])
    assert report["status"] == "ok", report

    # Each login reached whoever downloaded: every package is in.
    assert venv_packages(tmp_path) == dict.fromkeys(["onlya", "onlyb", "onlyc", "onlyd"], "1.0")
    # The resolver ran, and (but for the native installer, which downloads wheels itself)
    # the installer did: the watcher saw them.
    compiler = "pip-compile" if resolver == "pip-tools" else "uv pip compile"
    assert any(compiler in line for line in lines), lines
    if installer != "native":
        assert any(" install " in line and " --no-deps " in line for line in lines), lines
    lock = (tmp_path / "pylock.toml").read_text("utf-8")
    for secret in SECRETS:
        assert secret in spec.read_text("utf-8")  # it was there to leak
        assert secret not in lock
        assert not [line for line in lines if secret in line]
        assert secret not in "\n".join(said)
        assert not _files_holding(tmp_path / ".venv", secret)


def _files_holding(venv: Path, secret: str) -> list[Path]:
    """Metadata files of the venv that hold *secret* (direct_url.json, RECORD...)."""
    return [
        path
        for path in venv.rglob("*.dist-info/*")
        if path.is_file() and secret.encode() in path.read_bytes()
    ]


def test_the_lock_stays_fresh_and_installs_for_the_same_spec_without_its_secrets(
    tmp_path: Path, places: dict[str, PackageIndex]
) -> None:
    spec = _spec(tmp_path, places, "native")
    done, _ = run_watched(spec, "lock")
    assert done.returncode == 0, done.stderr
    lock = (tmp_path / "pylock.toml").read_bytes()

    checked, _ = run_watched(spec, "apply", "--locked")
    relocked, _ = run_watched(spec, "lock")

    assert checked.returncode == 0, checked.stderr  # --locked: the stripped lock is fresh
    assert relocked.returncode == 0, relocked.stderr
    assert (tmp_path / "pylock.toml").read_bytes() == lock
    assert "Resolving" not in relocked.stderr
