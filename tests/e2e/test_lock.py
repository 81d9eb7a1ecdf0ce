"""`envsync lock`: the target's Python, pins kept, byte-stable output, PEP 751 for other readers."""

from __future__ import annotations

import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
import tomli_w
from packaging.specifiers import SpecifierSet
from uv import find_uv_bin

from envsync.venv.interpreters import find_python

from helpers import envsync, lock_packages, lock_versions, read_lock, venv_packages, write_spec
from support import isolated_env
from support.wheels import build_wheel

if TYPE_CHECKING:
    from pathlib import Path

    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e


def lock(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> str:
    result = envsync(capsys, "lock", "--spec", str(root / "env.toml"), *args)
    assert result.code == 0, result.err
    return result.out


def other_python(version: str) -> str:
    try:
        return str(find_python(SpecifierSet(f"=={version}.*")).executable)
    except Exception:  # noqa: BLE001 - any failure means this machine lacks it
        pytest.skip(f"no Python {version} on this machine")


@pytest.mark.parametrize(
    ("python", "zeta", "kappa"),
    [("3.12", False, "1.0"), ("3.11", True, "0.9")],
)
def test_lock_resolves_for_the_target_python_not_envsyncs(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    package_index: PackageIndex,
    python: str,
    zeta: bool,
    kappa: str,
) -> None:
    other_python(python)
    write_spec(tmp_path, ["epsilon", "kappa"], index_url=package_index.url, python=python)

    out = lock(capsys, tmp_path)

    versions = lock_versions(tmp_path)
    assert ("zeta" in versions) is zeta  # epsilon needs zeta only on Python < 3.12
    assert versions["kappa"] == kappa  # kappa 1.0 requires Python >= 3.12
    assert f"for Python {python} on linux-x86_64" in out  # this machine's platform, stated
    lock_data = read_lock(tmp_path)
    assert lock_data["environments"] == [
        f'python_version == "{python}" and sys_platform == "linux" and platform_machine == "x86_64"'
    ]
    assert lock_data["requires-python"] == f"=={python}.*"
    assert not (tmp_path / ".venv").exists()  # locking creates no venv


def test_relock_keeps_pins_unless_asked_to_upgrade(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fresh_index: PackageIndex
) -> None:
    write_spec(tmp_path, ["alpha"], index_url=fresh_index.url)
    lock(capsys, tmp_path)
    assert lock_versions(tmp_path) == {"alpha": "2.0", "beta": "2.0"}

    fresh_index.add(build_wheel(tmp_path / "new", "beta", "3.0"))
    write_spec(tmp_path, ["alpha", "theta"], index_url=fresh_index.url)
    lock(capsys, tmp_path)
    assert lock_versions(tmp_path) == {"alpha": "2.0", "beta": "2.0", "theta": "1.0"}

    out = lock(capsys, tmp_path)  # spec unchanged: nothing to do
    assert "up to date" in out

    lock(capsys, tmp_path, "--upgrade-package", "beta")
    assert lock_versions(tmp_path)["beta"] == "3.0"


def test_upgrade_ignores_every_pin(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fresh_index: PackageIndex
) -> None:
    write_spec(tmp_path, ["alpha"], index_url=fresh_index.url)
    lock(capsys, tmp_path)
    fresh_index.add(build_wheel(tmp_path / "new", "beta", "3.0"))
    fresh_index.add(build_wheel(tmp_path / "new", "alpha", "2.1", requires=["beta>=1.0"]))

    lock(capsys, tmp_path, "--upgrade")

    assert lock_versions(tmp_path) == {"alpha": "2.1", "beta": "3.0"}


def test_lock_is_byte_identical_for_the_same_inputs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    write_spec(
        tmp_path,
        ["alpha", "gamma[fast]", "iota"],
        index_url=package_index.url,
        groups={"dev": ["cli-tool"]},
    )
    lock(capsys, tmp_path)
    first = (tmp_path / "pylock.toml").read_bytes()

    (tmp_path / "pylock.toml").unlink()
    lock(capsys, tmp_path)

    assert (tmp_path / "pylock.toml").read_bytes() == first


def test_comments_and_key_order_do_not_make_the_lock_stale(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    spec = tmp_path / "env.toml"
    spec.write_text(
        f'[env]\ndependencies = ["alpha", "theta"]\n[index]\nurl = "{package_index.url}"\n'
    )
    lock(capsys, tmp_path)
    spec.write_text(
        f'# our project\n[index]\nurl = "{package_index.url}"  # local\n'
        '[env]\ndependencies = ["theta", "alpha"]\n'
    )
    before = len(package_index.requests)

    assert "up to date" in lock(capsys, tmp_path)
    assert len(package_index.requests) == before


def test_index_credentials_never_reach_the_lock(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, wheelhouse: Path
) -> None:
    from support.pkgindex import PackageIndex  # noqa: PLC0415 - only this test needs auth

    served = tmp_path / "served"
    shutil.copytree(wheelhouse, served)
    with PackageIndex(served, auth=("envsync-user", "s3cr3t-token")) as index:
        write_spec(tmp_path, ["alpha"], index_url=index.url_with_auth)
        result = envsync(capsys, "apply", "--spec", str(tmp_path / "env.toml"))
        assert result.code == 0, result.err

    text = (tmp_path / "pylock.toml").read_text()
    assert "s3cr3t-token" not in text
    assert "envsync-user" not in text
    assert "s3cr3t-token" not in result.out + result.err
    assert venv_packages(tmp_path) == {"alpha": "2.0", "beta": "2.0"}


def test_another_pep751_reader_installs_the_same_packages(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    uv = find_uv_bin()  # uv is a test-only dependency: a second PEP 751 reader
    write_spec(
        tmp_path, ["alpha", "gamma[fast]", "iota", "sdist-only"], index_url=package_index.url
    )
    result = envsync(capsys, "apply", "--spec", str(tmp_path / "env.toml"))
    assert result.code == 0, result.err
    ours = venv_packages(tmp_path)

    other = tmp_path / "other"
    other.mkdir()
    env = isolated_env({"UV_NO_CONFIG": "1", "UV_CACHE_DIR": str(tmp_path / "uv-cache")})
    for key in [
        k for k in env if k.startswith("UV_") and k not in {"UV_NO_CONFIG", "UV_CACHE_DIR"}
    ]:
        del env[key]
    subprocess.run([uv, "venv", "--quiet", str(other / ".venv")], check=True, env=env)
    synced = subprocess.run(
        [
            uv,
            "pip",
            "sync",
            "--python",
            str(other / ".venv" / "bin" / "python"),
            str(tmp_path / "pylock.toml"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert synced.returncode == 0, synced.stderr
    assert venv_packages(other) == ours
    assert set(ours) == set(lock_packages(tmp_path))


def test_a_lock_of_the_older_format_installs_frozen_and_is_relocked_with_its_targets(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    # What envsync wrote before locks named their targets: [tool.envsync] format 1 with the
    # interpreter's version, and an `environments` marker on the Python version alone.
    write_spec(tmp_path, ["alpha"], index_url=package_index.url)
    lock(capsys, tmp_path)
    data = read_lock(tmp_path)
    minor = ".".join(map(str, sys.version_info[:2]))
    table = data["tool"]["envsync"]  # type: ignore[index]
    for key in ("targets", "inputs"):
        del table[key]
    table.update({"format": 1, "python": ".".join(map(str, sys.version_info[:3]))})
    data["environments"] = [f'python_version == "{minor}"']
    old = tomli_w.dumps(data)
    (tmp_path / "pylock.toml").write_text(old, "utf-8")

    assert envsync(capsys, "apply", "--frozen", project=tmp_path).code == 0
    assert set(venv_packages(tmp_path)) == {"alpha", "beta"}
    checked = envsync(capsys, "check", project=tmp_path)
    assert checked.code != 0
    assert "written by an older envsync and does not name its targets" in checked.out
    assert (tmp_path / "pylock.toml").read_text("utf-8") == old  # check changes nothing

    assert envsync(capsys, "apply", project=tmp_path).code == 0
    assert read_lock(tmp_path)["tool"]["envsync"]["targets"] == [  # type: ignore[index]
        {"python": minor, "platform": "linux-x86_64"}
    ]
    assert envsync(capsys, "check", project=tmp_path).code == 0


def test_plan_and_apply_show_per_target_what_a_relock_changes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    write_spec(tmp_path, ["alpha"], index_url=package_index.url)
    assert envsync(capsys, "apply", project=tmp_path).code == 0
    write_spec(tmp_path, ["alpha", "theta"], index_url=package_index.url)
    minor = ".".join(map(str, sys.version_info[:2]))
    changes = [f"  Python {minor} on linux-x86_64:", "    + theta 1.0"]

    planned = envsync(capsys, "plan", project=tmp_path)
    applied = envsync(capsys, "apply", project=tmp_path)

    assert planned.code == applied.code == 0
    lines = planned.out.splitlines()
    start = lines.index("~ pylock.toml will be updated by apply")
    assert lines[start + 1 : start + 3] == changes
    assert applied.out.splitlines()[-3:] == [
        f"pylock.toml updated: 3 package(s) for Python {minor} on linux-x86_64",
        *changes,
    ]
