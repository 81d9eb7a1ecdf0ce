"""The suite's hypothesis runs are reproducible: the "ci" profile, and no test overriding it.

tests/conftest.py registers the profiles; these checks keep a later @settings from quietly
making the suite depend on chance again.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
from hypothesis import settings

TESTS = Path(__file__).parent
#: What only a profile may decide: how many examples, and whether they are random.
PROFILE_ONLY = {"derandomize", "max_examples", "database"}


def test_the_default_profile_is_derandomized():
    if os.environ.get("HYPOTHESIS_PROFILE", "ci") != "ci":
        pytest.skip("another profile was chosen with HYPOTHESIS_PROFILE")
    assert settings.default.derandomize


def test_the_explore_profile_draws_many_random_examples():
    explore = settings.get_profile("explore")
    assert not explore.derandomize
    assert explore.max_examples >= 1000


def _overrides(path: Path) -> list[str]:
    """``file:line keyword`` for each settings(...) call that sets a profile-only field."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        if name != "settings":
            continue
        found.extend(
            f"{path.name}:{node.lineno} {kw.arg}" for kw in node.keywords if kw.arg in PROFILE_ONLY
        )
    return found


def test_no_test_overrides_what_the_profile_decides():
    files = [p for p in TESTS.rglob("*.py") if p.name != "conftest.py"]
    assert any("@given" in p.read_text("utf-8") for p in files)
    assert [o for p in files for o in _overrides(p)] == []
