"""requirementtext: the one writer of requirement lines, as pip, pip-compile and uv read them."""

from __future__ import annotations

import pytest
from packaging.requirements import Requirement

from envsync.core.requirementtext import requirement_line

SHA_A = "a" * 64
SHA_B = "b" * 64
WHEEL = "https://files.example/rich-13.0-py3-none-any.whl"


@pytest.mark.parametrize(
    ("requirement", "options", "line"),
    [
        pytest.param("rich>=13", {}, "rich>=13", id="as-written"),
        pytest.param(
            Requirement("Rich[jupyter] >= 13 ; python_version > '3.8'"),
            {},
            'Rich[jupyter]>=13; python_version > "3.8"',
            id="a-requirement-in-packaging-spelling",
        ),
        pytest.param(
            "rich",
            {"url": WHEEL, "hashes": [SHA_A]},
            f"rich @ {WHEEL} --hash=sha256:{SHA_A}",
            id="installer-line-for-a-file",
        ),
        pytest.param("rich", {"url": WHEEL, "hashes": [None]}, f"rich @ {WHEEL}", id="no-hash"),
        pytest.param(
            "mylib",
            {"url": "file:///proj/libs/mylib"},
            "mylib @ file:///proj/libs/mylib",
            id="a-folder",
        ),
        pytest.param(
            "mylib",
            {"url": "file:///proj/libs/mylib", "editable": True},
            "-e file:///proj/libs/mylib",
            id="an-editable-folder",
        ),
        pytest.param(
            Requirement("mylib[cli]>=1 ; sys_platform == 'linux'"),
            {"url": "file:///proj/libs/mylib"},
            'mylib[cli] @ file:///proj/libs/mylib ; sys_platform == "linux"',
            id="a-direct-reference-takes-no-version",
        ),
        pytest.param(
            "rich==13.0",
            {"hashes": [SHA_A, SHA_B, SHA_A], "continued": True},
            f"rich==13.0 \\\n    --hash=sha256:{SHA_A} \\\n    --hash=sha256:{SHA_B}",
            id="export-line-each-hash-once",
        ),
    ],
)
def test_requirement_line(requirement, options, line):
    assert requirement_line(requirement, **options) == line


def test_the_callers_requirement_is_left_as_it_was():
    requirement = Requirement("alpha @ https://u:p@host/alpha.whl")
    assert requirement_line(requirement, url="https://host/alpha.whl") == (
        "alpha @ https://host/alpha.whl"
    )
    assert requirement.url == "https://u:p@host/alpha.whl"


def test_a_line_is_one_pip_reads_back():
    line = requirement_line(Requirement("alpha[x]>=1; os_name == 'posix'"), url="file:///a")
    assert str(Requirement(line)) == line
