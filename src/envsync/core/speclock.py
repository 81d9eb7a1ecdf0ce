"""env.toml's ``[lock]``: the Python versions and platforms one lock serves. PURE.

Read with the loader's toolkit (``tomlcheck``), every problem recorded on the ``Checker`` that
``spec.parse_spec`` hands in. A wrong platform name gets the right one suggested, never
accepted in its place: ``linux-amd64`` is ``linux-x86_64``, ``macos-aarch64`` is
``macos-arm64``, ``win32`` is ``windows-x86_64``, so one spelling stays in every env.toml.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

from envsync.core.targets import PLATFORMS, LockTargets
from envsync.core.tomlcheck import (
    Checker,
    Key,
    check_digits,
    closest,
    dotted,
    get_each,
    get_table,
    show,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from packaging.specifiers import SpecifierSet

__all__ = ["LOCK_KEYS", "allows_minor", "read_lock", "suggest_platform"]

#: The keys of ``[lock]``.
LOCK_KEYS = frozenset({"python-versions", "platforms"})

_MINOR_EXPECTED = 'a Python minor version like "3.12"'
_PLATFORM_EXPECTED = f"a platform envsync names ({', '.join(PLATFORMS)})"
#: The one major version a lock can be for.
_MAJOR = 3
_MINOR = re.compile(r"3\.(?:0|[1-9][0-9]*)")
_MAJOR_MINOR = re.compile(r"[0-9]+\.[0-9]+")
# What people write for a minor version: 3.12.1, 3.12.*, 312, py312, cp312, python3.12.
_LOOSE_MINOR = re.compile(r"(?:python|py|cp)?[ \t]*3\.?([0-9]{1,3})(?:\.[0-9*]+)*", re.IGNORECASE)
#: Longer text is no misspelt name: no did-you-mean for it (and difflib kept to short strings).
_SHORT = 40
#: A patch number beyond any real one, to ask a specifier about the end of a release line.
_LAST_PATCH = 10**6

# The words for an operating system and a CPU in other tools' platform names (uv's target
# triples, wheel tags, conda's subdirs, Go's GOOS/GOARCH): each maps to envsync's word.
# Order matters: "darwin" holds "win", so macOS is looked for before Windows.
_SYSTEMS = (
    ("macos", re.compile(r"darwin|mac|osx|apple")),
    ("linux", re.compile(r"linux")),
    ("windows", re.compile(r"win|msvc")),
)
_MACHINES = (
    ("x86_64", re.compile(r"x86[-_]?64|amd64|x64|(?:^|[-_])64$")),
    ("arm64", re.compile(r"aarch64|arm64")),
)
_ANY_MACHINE = re.compile("|".join(words.pattern for _, words in _MACHINES))
#: What 64-bit ARM is called on each system (platform.machine()).
_ARM64 = {"linux": "aarch64", "macos": "arm64"}
#: CPUs envsync names no platform for: no guess at a name that stands for another machine.
_UNNAMED_MACHINE = re.compile(
    r"i[3-6]86|x86(?![-_]?64)|arm(?!64)|ppc|powerpc|s390|riscv|loong|mips|sparc|wasm"
)
_UNNAMED = (
    "envsync names no such platform; without [lock] platforms, a lock is made for the"
    " machine that locks, whatever its platform"
)


def read_lock(check: Checker, data: Mapping[str, object], python: SpecifierSet) -> LockTargets:
    """Read ``[lock]``; each Python version must be one *python* (``[env] python``) allows."""
    table = get_table(check, data, ("lock",))
    _unknown_keys(check, table)
    return LockTargets(
        python_versions=_python_versions(check, table, python),
        platforms=_platforms(check, table),
    )


def _unknown_keys(check: Checker, table: Mapping[str, object]) -> None:
    choices = sorted(LOCK_KEYS)
    for name in table:
        if name not in LOCK_KEYS:
            expected = f"a known key ({', '.join(choices)})"
            hint = closest(name, choices) or _loose_key(name)
            check.add(("lock", name), expected, f"unknown key {show(name)}", None, hint)


def _loose_key(name: str) -> str | None:
    """The key meant by a spelling too far for difflib: ``python``, ``pyhton``, ``platform``."""
    first = re.split(r"[-_ ]", name.lower())[0]
    word = closest(first, ["python", "platforms", "versions"])
    return None if word is None else "platforms" if word == "platforms" else "python-versions"


def _strings(check: Checker, table: Mapping[str, object], name: str) -> list[tuple[Key, str]]:
    """The strings of the array ``[lock] <name>``, keyed; an empty array is a problem."""
    key: Key = ("lock", name)
    if table.get(name) == []:
        check.add(key, "at least one entry (leave the key out for the default)", "[]", None)
        return []
    return get_each(check, table, key, str, "a string") or []


def _python_versions(
    check: Checker, table: Mapping[str, object], python: SpecifierSet
) -> tuple[str, ...]:
    """Read ``[lock] python-versions``: minor versions, each once and allowed by [env] python."""
    seen: dict[str, Key] = {}
    for key, text in _strings(check, table, "python-versions"):
        reason = _minor_problem(text)
        if reason is not None:
            found = f"{show(text)} ({reason})" if reason else show(text)
            check.add(key, _MINOR_EXPECTED, found, text, _minor_hint(text))
        elif text in seen:
            found = f"{show(text)} again, also at {dotted(seen[text])}"
            check.add(key, "each Python version once", found, text)
        elif python and not allows_minor(python, text):
            check.add(key, f"a Python version env.python allows ({python})", show(text), text)
        seen.setdefault(text, key)
    # Oldest first, each once: a spec and its reordering ask for the same lock.
    valid = {text for text in seen if _minor_problem(text) is None}
    return tuple(sorted(valid, key=lambda text: tuple(map(int, text.split(".")))))


def _minor_problem(text: str) -> str | None:
    """Why *text* is no minor version: "" when it merely looks wrong; None when it is one."""
    try:
        check_digits(text)
    except ValueError as err:
        return str(err)
    if _MINOR.fullmatch(text):
        return None
    if _MAJOR_MINOR.fullmatch(text) and int(text.partition(".")[0]) != _MAJOR:
        return "envsync locks for Python 3"
    return ""


def _minor_hint(text: str) -> str | None:
    """``3.12`` for ``3.12.1``, ``312``, ``py312``, ``python3.12``...: the minor version meant."""
    match = _LOOSE_MINOR.fullmatch(text.strip()) if len(text) < _SHORT else None
    return f"3.{int(match[1])}" if match else None


def allows_minor(python: SpecifierSet, minor: str) -> bool:
    """Whether *python* admits some release of the line *minor* (``3.12``).

    The admitted patch numbers are runs bounded by the patches the specifiers name, so
    trying 0, the last patch, and each named patch and its neighbours finds one if any is.
    """
    line = tuple(int(part) for part in minor.split("."))
    patches = {0, _LAST_PATCH}
    for specifier in python:
        try:
            release = Version(specifier.version.removesuffix(".*")).release
        except InvalidVersion:  # === with arbitrary text: only its own text matches it
            continue
        if release[:2] == line and len(release) > len(line):
            patches.update({release[2] - 1, release[2], release[2] + 1})
    return any(python.contains(f"{minor}.{patch}") for patch in patches if patch >= 0)


def _platforms(check: Checker, table: Mapping[str, object]) -> tuple[str, ...]:
    """Read ``[lock] platforms``: names from PLATFORMS, each once; sorted."""
    seen: dict[str, Key] = {}
    for key, text in _strings(check, table, "platforms"):
        if text not in PLATFORMS:
            hint = suggest_platform(text)
            reason = None if hint else _unnamed_reason(text)
            found = f"{show(text)} ({reason})" if reason else show(text)
            check.add(key, _PLATFORM_EXPECTED, found, text, hint)
        elif text in seen:
            found = f"{show(text)} again, also at {dotted(seen[text])}"
            check.add(key, "each platform once", found, text)
        seen.setdefault(text, key)
    return tuple(sorted(name for name in seen if name in PLATFORMS))


def suggest_platform(text: str) -> str | None:
    """The platform name *text* most likely means (``linux-amd64``: ``linux-x86_64``), if any."""
    lower = text.strip().lower()
    if len(lower) > _SHORT or _UNNAMED_MACHINE.search(lower):
        return None
    system, machine = _words(lower)
    if system is None and machine is None:
        return closest(text, list(PLATFORMS))
    if system is None:  # a misspelt system (linx-x86_64), but no guess for a bare CPU
        system = closest(_without_machine(lower), [name for name, _ in _SYSTEMS])
        if system is None:
            return None
    if machine is None:  # a system with one named platform needs no CPU: "win32", "windows"
        only = [name for name in PLATFORMS if name.startswith(f"{system}-")]
        return only[0] if len(only) == 1 else None
    name = f"{system}-{_ARM64.get(system) if machine == 'arm64' else machine}"
    return name if name in PLATFORMS else None


def _words(lower: str) -> tuple[str | None, str | None]:
    """The system and the CPU words in *lower*, in envsync's words, where found."""
    system = next((name for name, words in _SYSTEMS if words.search(lower)), None)
    machine = next((name for name, words in _MACHINES if words.search(lower)), None)
    return system, machine


def _without_machine(lower: str) -> str:
    """*lower* without its CPU's name: what should name the system."""
    return _ANY_MACHINE.sub("", lower).strip("-_ /")


def _unnamed_reason(text: str) -> str | None:
    """Why no name fits *text*: a machine envsync names no platform for, or half a name."""
    lower = text.strip().lower()
    if len(lower) > _SHORT:
        return None
    system, machine = _words(lower)
    if system is not None and machine is None and not _UNNAMED_MACHINE.search(lower):
        return f"name the CPU too: {_or(n for n in PLATFORMS if n.startswith(f'{system}-'))}"
    if system is None and machine is not None and not _without_machine(lower):
        ending = _ARM64.values() if machine == "arm64" else (machine,)
        return f"name the system too: {_or(n for n in PLATFORMS if n.endswith(tuple(ending)))}"
    if system or machine or _UNNAMED_MACHINE.search(lower):
        return _UNNAMED
    return None


def _or(names: Iterable[str]) -> str:
    *most, last = names
    return f"{', '.join(most)} or {last}" if most else last
