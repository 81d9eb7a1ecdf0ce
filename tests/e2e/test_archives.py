"""Hostile wheels through the real CLI: each is refused with one message, nothing of it kept.

Each test locks a crafted wheel by hand (a ``file:`` URL with its true sha256, so the hash
check passes and the archive itself is what is judged) and runs ``apply --frozen`` on a venv
that already holds a good package. What a user must see: exit 1, one ``error:`` naming the
wheel and the problem with a ``hint:``, no traceback, the venv and lock as they were, and no
entry (nor a half-made ``.tmp-*`` folder) of the bad wheel under the cache's ``unpacked/``.
"""

from __future__ import annotations

import hashlib
import os
import platform
import stat
import warnings
import zipfile
from typing import TYPE_CHECKING

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from envsync.core import lockfile
from envsync.core.spec import parse_spec

from helpers import Result, envsync, snapshot, venv_packages
from support.locks import single_lock
from support.wheels import build_wheel

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

pytestmark = pytest.mark.e2e

PYTHON = platform.python_version()
ZEROS = "\0" * (4 << 20)  # 4 MiB of zeros: deflates about 1000:1


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache: these tests look at what is (not) left in it."""
    monkeypatch.setenv("ENVSYNC_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("ENVSYNC_MAX_UNPACKED_SIZE", "ENVSYNC_MAX_RATIO"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "cache"


def lock_wheels(project: Path, wheels: dict[str, Path]) -> None:
    """env.toml asking for each package, and pylock.toml locking it to the given wheel."""
    (project / "env.toml").write_text(
        f"[env]\ndependencies = {sorted(wheels)!r}\n".replace("'", '"'), "utf-8"
    )
    spec = parse_spec((project / "env.toml").read_text("utf-8"), path=project / "env.toml")
    packages = [
        lockfile.ResolvedPackage(
            name=canonicalize_name(name),
            version=Version(wheel.name.split("-")[1]),
            groups=frozenset(),
            wheels=(
                lockfile.LockedFile(
                    filename=wheel.name,
                    url=wheel.as_uri(),
                    sha256=hashlib.sha256(wheel.read_bytes()).hexdigest(),
                ),
            ),
        )
        for name, wheel in wheels.items()
    ]
    lock = single_lock(spec=spec, python=PYTHON, packages=packages)
    (project / "pylock.toml").write_text(lockfile.dumps(lock), "utf-8")


@pytest.fixture
def project(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Path:
    """A project whose venv holds ``good 1.0``, installed by envsync."""
    root = tmp_path / "project"
    root.mkdir()
    lock_wheels(root, {"good": build_wheel(tmp_path / "ok", "good", "1.0")})
    result = envsync(capsys, "apply", "--frozen", "--spec", str(root / "env.toml"))
    assert result.code == 0, result.err
    return root


def good_wheel(project: Path) -> Path:
    return project.parent / "ok" / "good-1.0-py3-none-any.whl"


@pytest.fixture
def apply_with(
    capsys: pytest.CaptureFixture[str], project: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """Runs ``apply --frozen`` on *wheels* locked next to ``good``, with the variables given."""

    def run(wheels: dict[str, Path], **variables: str) -> Result:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        lock_wheels(project, {"good": good_wheel(project), **wheels})
        return envsync(capsys, "apply", "--frozen", "--spec", str(project / "env.toml"))

    return run


def refused(
    capsys: pytest.CaptureFixture[str],
    project: Path,
    cache: Path,
    wheel: Path,
    others: dict[str, Path] | None = None,
) -> str:
    """Lock *wheel* next to ``good`` (and *others*), apply, check the refusal; the message."""
    before_venv = snapshot(project)["venv"]
    lock_wheels(project, {"good": good_wheel(project), **(others or {}), "bad": wheel})
    before = snapshot(project)

    result = envsync(capsys, "apply", "--frozen", "--spec", str(project / "env.toml"))

    assert result.code == 1, result.out + result.err
    assert result.err.count("error:") == 1
    assert "hint:" in result.err
    assert "Traceback" not in result.err
    assert "internal error" not in result.err
    assert f"cannot unpack {wheel.name}" in result.err
    assert snapshot(project) == before
    assert before["venv"] == before_venv
    assert venv_packages(project) == {"good": "1.0"}
    entries = {p.name for p in (cache / "unpacked").iterdir()}
    assert hashlib.sha256(good_wheel(project).read_bytes()).hexdigest() in entries
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() not in entries
    assert not [name for name in entries if name.startswith(".")]  # no .tmp-* left behind
    return result.err


def rewrite(wheel: Path, change: Callable[[zipfile.ZipFile], None]) -> Path:
    """*wheel* with members added by *change* (duplicate names warn: not here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(wheel, "a") as archive:
            change(archive)
    return wheel


# -- bounded unpacking ----------------------------------------------------------------------


RATIO_SAYS = (
    "its member 'bad/zeros.bin' expands",
    "beyond the limit of 200:1 (a zip bomb?)",
    "hint: if you trust this wheel, raise the limit: ENVSYNC_MAX_RATIO=",
)
SIZE_SAYS = ("more than the limit of 1048576 bytes", "ENVSYNC_MAX_UNPACKED_SIZE=")


@pytest.mark.parametrize(
    ("limit", "helpers", "says"),
    [("ratio", False, RATIO_SAYS), ("ratio", True, RATIO_SAYS), ("size", False, SIZE_SAYS)],
    ids=["ratio-in-process", "ratio-helper-processes", "total-size"],
)
def test_a_zip_bomb_is_refused_by_the_limit_it_breaks(
    capsys: pytest.CaptureFixture[str],
    project: Path,
    cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    limit: str,
    helpers: bool,
    says: tuple[str, ...],
) -> None:
    if limit == "size":
        monkeypatch.setenv("ENVSYNC_MAX_RATIO", "100000")  # the ratio allowed: the size decides
        monkeypatch.setenv("ENVSYNC_MAX_UNPACKED_SIZE", "1M")
    bomb = build_wheel(tmp_path / "w", "bad", "1.0", files={"bad/zeros.bin": ZEROS})
    assert bomb.stat().st_size < 64 << 10
    others = {}
    if helpers:  # a batch of four new wheels on two CPUs: helper processes unpack them
        monkeypatch.setattr(os, "cpu_count", lambda: 2)
        others = {name: build_wheel(tmp_path / "more", name, "1.0") for name in ("h1", "h2", "h3")}

    err = refused(capsys, project, cache, bomb, others)

    for text in says:
        assert text in err


def test_raised_limits_let_a_trusted_wheel_install(
    apply_with: Callable[..., Result], project: Path, tmp_path: Path
) -> None:
    wheel = build_wheel(tmp_path / "w", "bad", "1.0", files={"bad/zeros.bin": ZEROS})

    result = apply_with({"bad": wheel}, ENVSYNC_MAX_RATIO="5000", ENVSYNC_MAX_UNPACKED_SIZE="1GiB")

    assert result.code == 0, result.err
    assert venv_packages(project) == {"good": "1.0", "bad": "1.0"}


def test_a_bad_limit_variable_is_an_error_naming_it(
    apply_with: Callable[..., Result], tmp_path: Path
) -> None:
    bad = build_wheel(tmp_path / "w", "bad", "1.0")

    result = apply_with({"bad": bad}, ENVSYNC_MAX_UNPACKED_SIZE="lots")

    assert result.code == 1
    expected = "ENVSYNC_MAX_UNPACKED_SIZE must be a size in bytes such as 8G or 500M, found 'lots'"
    assert f"error: {expected}" in result.err
    assert "hint: fix or unset ENVSYNC_MAX_UNPACKED_SIZE" in result.err


def test_a_member_that_lies_about_its_size_is_refused(
    capsys: pytest.CaptureFixture[str], project: Path, cache: Path, tmp_path: Path
) -> None:
    payload = bytes(range(256)) * 64  # 16 KiB, stored as it is
    wheel = build_wheel(tmp_path / "w", "bad", "1.0")
    rewrite(wheel, lambda z: z.writestr(zipfile.ZipInfo("bad/data.bin"), payload))
    data = bytearray(wheel.read_bytes())
    # The central directory entry of the last member added: declare 16 bytes, not 16 KiB.
    entry = data.rindex(b"PK\x01\x02")
    assert data[entry + 46 : entry + 46 + 12] == b"bad/data.bin"
    data[entry + 24 : entry + 28] = (16).to_bytes(4, "little")
    data[entry + 20 : entry + 24] = (16).to_bytes(4, "little")
    wheel.write_bytes(bytes(data))

    err = refused(capsys, project, cache, wheel)

    assert "'bad/data.bin'" in err


# -- archives that are not sound ------------------------------------------------------------


def member_twice(folder: Path) -> Path:
    wheel = build_wheel(folder, "bad", "1.0")
    return rewrite(wheel, lambda z: z.writestr("bad/__init__.py", b"EVIL = True\n"))


def member_twice_spelled_apart(folder: Path) -> Path:
    """The same file under a second name that a path reads as the same."""
    wheel = build_wheel(folder, "bad", "1.0")
    return rewrite(wheel, lambda z: z.writestr("./bad//__init__.py", b"EVIL = True\n"))


def symlink_member(folder: Path) -> Path:
    def add(archive: zipfile.ZipFile) -> None:
        link = zipfile.ZipInfo("bad/\x1b[31mlink")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, b"/etc")
        archive.writestr("bad/\x1b[31mlink/passwd", b"owned\n")  # a file under the link

    return rewrite(build_wheel(folder, "bad", "1.0"), add)


def bad_crc(folder: Path) -> Path:
    marker = b"# a payload whose bytes the test damages\n"
    wheel = build_wheel(folder, "bad", "1.0")
    rewrite(wheel, lambda z: z.writestr(zipfile.ZipInfo("bad/data.py"), marker))  # stored
    data = wheel.read_bytes()
    wheel.write_bytes(data.replace(marker, marker.replace(b"payload", b"PAYLOAD"), 1))
    return wheel


def bad_deflate(folder: Path) -> Path:
    """A deflated member whose compressed stream has one byte changed."""
    text = "".join(f"LINE_{n} = {n * n}\n" for n in range(2000))
    wheel = build_wheel(folder, "bad", "1.0", files={"bad/data.py": text})
    data = bytearray(wheel.read_bytes())
    with zipfile.ZipFile(wheel) as archive:
        info = archive.getinfo("bad/data.py")
    assert info.compress_type == zipfile.ZIP_DEFLATED
    name, extra = (int.from_bytes(data[info.header_offset + at :][:2], "little") for at in (26, 28))
    data[info.header_offset + 30 + name + extra + info.compress_size // 2] ^= 0x55
    wheel.write_bytes(bytes(data))
    return wheel


def not_a_zip(folder: Path) -> Path:
    wheel = folder / "bad-1.0-py3-none-any.whl"
    folder.mkdir()
    wheel.write_bytes(b"<html>not a wheel</html>\n")
    return wheel


def no_dist_info(folder: Path) -> Path:
    wheel = folder / "bad-1.0-py3-none-any.whl"
    folder.mkdir()
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("bad/__init__.py", b"")
    return wheel


def file_and_folder(folder: Path) -> Path:
    return build_wheel(folder, "bad", "1.0", files={"bad/x": "", "bad/x/y.py": ""})


def file_and_folder_spelled_apart(folder: Path) -> Path:
    return build_wheel(folder, "bad", "1.0", files={"./bad/x": "", "bad/x/y.py": ""})


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (member_twice, "it holds the member 'bad/__init__.py' twice"),
        (
            symlink_member,
            "it holds a symbolic link, 'bad/\\x1b[31mlink' (wheels hold files only)",
        ),
        (
            bad_crc,
            "it is damaged: reading 'bad/data.py' failed (Bad CRC-32 for file 'bad/data.py')",
        ),
        (bad_deflate, "it is damaged: reading 'bad/data.py' failed ("),
        (not_a_zip, "it is not a zip archive (File is not a zip file)"),
        (no_dist_info, "it has no usable .dist-info folder"),
        (file_and_folder, "it holds 'bad/x' both as a file and as a folder"),
        (member_twice_spelled_apart, "it holds the member 'bad/__init__.py' twice"),
        (file_and_folder_spelled_apart, "it holds 'bad/x' both as a file and as a folder"),
    ],
    ids=[
        "member-twice",
        "symlink",
        "bad-crc",
        "bad-deflate",
        "not-a-zip",
        "no-dist-info",
        "file-and-folder",
        "member-twice-spelled-apart",
        "file-and-folder-spelled-apart",
    ],
)
def test_an_archive_that_is_not_sound_is_refused(
    capsys: pytest.CaptureFixture[str],
    project: Path,
    cache: Path,
    tmp_path: Path,
    make: Callable[[Path], Path],
    says: str,
) -> None:
    err = refused(capsys, project, cache, make(tmp_path / "w"))

    assert says in err
    assert "\x1b" not in err  # names from the archive are shown escaped
