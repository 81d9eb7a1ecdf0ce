"""keeppins.released: which kept pins a new resolution let go of, and why (plain values).

The index behind these cases, as in tests/e2e/test_relock_conflict.py: a 1.0 -> b<2,
a 2.0 -> b>=2, c 2.0 -> a>=2. The lock pinned a 2.0, b 2.0 and c 2.0.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from envsync.core.lockfile import ResolvedPackage
from envsync.core.pipoutput import ENV_TOML, Conflict, Demand
from envsync.core.specsources import IndexConfig
from envsync.core.targets import PLATFORMS, LockTarget
from envsync.resolve.keeppins import released
from envsync.resolve.protocol import Resolution, ResolveRequest

PINS = {"a": "2.0", "b": "2.0", "c": "2.0"}
C_NEEDS_A = Conflict(demands=(Demand(who=ENV_TOML, what="a<2"), Demand(who="c 2.0", what="a>=2")))


def request(wanted: list[str], *, upgrade: bool = False, upgrading: str = "") -> ResolveRequest:
    return ResolveRequest(
        dependencies=tuple(map(Requirement, wanted)),
        groups=(),
        python=Path("/python"),
        python_version="3.12.0",
        index=IndexConfig(),
        root=Path("/project"),
        preferred={canonicalize_name(n): Version(v) for n, v in PINS.items()},
        upgrade=upgrade,
        upgrade_packages=frozenset({canonicalize_name(upgrading)} if upgrading else ()),
    )


def resolution(versions: dict[str, str], needs: dict[str, tuple[str, ...]]) -> Resolution:
    return Resolution(
        python="3.12.0",
        packages=tuple(
            ResolvedPackage(
                name=canonicalize_name(name),
                version=Version(version),
                groups=frozenset(),
                dependencies=tuple(canonicalize_name(n) for n in needs.get(name, ())),
            )
            for name, version in versions.items()
        ),
    )


NEW = {"a": "1.0", "b": "1.5", "c": "1.0"}
GRAPH = {"a": ("b",), "c": ("a",)}


@pytest.mark.parametrize(
    ("wanted", "versions", "conflicts", "options", "expected"),
    [
        pytest.param(  # whoever let go, the pin goes with what it conflicts with
            ["a<2", "c"],
            NEW,
            (),
            {},
            {"b": "it conflicts with a<2", "c": "it conflicts with a<2"},
            id="tied-to-the-change",
        ),
        pytest.param(  # the resolver's own account where it named the package
            ["a<2", "c"],
            NEW,
            (C_NEEDS_A,),
            {},
            {"b": "it conflicts with a<2", "c": "env.toml requires a<2; c 2.0 requires a>=2"},
            id="named-by-a-conflict",
        ),
        pytest.param(  # pins kept: nothing to say
            ["a", "c"], PINS, (), {}, {}, id="kept"
        ),
        pytest.param(  # c is no longer needed at all: dropped, not let go
            ["a<2"], {"a": "1.0", "b": "1.5"}, (), {}, {"b": "it conflicts with a<2"}, id="gone"
        ),
        pytest.param(  # asked for: an upgrade lets go of nothing unbidden
            ["a<2", "c"], NEW, (), {"upgrade": True}, {}, id="upgrade"
        ),
        pytest.param(
            ["a<2", "c"],
            NEW,
            (),
            {"upgrading": "c"},
            {"b": "it conflicts with a<2"},
            id="upgrade-package",
        ),
        pytest.param(  # nothing in env.toml changed that the pins can tell
            ["a", "c"],
            {"a": "2.0", "b": "2.0", "c": "1.0"},
            (),
            {},
            {"c": "it no longer fits the requirements"},
            id="no-change-seen",
        ),
        pytest.param(  # a new requirement outside c's part of the graph: still the one change
            ["a", "c", "z"],
            {"a": "2.0", "b": "2.0", "c": "1.0", "z": "1.0"},
            (),
            {},
            {"c": "it conflicts with z"},
            id="unrelated-change",
        ),
    ],
)
def test_the_pins_let_go_and_why(
    wanted: list[str],
    versions: dict[str, str],
    conflicts: tuple[Conflict, ...],
    options: dict[str, Any],
    expected: dict[str, str],
) -> None:
    found = released(request(wanted, **options), resolution(versions, GRAPH), conflicts)
    assert {r.name: r.because for r in found} == expected
    for pin in found:
        assert pin.version == Version(PINS[pin.name])
        assert pin.now == Version(versions[pin.name])


def test_a_requirement_for_another_platform_is_no_change_that_explains_a_pin() -> None:
    # On linux-x86_64, `d; platform_machine == "aarch64"` asks for nothing: it is not why
    # the relock let go of b (here nothing in env.toml that applies changed at all).
    linux = LockTarget(python="3.12", platform=PLATFORMS["linux-x86_64"])
    wanted = ["a", "c", 'd; platform_machine == "aarch64"']
    asked = dataclasses.replace(request(wanted), target=linux)
    moved = {"a": "2.0", "b": "1.5", "c": "2.0"}
    found = {r.name: r.because for r in released(asked, resolution(moved, GRAPH))}
    assert found == {"b": "it no longer fits the requirements"}
