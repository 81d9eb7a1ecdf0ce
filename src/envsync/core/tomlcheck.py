"""Read a TOML document and report problems with it: the loader's toolkit. PURE.

A ``Checker`` collects every problem (with the key path, what was expected, what was found
and, where it can be found, the line); the typed getters read a value or record why not.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
import unicodedata
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import unquote, urlsplit

from packaging.markers import UndefinedEnvironmentName

from envsync.errors import SpecError, SpecProblem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from packaging.markers import Marker

__all__ = [
    "Checker",
    "Key",
    "TomlDecodeError",
    "check_digits",
    "check_keys",
    "check_marker",
    "closest",
    "convert_value",
    "dotted",
    "get_boolean",
    "get_each",
    "get_string",
    "get_table",
    "load_toml",
    "parse_toml",
    "path_problem",
    "plain_reason",
    "show",
    "undefined",
    "url_problem",
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


class TomlDecodeError(ValueError):
    """A text that is not TOML: what is wrong, in words for a user, and where."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        """What is wrong, such as ``Invalid statement (at line 3, column 1)``."""
        self.line = line
        """The 1-based line, where it is known."""


def parse_toml(text: str) -> dict[str, Any]:
    """Decode *text*; TomlDecodeError says what is wrong where tomllib's own words would not.

    tomllib calls a byte-order mark an "invalid statement" and a NUL outside a string a
    missing newline, and lets a too-deep nesting or a 5000-digit number escape as another
    exception: each becomes a message that names the cause.
    """
    if text.startswith("\ufeff"):
        raise TomlDecodeError(
            "a byte-order mark (BOM) at the start; save the file as UTF-8 without BOM", 1
        )
    if (nul := text.find("\0")) >= 0:
        line = text.count("\n", 0, nul) + 1
        column = nul - (text.rfind("\n", 0, nul) + 1) + 1
        message = f"a NUL character (at line {line}, column {column}); is this a binary file?"
        raise TomlDecodeError(message, line)
    try:
        return tomllib.loads(text)
    except ValueError as err:  # TOMLDecodeError, or int() refusing a huge integer
        message = plain_reason(str(err))
    except RecursionError:
        message = "arrays or tables nested too deeply"
    match = _LINE_IN_MESSAGE.search(message)
    raise TomlDecodeError(message, int(match[1]) if match else None)


def load_toml(text: str, path: Path) -> dict[str, Any]:
    """Decode *text*, or raise a SpecError carrying the parser's message and line."""
    try:
        return parse_toml(text)
    except TomlDecodeError as problem:
        found = SpecProblem(key="", expected="valid TOML", found=problem.message, line=problem.line)
        raise SpecError(path, [found]) from None


_INT_LIMIT = re.compile(r"Exceeds the limit \((\d+) digits\) for integer string conversion")
# Python reads at most this many digits as one int (0: no limit; the limit is from 3.10.7 on).
_MAX_DIGITS: int = getattr(sys, "get_int_max_str_digits", lambda: 0)()


#: Any complete marker environment: whether a marker can be evaluated does not depend on it.
_SOME_ENVIRONMENT = {
    "implementation_name": "cpython",
    "implementation_version": "3.12.0",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "platform_release": "6.1.0",
    "platform_system": "Linux",
    "platform_version": "1",
    "python_full_version": "3.12.0",
    "python_version": "3.12",
    "sys_platform": "linux",
}


def check_marker(marker: Marker, context: Literal["requirement", "lock_file"]) -> None:
    """ValueError unless *marker* can be evaluated where *context* says it is written.

    packaging parses ``"dev" in dependency_groups`` in a requirement, or ``extra == "x"`` in
    a lock, and fails only when evaluating it (pip with a traceback): this finds out first.
    """
    try:
        marker.evaluate(_SOME_ENVIRONMENT, context=context)
    except UndefinedEnvironmentName as exc:
        raise ValueError(f"there is no marker variable {exc} here") from None
    except ValueError as exc:  # UndefinedComparison, or a version of 5000 digits
        raise ValueError(plain_reason(str(exc))) from None


def check_digits(text: str) -> str:
    """Return *text*; ValueError if a number in it is longer than Python reads as an int.

    packaging reads each part of a version as an int only when it compares versions, so such
    a number passes the parser and fails later, in a marker or a specifier.
    """
    if _MAX_DIGITS and re.search(rf"\d{{{_MAX_DIGITS + 1},}}", text):
        raise ValueError(f"a number of more than {_MAX_DIGITS} digits")
    return text


def plain_reason(message: str) -> str:
    """*message*, with Python's advice on its integer-size limit put in a user's words."""
    if match := _INT_LIMIT.search(message):
        return f"a number of more than {match[1]} digits"
    return message


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
            shown = part if _BARE_KEY.fullmatch(part) else _quoted(part)
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


#: Characters a terminal would act on or hide rather than show: controls (C0 and C1, such as
#: ESC), format characters (bidi overrides, BOM), line and paragraph separators.
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def _quoted(value: object) -> str:
    """*value* as JSON (TOML's spelling of strings), every invisible character escaped."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return "".join(
        f"\\u{ord(char):04x}" if unicodedata.category(char) in _INVISIBLE else char for char in text
    )


def show(value: object) -> str:
    """Spell *value* the way it looks in TOML, shortened for a message."""
    # Strings, booleans, arrays and tables as TOML spells them; numbers and dates as they are.
    text = _quoted(value) if isinstance(value, (str, bool, list, dict)) else str(value)
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
        reason = plain_reason(str(err).partition("\n")[0])  # the rest: packaging's caret diagram
        check.add(key, expected, f"{show(text)} ({reason})" if reason else show(text), text)
        return None


# --- URLs ----------------------------------------------------------------------------------------

#: What a URL may not hold as it is: whitespace, control characters and non-ASCII.
_UNSAFE = re.compile(r"[^\x21-\x7e]")
#: What a path may not hold: control characters.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def url_problem(url: str) -> str | None:
    """Why pip or urllib could not open *url* (a space, a port that is no number, ...), if so.

    A file: URL is a path on this machine, which may hold spaces and any letter.
    """
    local = url[:5].lower() == "file:"
    if unsafe := (_CONTROL if local else _UNSAFE).search(url):
        char = "a space" if unsafe[0] == " " else f"the character U+{ord(unsafe[0]):04X}"
        return f"{char} must be percent-encoded"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as err:  # "Invalid IPv6 URL", "Port out of range 0-65535", ...
        return str(err)
    if local and parts.netloc not in {"", "localhost"}:
        host = parts.netloc
        return f"a file URL names a path on this machine (file:///path), not the host {host!r}"
    return path_problem(unquote(parts.path)) if local else None


#: The longest file name (ext4, APFS, NTFS: 255) and path (Linux: 4096) most systems take.
_NAME_MAX = 255
_PATH_MAX = 4096


def path_problem(path: str) -> str | None:
    """Why no file system could hold *path* (a control character, a name too long), if so.

    The file system would say so itself, as an OSError from a call that expects none.
    """
    if unsafe := _CONTROL.search(path):
        return f"the control character U+{ord(unsafe[0]):04X}"
    if len(path.encode()) > _PATH_MAX:
        return f"a path of more than {_PATH_MAX} bytes"
    longest = max(path.replace("\\", "/").split("/"), key=len)
    if len(longest.encode()) > _NAME_MAX:
        return f"a name of more than {_NAME_MAX} bytes"
    return None
