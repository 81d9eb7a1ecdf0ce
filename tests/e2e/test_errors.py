"""Bad input gets one readable error, a non-zero exit code, and the venv and lock untouched."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import pytest

from helpers import envsync, snapshot, write_spec
from support.wheels import build_sdist, build_wheel

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from support.pkgindex import PackageIndex

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_all(capsys: pytest.CaptureFixture[str], root: Path) -> list[tuple[str, int, str]]:
    """lock, plan and apply of the project at *root*: each command, its exit code and stderr."""
    results = []
    for command in ("lock", "plan", "apply"):
        result = envsync(capsys, command, project=root)
        results.append((command, result.code, result.err))
    return results


def test_a_bad_spec_is_one_clear_error_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], synced: Path
) -> None:
    before = snapshot(synced)
    (synced / "env.toml").write_text('[env]\npyhton = "3.11"\ndependencies = ["alpha >>> 1"]\n')

    for command, code, err in run_all(capsys, synced):
        assert code == 1, command
        assert "Traceback" not in err
        assert "env.toml:2: env.pyhton:" in err
        assert "did you mean 'python'?" in err
        assert "env.dependencies[0]" in err
        assert "alpha >>> 1" in err
    assert snapshot(synced) == before


def test_an_unreachable_index_is_one_clear_error_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], synced: Path
) -> None:
    before = snapshot(synced)
    dead = f"http://127.0.0.1:{free_port()}/simple"
    write_spec(synced, ["alpha", "theta"], index_url=dead)

    for command, code, err in run_all(capsys, synced):
        assert code == 1, command
        assert "Traceback" not in err
        assert f"cannot reach the package index {dead}" in err
        assert "hint:" in err
    assert snapshot(synced) == before


def test_a_missing_python_is_one_clear_error_listing_what_was_found(
    capsys: pytest.CaptureFixture[str], synced: Path, package_index: PackageIndex
) -> None:
    before = snapshot(synced)
    write_spec(synced, ["alpha"], index_url=package_index.url, python="3.99")

    for command, code, err in run_all(capsys, synced):
        assert code == 1, command
        assert "no Python interpreter matching '==3.99.*' was found" in err
        assert "(3.11." in err  # lists what it did find
        assert "Traceback" not in err
    assert snapshot(synced) == before


def test_an_unknown_package_is_a_resolution_error(
    capsys: pytest.CaptureFixture[str], synced: Path, package_index: PackageIndex
) -> None:
    before = snapshot(synced)
    write_spec(synced, ["alpha", "no-such-thing"], index_url=package_index.url)

    result = envsync(capsys, "apply", project=synced)

    assert result.code == 1
    assert "no version of no-such-thing is available" in result.err
    assert snapshot(synced) == before


def test_a_missing_spec_file_says_where_it_looked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    result = envsync(capsys, "apply", project=tmp_path)
    assert result.code == 1
    assert f"{tmp_path / 'env.toml'} was not found" in result.err
    assert not (tmp_path / ".venv").exists()


def bump_the_lock_version(lock: Path) -> None:
    lock.write_text(lock.read_text().replace('lock-version = "1.0"', 'lock-version = "9.0"'))


def add_a_latin1_comment_on_line_3(lock: Path) -> None:
    lines = lock.read_bytes().split(b"\n")
    lines[2] += b" # caf\xe9"
    lock.write_bytes(b"\n".join(lines))


@pytest.mark.parametrize(
    ("spoil", "says"),
    [
        pytest.param(
            bump_the_lock_version,
            ["pylock.toml is not a valid PEP 751 lock", "9.0"],
            id="corrupt",
        ),
        pytest.param(
            add_a_latin1_comment_on_line_3,
            [
                "line 3 is not UTF-8",
                "hint: pylock.toml is UTF-8: run `envsync lock` to write it again",
            ],
            id="not-utf8",
        ),
    ],
)
def test_a_bad_lock_is_one_clear_error_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], synced: Path, spoil: Callable[[Path], None], says: list[str]
) -> None:
    spoil(synced / "pylock.toml")
    before = snapshot(synced)

    result = envsync(capsys, "apply", "--frozen", project=synced)

    assert result.code == 1
    for said in says:
        assert said in result.err
    assert snapshot(synced) == before


def test_an_unknown_group_lists_the_known_ones(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, package_index: PackageIndex
) -> None:
    write_spec(tmp_path, ["theta"], index_url=package_index.url, groups={"dev": ["alpha"]})
    result = envsync(capsys, "apply", "--group", "tests", project=tmp_path)
    assert result.code == 1
    assert "there is no group named 'tests' (groups: dev)" in result.err
    assert not (tmp_path / ".venv").exists()


def test_a_file_that_no_longer_matches_its_locked_hash_is_refused(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    fresh_index: PackageIndex,
    own_cache: Path,  # the genuine theta wheel may already be in the session's cache
) -> None:
    write_spec(tmp_path, ["theta"], index_url=fresh_index.url)
    assert envsync(capsys, "lock", project=tmp_path).code == 0
    served = fresh_index.root / "theta-1.0-py3-none-any.whl"
    build_wheel(tmp_path / "evil", "theta", "1.0", files={"theta/__init__.py": "EVIL = 1\n"})
    served.write_bytes((tmp_path / "evil" / served.name).read_bytes())
    before = snapshot(tmp_path)

    result = envsync(capsys, "apply", "--frozen", project=tmp_path)

    assert result.code == 1
    assert "does not match the hash in pylock.toml" in result.err
    assert "Traceback" not in result.err
    assert snapshot(tmp_path)["lock"] == before["lock"]
    assert not list((tmp_path / ".venv").rglob("theta*"))


def test_a_package_that_fails_to_build_is_a_build_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fresh_index: PackageIndex
) -> None:
    fresh_index.add(build_sdist(tmp_path / "dists", "fragile", "1.0", broken=True))
    write_spec(tmp_path, ["fragile"], index_url=fresh_index.url)

    result = envsync(capsys, "apply", project=tmp_path)

    assert result.code == 1
    assert "failed to build" in result.err
    assert "Traceback (most recent call last)" not in result.err.split("hint:")[-1]
    assert snapshot(tmp_path) == {"lock": None, "venv": None}


def _mislabelled(folder: Path) -> Path:
    """A wheel named for `foo` whose .dist-info folder and METADATA say `bar`."""
    bar = build_wheel(folder / "bar", "bar", "1.0")
    foo = folder / "foo-1.0-py3-none-any.whl"
    foo.write_bytes(bar.read_bytes())
    return foo


@pytest.mark.parametrize("resolver", ["pip-tools", "uv"])
def test_a_wheel_that_names_another_project_is_one_resolution_error(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    fresh_index: PackageIndex,
    resolver: str,
) -> None:
    wheel = fresh_index.add(_mislabelled(tmp_path / "dists"))
    url = f"{fresh_index.base_url}/files/{wheel.name}"
    write_spec(tmp_path, [f"foo @ {url}"], index_url=fresh_index.url)
    spec = tmp_path / "env.toml"
    spec.write_text(spec.read_text().replace("[env]", f'[env]\nresolver = "{resolver}"'))

    result = envsync(capsys, "apply", project=tmp_path)

    assert result.code == 1
    error = result.err[result.err.index("error: ") :].splitlines()
    assert len(error) == 2, result.err
    assert error[0].startswith("error: the distribution found for foo is not a distribution of foo")
    assert "bar" in error[0]
    assert error[1:] == [
        (
            "hint: check the name and URL of foo in env.toml; if they are right, the file is "
            "mislabelled and whoever publishes it must fix it"
        )
    ]
    assert snapshot(tmp_path) == {"lock": None, "venv": None}
