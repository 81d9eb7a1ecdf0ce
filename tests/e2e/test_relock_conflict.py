"""A relock whose kept pins clash with a changed env.toml lets go of them and says so; a real
conflict is reported as who requires what, and changes nothing. With pip-tools and with uv.

The index: ``a 2.0`` requires ``b>=2`` and ``a 1.0`` requires ``b<2``; ``c 2.0`` requires
``a>=2`` and ``c 1.0`` any ``a``. Locking ``a, c`` pins a 2.0, b 2.0 and c 2.0; asking for
``a<2`` then needs every one of those pins let go. pip-compile alone fails there: it keeps
c 2.0 as a constraint, because the conflict it meets names only ``a``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import jsonschema
import pytest

from helpers import envsync, lock_versions, venv_packages
from support.pkgindex import PackageIndex
from support.wheels import build_wheel

if TYPE_CHECKING:
    from collections.abc import Iterator

    from helpers import Result

pytestmark = pytest.mark.e2e

RESOLVERS = pytest.mark.parametrize("resolver", ["pip-tools", "uv"])
SCHEMA = json.loads(
    (Path(__file__).parents[2] / "schemas" / "report.schema.json").read_text("utf-8")
)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackageIndex]:
    """An index of its own: a and c, whose versions want different b and a."""
    files = tmp_path_factory.mktemp("relock-index")
    build_wheel(files, "a", "1.0", requires=["b<2"])
    build_wheel(files, "a", "2.0", requires=["b>=2"])
    for version in ("1.0", "1.5", "2.0"):
        build_wheel(files, "b", version)
    build_wheel(files, "c", "1.0", requires=["a"])
    build_wheel(files, "c", "2.0", requires=["a>=2"])
    served = PackageIndex(files).start()
    yield served
    served.stop()


@pytest.fixture(autouse=True)
def _uv_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))


def spec(root: Path, dependencies: list[str], index: PackageIndex, resolver: str) -> None:
    """Write env.toml: *dependencies* from *index*, resolved by *resolver*."""
    (root / "env.toml").write_text(
        f'[env]\nresolver = "{resolver}"\ndependencies = {json.dumps(dependencies)}\n'
        f'[index]\nurl = "{index.url}"\n',
        "utf-8",
    )


def apply(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> Result:
    return envsync(capsys, "apply", *args, project=root)


def synced(
    capsys: pytest.CaptureFixture[str],
    root: Path,
    dependencies: list[str],
    index: PackageIndex,
    resolver: str,
) -> Path:
    """A project applied with *dependencies*: its lock and venv hold the newest versions."""
    spec(root, dependencies, index, resolver)
    result = apply(capsys, root)
    assert result.code == 0, result.err
    return root


def contents(root: Path) -> dict[str, bytes]:
    """pylock.toml and every file of the venv, byte for byte (links as their targets)."""
    files = [root / "pylock.toml", *(root / ".venv").rglob("*")]
    return {
        str(path.relative_to(root)): (
            f"-> {path.readlink()}".encode()
            if path.is_symlink()
            else hashlib.sha256(path.read_bytes()).digest()
        )
        for path in files
        if path.is_symlink() or path.is_file()
    }


@RESOLVERS
def test_a_relock_lets_go_of_the_pins_that_conflict_and_says_which(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, index: PackageIndex, resolver: str
) -> None:
    root = synced(capsys, tmp_path, ["a", "c"], index, resolver)
    assert lock_versions(root) == {"a": "2.0", "b": "2.0", "c": "2.0"}

    spec(root, ["a<2", "c"], index, resolver)
    result = apply(capsys, root)

    assert result.code == 0, result.err
    assert lock_versions(root) == {"a": "1.0", "b": "1.5", "c": "1.0"}
    assert venv_packages(root) == {"a": "1.0", "b": "1.5", "c": "1.0"}
    assert "Letting go of pinned b 2.0 (now 1.5): it conflicts with a<2" in result.err
    assert "Letting go of pinned c 2.0 (now 1.0): " in result.err
    assert "a<2" in result.err.split("Letting go of pinned c 2.0")[1].splitlines()[0]
    assert "pinned a 2.0" not in result.err  # env.toml itself asks for another a
    assert "~ c 2.0 -> 1.0 (downgrade)" in result.out


@RESOLVERS
def test_a_pin_let_go_is_in_the_json_report(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, index: PackageIndex, resolver: str
) -> None:
    root = synced(capsys, tmp_path, ["a"], index, resolver)
    spec(root, ["a<2"], index, resolver)

    result = apply(capsys, root, "--json")

    assert result.code == 0, result.err
    document = json.loads(result.out)
    jsonschema.validate(document, SCHEMA)
    assert document["data"]["lock"]["released"] == [
        {"package": "b", "pinned": "2.0", "now": "1.5", "because": "it conflicts with a<2"}
    ]
    assert venv_packages(root) == {"a": "1.0", "b": "1.5"}


@RESOLVERS
def test_a_real_conflict_says_who_requires_what_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, index: PackageIndex, resolver: str
) -> None:
    root = synced(capsys, tmp_path, ["a"], index, resolver)
    before = contents(root)

    spec(root, ["a>=2", "b<2"], index, resolver)
    result = apply(capsys, root)

    assert result.code == 1
    message = result.err[result.err.index("error: ") :]
    assert message.startswith("error: the requirements conflict:\n")
    assert "env.toml requires b<2" in message
    assert "requires b>=2" in message  # pip: "a 2.0 requires"; uv: "a>=2.0 requires"
    assert "hint: loosen one of these requirements in env.toml" in message
    assert "--upgrade-package" not in message  # no pin is left to blame
    assert "Traceback" not in result.err
    assert "pip._" not in result.err
    assert "Letting go" not in result.err  # nothing was relocked
    assert contents(root) == before
