"""Every deletion, rename-over and temporary folder in src/ goes through envsync.system.removal.

The guarded module is the only one that knows which paths envsync owns; a call to rmtree,
unlink, rename and the like anywhere else could delete what is not ours without the check.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "envsync"
GUARD = SRC / "system" / "removal.py"

#: ``module.function`` calls that delete, rename over or make self-deleting folders.
FORBIDDEN_FUNCTIONS = {
    ("os", "remove"),
    ("os", "unlink"),
    ("os", "rmdir"),
    ("os", "removedirs"),
    ("os", "rename"),
    ("os", "renames"),
    ("os", "replace"),
    ("shutil", "rmtree"),
    ("shutil", "move"),
    ("tempfile", "TemporaryDirectory"),
}
#: Methods that delete or rename whatever they are called on (``Path.unlink()`` ...).
FORBIDDEN_METHODS = {"unlink", "rmdir", "rename", "rmtree", "removedirs"}


def _offences(path: Path, base: Path = SRC.parent) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        name = node.func.attr
        owner = node.func.value
        qualified = (owner.id, name) if isinstance(owner, ast.Name) else None
        # ``Path.replace(target)`` takes one argument; ``str.replace`` two, and
        # ``dataclasses.replace`` keywords: only the first renames a file over another.
        path_replace = name == "replace" and len(node.args) == 1 and not node.keywords
        if qualified in FORBIDDEN_FUNCTIONS or name in FORBIDDEN_METHODS or path_replace:
            found.append(f"{path.relative_to(base)}:{node.lineno}: {ast.unparse(node.func)}")
    return found


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if p != GUARD)


@pytest.mark.parametrize("module", _modules(), ids=lambda p: p.relative_to(SRC).as_posix())
def test_only_the_guarded_module_deletes(module: Path) -> None:
    assert _offences(module) == []


def test_the_check_finds_a_direct_deletion(tmp_path: Path) -> None:
    # The scan itself must be able to fail: a module with each kind of call is caught.
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os, shutil, tempfile\n"
        "from pathlib import Path\n"
        "os.unlink('a')\nshutil.rmtree('b')\nPath('c').unlink()\nPath('d').replace('e')\n"
        "tempfile.TemporaryDirectory()\n'x'.replace('a', 'b')\n"
    )
    found = _offences(sample, tmp_path)
    assert [line.split(": ", 1)[1] for line in found] == [
        "os.unlink",
        "shutil.rmtree",
        "Path('c').unlink",
        "Path('d').replace",
        "tempfile.TemporaryDirectory",
    ]
