"""Read a TOML document and report problems with it: the loader's toolkit. PURE.

A ``Checker`` collects every problem (with the key path, what was expected, what was found
and, where it can be found, the line); the typed getters read a value or record why not.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from typing import TYPE_CHECKING, Any, TypeVar

from envsync.errors import SpecError, SpecProblem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

__all__ = [
    "Checker",
    "Key",
    "check_keys",
    "closest",
    "convert_value",
    "dotted",
    "get_boolean",
    "get_each",
    "get_string",
    "get_table",
    "load_toml",
    "show",
    "undefined",
]


_T = TypeVar("_T")
Key = tuple[str | int, ...]
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_LINE_IN_MESSAGE = re.compile(r"\bline (\d+)")
_SHOW_LIMIT = 60
_TOML_NAMES = {
    "bool": "boolean",
    "int": "integer",
    "str": "string",
    "list": "array",
    "dict": "table",
}


def load_toml(text: str, path: Path) -> dict[str, Any]:
    """Decode *text*, or raise a SpecError carrying the parser's message and line."""
    try:
        return tomllib.loads(text)
    except ValueError as err:  # TOMLDecodeError, or int() refusing a huge integer
        message = str(err)
    except RecursionError:
        message = "arrays or tables nested too deeply"
    match = _LINE_IN_MESSAGE.search(message)
    line = int(match[1]) if match else None
    raise SpecError(path, [SpecProblem(key="", expected="valid TOML", found=message, line=line)])


class Checker:
    """Collects problems, each with the line of its key where that can be found."""

    __slots__ = ("problems", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.problems: list[SpecProblem] = []

    def add(
        self, key: Key, expected: str, found: str, item: str | None, hint: str | None = None
    ) -> None:
        """Record that *key* (the list entry *item*, if given) holds *found*, not *expected*."""
        line = _line_of(self.text, key, item)
        problem = SpecProblem(
            key=dotted(key), expected=expected, found=found, line=line, suggestion=hint
        )
        self.problems.append(problem)

    def wrong_type(self, key: Key, expected: str, value: object) -> None:
        """Record that *key* holds *value*, of the wrong TOML type."""
        kind = _TOML_NAMES.get(type(value).__name__, type(value).__name__)
        self.add(key, expected, f"{kind} {show(value)}", value if isinstance(value, str) else None)


def dotted(key: Key) -> str:
    """Render *key* like ``groups.dev[1]``, quoting components TOML would quote."""
    text = ""
    for part in key:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            shown = part if _BARE_KEY.fullmatch(part) else json.dumps(part, ensure_ascii=False)
            text += f".{shown}" if text else shown
    return text


def _line_of(text: str, key: Key, item: str | None) -> int | None:
    """Find the 1-based line of *key* (of the string *item*, for a list entry) in *text*."""
    position, names = _header_of(text, [part for part in key if isinstance(part, str)])
    match = None
    for name in names:  # walk down from the table header through the keys left
        # `key =`, `[key]`, `{key =`, `, key =` or the `key.` of a dotted key
        pattern = rf"(?m)(?:^|[\[{{,.])[ \t]*{_key_pattern(name)}[ \t]*[=\].]"
        match = re.compile(pattern).search(text, position)
        position = match.start() if match else position
    if match is None:
        return None
    if item is not None:
        quoted = [text.find(f"{quote}{item}{quote}", position) for quote in "\"'"]
        position = min((found for found in quoted if found >= 0), default=position)
    return text.count("\n", 0, position) + 1


def _header_of(text: str, names: list[str]) -> tuple[int, list[str]]:
    """Find the deepest ``[a.b]`` header naming a table *names* lies in; return it and the rest."""
    for depth in range(len(names) - 1, 0, -1):
        dotted = r"[ \t]*\.[ \t]*".join(_key_pattern(name) for name in names[:depth])
        header = re.search(rf"(?m)^[ \t]*\[[ \t]*{dotted}[ \t]*\]", text)
        if header:
            return header.start(), names[depth:]
    return 0, names


def _key_pattern(name: str) -> str:
    """Match *name* as a bare, basic-quoted or literal-quoted TOML key."""
    escaped = re.escape(name)
    return f"(?:{escaped}|\"{escaped}\"|'{escaped}')"


def show(value: object) -> str:
    """Spell *value* the way it looks in TOML, shortened for a message."""
    if isinstance(value, (str, bool, list, dict)):
        text = json.dumps(value, ensure_ascii=False, default=str)  # same spelling as TOML
    else:
        text = str(value)
    return text if len(text) <= _SHOW_LIMIT else text[: _SHOW_LIMIT - 3] + "..."


# --- typed getters --------------------------------------------------------------------------------


def check_keys(check: Checker, table: Mapping[str, object], at: Key, known: frozenset[str]) -> None:
    """Report every key of *table* that is not in *known*, with a did-you-mean."""
    choices = sorted(known)
    for name in table:
        if name not in known:
            expected = f"a known key ({', '.join(choices)})"
            check.add(
                (*at, name), expected, f"unknown key {show(name)}", None, closest(name, choices)
            )


def undefined(check: Checker, key: Key, what: str, text: str, defined: list[str]) -> None:
    """Report that *text*, at *key*, names none of the *defined* names."""
    choices = sorted(defined)
    expected = f"{what} ({', '.join(choices) or 'there are none'})"
    check.add(key, expected, show(text), text, closest(text, choices))


def closest(name: str, choices: list[str]) -> str | None:
    """The choice *name* was most likely meant to be, if one is close."""
    return next(iter(difflib.get_close_matches(name, choices, n=1)), None)


def get_table(
    check: Checker, parent: Mapping[str, object], key: Key, known: frozenset[str] | None = None
) -> Mapping[str, object]:
    """Return the table at *key* (empty if absent), its keys checked against *known* if given."""
    value = parent.get(str(key[-1]), {})
    if not isinstance(value, dict):
        check.wrong_type(key, "a table", value)
        return {}
    if known is not None:
        check_keys(check, value, key, known)
    return value


def get_string(check: Checker, table: Mapping[str, object], key: Key) -> str | None:
    """Return the string at *key*, or None if it is absent or not a string (reported)."""
    value = table.get(str(key[-1]))
    if value is None or isinstance(value, str):
        return value
    check.wrong_type(key, "a string", value)
    return None


def get_boolean(check: Checker, table: Mapping[str, object], key: Key) -> bool:
    """Return the boolean at *key*: false if it is absent or not a boolean (reported)."""
    value = table.get(str(key[-1]), False)
    if isinstance(value, bool):
        return value
    check.wrong_type(key, "a boolean", value)
    return False


def get_each(
    check: Checker,
    table: Mapping[str, object],
    key: Key,
    convert: Callable[[str], _T],
    expected: str,
) -> list[tuple[Key, _T]] | None:
    """Convert each string of the array at *key*, keyed; None if the key is absent."""
    value = table.get(str(key[-1]))
    if value is None:
        return None
    if not isinstance(value, list):
        check.wrong_type(key, "an array of strings", value)
        return []
    converted = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            check.wrong_type((*key, index), "a string", item)
        elif (result := convert_value(check, (*key, index), item, convert, expected)) is not None:
            converted.append(((*key, index), result))
    return converted


def convert_value(
    check: Checker, key: Key, text: str, convert: Callable[[str], _T], expected: str
) -> _T | None:
    """Return ``convert(text)``, or report its ValueError as a problem at *key* and return None."""
    try:
        return convert(text)
    except ValueError as err:  # packaging's Invalid* errors, int() refusing a huge number, ours
        reason = str(err).partition("\n")[0]  # the rest is packaging's caret diagram
        check.add(key, expected, f"{show(text)} ({reason})" if reason else show(text), text)
        return None
