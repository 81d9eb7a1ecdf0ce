"""What went wrong, read from pip's (or pip-compile's, or uv's) output. PURE text matching.

pip reports failures only as text; resolver and installer each turn the kind found here
into their own message. A conflict is read down to who requires what (``conflict``), from
whichever account the tool gave: pip's "The conflict is caused by:" block, the
``ResolutionImpossible`` causes that pip-compile's traceback carries when it runs quietly
(the block is logged below its level), or uv's "Because ..., we can conclude that ..." text.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from envsync._types import NormalizedName

__all__ = [
    "ENV_TOML",
    "Conflict",
    "Demand",
    "Failure",
    "NameMismatch",
    "classify",
    "conflict",
    "cut_off",
    "missing_requirement",
    "name_mismatch",
    "without_tracebacks",
]

Failure = Literal[
    "hash", "name-mismatch", "no-version", "unreachable", "build", "conflict", "other"
]

_HASH = re.compile(r"THESE PACKAGES DO NOT MATCH THE HASHES|Expected sha256 \S+\s+Got\s+\S+")
_NO_VERSION = re.compile(
    r"(?:Could not find a version that satisfies the requirement|"
    r"No matching distribution found for) (?P<req>\S+)"
)
_UNREACHABLE = (
    "Failed to establish a new connection",
    "Connection refused",
    "Max retries exceeded",  # after pip's retries: refused, timed out, or 5xx ("too many 503")
    "NewConnectionError",
    "Could not fetch URL",
    "Name or service not known",
    "Temporary failure in name resolution",
    "Could not install packages due to an OSError: HTTPConnectionPool",
    "Read timed out",
    "RemoteDisconnected",
    "Connection reset by peer",
    "connection-timeout",  # pip >= 25's error codes: "error: connection-timeout"
    "connection-failed",
    "incomplete-download",  # after resuming a download as often as pip was told
    "ConnectionTimeoutError",  # the same, escaping pip-compile as a traceback
    "ConnectionFailedError",
    "IncompleteDownloadError",
    "Request failed after",  # uv, after its retries
    "Failed to fetch:",  # uv
)
# pip retries a request that fails before its answer starts, but crashes with a traceback
# when an answer stops short (an index page; a wheel only when resuming is off).
_CUT_OFF = ("IncompleteRead", "ChunkedEncodingError", "Connection broken:")
_CHAINED = frozenset(
    {
        "The above exception was the direct cause of the following exception:",
        "During handling of the above exception, another exception occurred:",
    }
)
#: A distribution that calls itself another project than the one asked for. pip says so as
#: an exception that escapes pip-compile as a traceback (a wheel's .dist-info folder), or as
#: MetadataInconsistent (its METADATA Name); uv in its own words.
_NAME_MISMATCH = (  # (pattern, whether it names a .dist-info folder)
    (
        re.compile(
            r"(?P<wanted>\S+) has an invalid wheel, \.dist-info directory "
            r"'(?P<found>[^'\n]+)' does not start with '[^'\n]*'"
        ),
        True,
    ),
    (
        re.compile(
            r"The \.dist-info directory `(?P<found>[^`\n]+)` does not start with the "
            r"normalized package name: (?P<wanted>\S+)"
        ),
        True,
    ),
    (
        re.compile(
            r"[Rr]equested (?P<wanted>\S+) from \S+.*? has inconsistent [Nn]ame: "
            r"expected '[^'\n]*', but metadata has '(?P<found>[^'\n]*)'"
        ),
        False,
    ),
    (
        re.compile(
            r"[Pp]ackage metadata name `(?P<found>[^`\n]+)` does not match given name "
            r"`(?P<wanted>[^`\n]+)`"
        ),
        False,
    ),
)
_BUILD = ("metadata-generation-failed", "Failed to build", "subprocess-exited-with-error")


@dataclass(frozen=True, kw_only=True, slots=True)
class NameMismatch:
    """A distribution whose own name is not the requirement's."""

    wanted: str
    """The project asked for, as pip wrote it."""
    found: str
    """What the distribution calls itself: its .dist-info folder, or its METADATA Name."""
    folder: bool
    """Whether *found* is a .dist-info folder (else a METADATA Name)."""


def classify(output: str) -> Failure:
    """The kind of failure *output* reports, most specific first."""
    return next((kind for kind, found in _KINDS if found(output)), "other")


def _has_any(markers: tuple[str, ...]) -> Callable[[str], bool]:
    return lambda output: any(marker in output for marker in markers)


# Most specific first: a build or a name mismatch may also mention a conflict.
_KINDS: tuple[tuple[Failure, Callable[[str], bool]], ...] = (
    ("hash", lambda output: _HASH.search(output) is not None),
    ("name-mismatch", lambda output: name_mismatch(output) is not None),
    ("no-version", lambda output: _NO_VERSION.search(output) is not None),
    ("build", _has_any(_BUILD)),
    ("unreachable", _has_any((*_UNREACHABLE, *_CUT_OFF))),
    ("conflict", lambda output: "ResolutionImpossible" in output or "conflict" in output.lower()),
    ("conflict", lambda output: _UV_NO_SOLUTION in output and _clashes(output)),
)


def cut_off(output: str) -> bool:
    """Whether *output* shows a transfer that stopped short, which pip does not retry."""
    return any(marker in output for marker in _CUT_OFF)


def without_tracebacks(output: str) -> str:
    """*output* with each Python traceback cut down to its last line, the exception.

    pip-compile lets some of pip's network errors escape as tracebacks: the frames mean
    nothing to a user, and would push pip's own "Retrying ... /simple/name/" lines out of
    the few lines a message shows.
    """
    kept: list[str] = []
    inside = False
    for line in output.splitlines():
        if line.lstrip().startswith("Traceback (most recent call last)"):
            inside = True
        elif line.strip() in _CHAINED:
            continue  # between two tracebacks of one chain
        elif not (inside and line[:1].isspace()):
            inside = False
            kept.append(line)
    return "\n".join(kept)


def missing_requirement(output: str) -> str:
    """The requirement pip found no version for (``?`` if it cannot be found)."""
    match = _NO_VERSION.search(output)
    return match["req"] if match else "?"


def name_mismatch(output: str) -> NameMismatch | None:
    """The distribution *output* says calls itself another project, if it says so."""
    for pattern, folder in _NAME_MISMATCH:
        match = pattern.search(output)
        if match:
            found = match["found"]
            if folder and not found.endswith(".dist-info"):  # uv leaves the suffix out
                found += ".dist-info"
            return NameMismatch(wanted=match["wanted"], found=found, folder=folder)
    return None


# -- conflicts: who requires what ------------------------------------------------------------

#: Who makes a top-level requirement: the user's file, whichever group it is in.
ENV_TOML = "env.toml"
#: Who makes a requirement pip calls a constraint: pip-compile's kept pins (envsync passes no
#: constraint files of its own).
_LOCK = "pylock.toml"
_CAUSED_BY = "The conflict is caused by:"
_PIP_DEPENDS = re.compile(r"(?P<who>\S+ \S+) depends on (?P<what>.+)")
_PIP_USER = re.compile(r"The user requested (?P<constraint>\(constraint\) )?(?P<what>.+)")
_IMPOSSIBLE = "ResolutionImpossible: ["
_CAUSE = "RequirementInformation(requirement="
_LITERAL = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")
_UV_NO_SOLUTION = "No solution found when resolving dependencies"
_BECAUSE = re.compile(r"\b[Bb]ecause (?P<premises>.*?),?\s*we can conclude that")
_UV_DEPENDS = re.compile(r"(?P<who>.+?) depends? on (?P<what>.+)")
_UV_REQUIRE = re.compile(r"you require (?P<what>.+)")
_UV_EXACT = re.compile(r"(?P<name>[^\s=<>!~]+)==(?P<version>[^\s=]+)")
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")


@dataclass(frozen=True, kw_only=True, slots=True)
class Demand:
    """One requirement a resolver names in a conflict, and who makes it."""

    who: str
    """A package (``a 2.0``; uv names ranges, ``a>=2.0``), or ``env.toml`` for a top-level one."""
    what: str
    """The requirement, as the resolver wrote it (``b>=2``)."""

    def __str__(self) -> str:
        return f"{self.who} requires {self.what}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Conflict:
    """A resolver's account of why no set of versions fits: who requires what."""

    demands: tuple[Demand, ...]
    """The clashing requirements, in the resolver's order, each once."""
    notes: tuple[str, ...] = ()
    """The other facts it gave, in its words (uv: ``only k<=1.0 is available``)."""

    def lines(self) -> tuple[str, ...]:
        """One line per demand, then per note."""
        return (*map(str, self.demands), *self.notes)

    def names(self) -> frozenset[NormalizedName]:
        """Every project the conflict names: those that require and those required."""
        found: set[NormalizedName] = set()
        for demand in self.demands:
            for text in (demand.who, demand.what):
                match = _NAME.match(text)
                if match and text not in {ENV_TOML, _LOCK}:
                    found.add(canonicalize_name(match[0]))
        return frozenset(found)


def conflict(output: str) -> Conflict | None:
    """Who requires what, as *output* explains a conflict; None when it explains none."""
    demands = _pip_block(output) or _pip_causes(output)
    notes: list[str] = []
    if not demands:
        demands, notes = _uv_premises(output)
    if not demands:
        return None
    return Conflict(demands=tuple(dict.fromkeys(demands)), notes=tuple(dict.fromkeys(notes)))


def _clashes(output: str) -> bool:
    """Whether uv's account names two requirements at least (one alone is a missing project)."""
    found = conflict(output)
    return found is not None and len(found.demands) > 1


def _pip_block(output: str) -> list[Demand]:
    """The lines under pip's last "The conflict is caused by:", up to the first blank one."""
    at = output.rfind(_CAUSED_BY)
    if at < 0:
        return []
    demands: list[Demand] = []
    for line in output[at + len(_CAUSED_BY) :].splitlines()[1:]:
        text = line.strip()
        depends, user = _PIP_DEPENDS.fullmatch(text), _PIP_USER.fullmatch(text)
        if depends:
            demands.append(Demand(who=depends["who"], what=depends["what"]))
        elif user:
            who = _LOCK if user["constraint"] else ENV_TOML
            demands.append(Demand(who=who, what=user["what"]))
        else:
            break
    return demands


def _pip_causes(output: str) -> list[Demand]:
    """The causes of the last ``ResolutionImpossible`` pip raised, from their repr."""
    at = output.rfind(_IMPOSSIBLE)
    if at < 0:
        return []
    line = output[at:].split("\n", 1)[0]
    demands = []
    for cause in line.split(_CAUSE)[1:]:
        requirement, _, parent = cause.partition(", parent=")
        what = _repr_requirement(requirement)
        if what:
            demands.append(Demand(who=_repr_parent(parent), what=what))
    return demands


def _literal(text: str) -> str | None:
    """The first quoted string in a repr, unquoted."""
    match = _LITERAL.search(text)
    if match is None:
        return None
    quoted = match[1] if match[1] is not None else match[2]
    return re.sub(r"\\(.)", r"\1", quoted)


def _repr_requirement(text: str) -> str | None:
    """``SpecifierRequirement('b<2')`` -> ``b<2``; a Python or URL requirement likewise."""
    literal = _literal(text)
    if literal is None:
        return None
    if text.startswith("RequiresPythonRequirement"):
        return f"Python{literal}"
    if text.startswith("ExplicitRequirement"):
        url, named = _link(literal)
        return f"{named[0]} @ {url}" if named else url
    return literal


def _repr_parent(text: str) -> str:
    """``None`` -> env.toml; a candidate -> ``name version`` from its file name."""
    literal = _literal(text)
    if text.startswith("None") or literal is None:
        return ENV_TOML
    url, named = _link(literal)
    return " ".join(named) if named else url.rstrip("/").rsplit("/", 1)[-1] or url


def _link(link: str) -> tuple[str, tuple[str, str] | None]:
    """``http://i/a-2.0-py3-none-any.whl#sha256=.. (from ...)`` -> the URL, ``(a, 2.0)``."""
    url = link.split(" (", 1)[0].split("#", 1)[0]
    filename = urllib.parse.unquote(url.rsplit("/", 1)[-1])
    for parse in (parse_wheel_filename, parse_sdist_filename):
        try:
            name, version, *_ = parse(filename)
        except ValueError:
            continue
        return url, (name, str(version))
    return url, None


def _uv_premises(output: str) -> tuple[list[Demand], list[str]]:
    """The premises of uv's "Because ..., we can conclude that ..." steps (never conclusions)."""
    at = output.find(_UV_NO_SOLUTION)
    if at < 0:
        return [], []
    lines = (line.strip() for line in output[at:].splitlines())
    text = " ".join(line for line in lines if not line.startswith(("hint:", "help:")))
    demands: list[Demand] = []
    notes: list[str] = []
    for match in _BECAUSE.finditer(text):
        for item in _uv_facts(match["premises"]):
            if isinstance(item, Demand):
                demands.append(item)
            else:
                notes.append(item)
    return demands, notes


def _uv_facts(premises: str) -> Iterator[Demand | str]:
    """Each fact of one step: ``a>=2.0 depends on b>=2 and you require a>=2 and e``."""
    last: Demand | None = None
    for part in premises.split(" and "):
        fact = part.strip()
        depends, require = _UV_DEPENDS.fullmatch(fact), _UV_REQUIRE.fullmatch(fact)
        if depends:
            last = Demand(who=_uv_who(depends["who"]), what=depends["what"])
        elif require:
            last = Demand(who=ENV_TOML, what=require["what"])
        elif last is not None and fact and " " not in fact:  # "you require a>=2 and e"
            last = Demand(who=last.who, what=fact)
        else:
            last = None
            if fact and not fact.startswith("we know from"):  # a conclusion, restated
                yield fact
            continue
        yield last


def _uv_who(text: str) -> str:
    """Who, from uv's words: ``all versions of e`` -> ``e``; ``a==1.0`` -> ``a 1.0``."""
    text = text.removeprefix("all versions of ")
    exact = _UV_EXACT.fullmatch(text)
    return f"{exact['name']} {exact['version']}" if exact else text
