"""pip requirements files -> Imported: includes, local folders, index options. PURE."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidName, canonicalize_name

from envsync.core.importers._model import (
    Imported,
    ImportSourceError,
    LocalSource,
    Reader,
    merged,
    reason,
)
from envsync.core.vcsurl import parse_vcs, vcs_problem

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["from_requirements"]

#: How pip spells its options -> (what envsync does with it, whether it takes a value).
_OPTIONS: dict[str, tuple[str, bool]] = {
    "-r": ("include", True),
    "--requirement": ("include", True),
    "-c": ("constraint", True),
    "--constraint": ("constraint", True),
    "-e": ("editable", True),
    "--editable": ("editable", True),
    "-i": ("index-url", True),
    "--index-url": ("index-url", True),
    "--extra-index-url": ("extra-index-url", True),
    "-f": ("find-links", True),
    "--find-links": ("find-links", True),
    "--hash": ("hash", True),
    # pip options envsync has no equivalent for: dropped with a warning.
    "--pre": ("drop", False),
    "--no-index": ("drop", False),
    "--prefer-binary": ("drop", False),
    "--require-hashes": ("drop", False),
    "--only-binary": ("drop", True),
    "--no-binary": ("drop", True),
    "--trusted-host": ("drop", True),
    "--use-feature": ("drop", True),
    "-C": ("drop", True),
    "--config-settings": ("drop", True),
    "--global-option": ("drop", True),
}
# pip's own rule: `#` starts a comment at the start of a line or after whitespace.
_COMMENT = re.compile(r"(^|\s+)#.*$")
_ARCHIVES = (".whl", ".tar.gz", ".zip", ".tar.bz2")


def from_requirements(text: str, *, name: str, reader: Reader) -> Imported:
    """Parse the requirements file *text* (called *name*) and every file it includes.

    ImportSourceError lists every bad line as ``file:line: ...``.
    """
    collector = _Collector(reader)
    collector.parse(text, name, (name,))
    dependencies = merged(collector.requirements, collector.problems)
    if collector.problems:
        raise ImportSourceError(name, collector.problems)
    return Imported(
        origin=name,
        dependencies=dependencies,
        index_url=collector.index_url,
        extra_urls=tuple(collector.extra_urls),
        find_links=tuple(collector.find_links),
        sources=tuple(collector.sources.values()),
        warnings=tuple(collector.warnings),
    )


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, content) of each non-empty line, continuations joined, comments cut."""
    start: int | None = None
    parts: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.endswith("\\") and not _COMMENT.match(line):
            start = start or number
            parts.append(line.rstrip("\\"))
            continue
        # A comment inside a continuation is cut like one after whitespace (pip does the same).
        parts.append(" " + line if _COMMENT.match(line) else line)
        yield from _content(start or number, "".join(parts))
        start, parts = None, []
    if start is not None:  # the last line ended with a backslash
        yield from _content(start, "".join(parts))


def _content(number: int, line: str) -> Iterator[tuple[int, str]]:
    stripped = _COMMENT.sub("", line).strip()
    if stripped:
        yield number, stripped


def _split(line: str) -> tuple[str, list[str]]:
    """The requirement part and the option tokens, split as pip splits them."""
    tokens = line.split(" ")
    first = next((i for i, token in enumerate(tokens) if token.startswith("-")), len(tokens))
    return " ".join(tokens[:first]).strip(), shlex.split(" ".join(tokens[first:]))


def _options(tokens: list[str]) -> list[tuple[str, str, str]]:
    """(spelling, action, value) of each option; ValueError for one pip would not take."""
    found = []
    rest = iter(tokens)
    for token in rest:
        spelling, value = _spelling(token)
        if spelling not in _OPTIONS:
            raise ValueError(f"expected a requirement or a pip option, found {token!r}")
        action, takes_value = _OPTIONS[spelling]
        if takes_value and value is None:
            value = next(rest, None)
            if value is None:
                raise ValueError(f"{spelling} needs a value")
        elif not takes_value and value is not None:
            raise ValueError(f"{spelling} takes no value")
        found.append((spelling, action, value or ""))
    return found


def _spelling(token: str) -> tuple[str, str | None]:
    """Split ``--name=value`` and ``-xvalue``; a bare option has no value yet."""
    if token.startswith("--"):
        name, equals, value = token.partition("=")
        return name, value if equals else None
    if token.startswith("-") and len(token) > 2:  # noqa: PLR2004 - "-x" and its value
        return token[:2], token[2:]
    return token, None


@dataclass(frozen=True, slots=True)
class _At:
    """Where an option or requirement was found."""

    where: str
    file: str
    chain: tuple[str, ...]


@dataclass
class _Collector:
    """What the requirements files said, gathered across includes."""

    reader: Reader
    requirements: list[tuple[Requirement, str]] = field(default_factory=list)
    index_url: str | None = None
    extra_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    sources: dict[str, LocalSource] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def parse(self, text: str, file: str, chain: tuple[str, ...]) -> None:
        """Take in every line of *file*; *chain* is the files including it, itself last."""
        # pip reads past a byte-order mark (an editor's, often on Windows): so does envsync.
        for number, line in _logical_lines(text.removeprefix("\ufeff")):
            at = _At(f"{file}:{number}", file, chain)
            try:
                requirement, tokens = _split(line)
                options = _options(tokens)
            except ValueError as exc:
                self.problems.append(f"{at.where}: {exc}")
                continue
            if requirement:
                self.requirement(requirement, at)
            for spelling, action, value in options:
                self.option(spelling, action, value, at)

    def requirement(self, text: str, at: _At) -> None:
        """A requirement line: PEP 508, a git URL with #egg=, or a local folder as pip accepts."""
        if parse_vcs(text) is not None:  # pip's older form: git+URL@rev#egg=NAME
            named = self.vcs_line(text, at)
            if named is None:
                return
            text = named
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            if text.startswith((".", "/", "file:")) or "/" in text:
                self.local(text, at, editable=False)
            else:
                found = f"{text!r} ({reason(exc)})"
                self.problems.append(f"{at.where}: expected a PEP 508 requirement, found {found}")
            return
        if requirement.url and (problem := vcs_problem(requirement.url)):
            self.problems.append(f"{at.where}: {problem}, found {text!r}")
            return
        self.requirements.append((requirement, at.where))

    def vcs_line(self, text: str, at: _At) -> str | None:
        """``git+URL#egg=NAME`` as ``NAME @ git+URL`` (env.toml's form); None: no name given."""
        reference, egg = _egg(text)
        if egg is None or not _valid_name(egg):
            self.problems.append(
                f"{at.where}: cannot tell the package name of {text!r}: "
                "write it as NAME @ git+URL (or add #egg=NAME)"
            )
            return None
        fields = [f for f in text.partition("#")[2].split("&") if not f.startswith("egg=")]
        fragment = f"#{'&'.join(fields)}" if any(fields) else ""
        return f"{egg} @ {reference}{fragment}"

    def option(self, spelling: str, action: str, value: str, at: _At) -> None:
        """Carry out one option, or say why it was dropped."""
        if action == "include":
            self.include(value, at)
        elif action == "editable":
            self.local(value, at, editable=True)
        elif action == "index-url":
            if self.index_url not in {None, value}:
                self.warnings.append(f"{at.where}: {value} replaces the index {self.index_url}")
            self.index_url = value
        elif action == "extra-index-url":
            _add_once(self.extra_urls, value)
        elif action == "find-links":
            local = "://" not in value
            _add_once(self.find_links, self.reader.path(value, within=at.file) if local else value)
        elif action == "constraint":
            self.warnings.append(
                f"{at.where}: ignored the constraints file {value}: envsync has no constraints "
                "(pin versions in dependencies instead)"
            )
        elif action == "drop":
            self.warnings.append(f"{at.where}: dropped {spelling}: envsync has no such setting")
        # --hash is dropped silently: the lock records every file's hash.

    def include(self, reference: str, at: _At) -> None:
        """``-r FILE``: read through the reader, relative to the including file."""
        try:
            name, text = self.reader.read(reference, within=at.file)
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(f"{at.where}: cannot read {reference}: {exc}")
            return
        if name in at.chain:
            cycle = " -> ".join([*at.chain, name])
            self.problems.append(f"{at.where}: -r {reference} includes itself ({cycle})")
            return
        self.parse(text, name, (*at.chain, name))

    def local(self, value: str, at: _At, *, editable: bool) -> None:
        """A local project folder: a [sources] entry plus its name in the dependencies."""
        reference, egg = _egg(value)
        path = _file_path(reference)
        if path is None or path.endswith(_ARCHIVES):
            self.problems.append(
                f"{at.where}: expected a local project folder, found {value!r} "
                "(write archives and URLs as NAME @ URL)"
            )
            return
        name = egg or self.reader.project_name(path, within=at.file)
        if name is None or not _valid_name(name):
            self.problems.append(
                f"{at.where}: cannot tell the package name of {value!r}: add #egg=NAME "
                "or give the folder a pyproject.toml with a [project] name"
            )
            return
        location = self.reader.path(path, within=at.file)
        self.sources[str(canonicalize_name(name))] = LocalSource(
            name=name, path=location, editable=editable
        )
        self.requirements.append((Requirement(name), at.where))


def _egg(value: str) -> tuple[str, str | None]:
    """Split ``path#egg=name`` into the path and the name."""
    reference, _, fragment = value.partition("#")
    fields = dict(item.partition("=")[::2] for item in fragment.split("&"))
    return reference, fields.get("egg") or None


def _file_path(reference: str) -> str | None:
    """The local path *reference* names (``file:`` URLs included), or None for a remote URL."""
    if reference.startswith("file:"):
        parts = urlsplit(reference)
        return unquote(parts.path) if parts.netloc in {"", "localhost"} else None
    return None if "://" in reference else reference


def _valid_name(name: str) -> bool:
    try:
        canonicalize_name(name, validate=True)
    except InvalidName:
        return False
    return True


def _add_once(values: list[str], value: str) -> None:
    if value not in values:
        values.append(value)
