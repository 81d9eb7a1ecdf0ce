"""env.toml text -> Spec: validated, frozen, normalized. PURE: no I/O beyond the text given.

Every problem in a spec is collected and raised together as one `SpecError`, each naming the
key, what was expected there, what was found and, where it can be found, the line. This
module reads ``[env]`` and ``[groups]``; where packages come from (``[index]``,
``[indexes]``, ``[sources]``) is read by ``specsources``, and what a lock is for (``[lock]``)
by ``speclock``, whose names are exported here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal, TypeVar, get_args

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from envsync.core.names import DEFAULT_VENV
from envsync.core.specenvs import (
    DEFAULT_ENV,
    DEFAULT_KEEP,
    ENVS_KEYS,
    NamedEnv,
    read_envs,
    read_keep,
    read_python,
    read_venv,
)
from envsync.core.speclock import LOCK_KEYS, read_lock
from envsync.core.specsources import (
    INDEX_KEYS,
    INDEXES_KEYS,
    NAME_CHARS,
    SOURCE_KEYS,
    IndexConfig,
    NamedIndex,
    Source,
    check_path_sources,
    read_index,
    read_indexes,
    read_sources,
    valid_name,
)
from envsync.core.targets import LockTargets
from envsync.core.tomlcheck import (
    Checker,
    Key,
    check_digits,
    check_keys,
    check_marker,
    convert_value,
    dotted,
    get_boolean,
    get_each,
    get_string,
    get_table,
    load_toml,
    show,
    undefined,
    url_problem,
)
from envsync.core.vcsurl import vcs_problem
from envsync.errors import SpecError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

    from envsync._types import NormalizedName

__all__ = [
    "DEFAULT_KEEP",
    "DEFAULT_VENV",
    "ENVS_KEYS",
    "ENV_KEYS",
    "INDEXES_KEYS",
    "INDEX_KEYS",
    "INSTALLERS",
    "LINK_MODES",
    "LOCK_KEYS",
    "RECIPE_KEYS",
    "RESOLVERS",
    "SOURCE_KEYS",
    "TOP_KEYS",
    "Group",
    "IndexConfig",
    "InstallerName",
    "LinkMode",
    "LockTargets",
    "NamedEnv",
    "NamedIndex",
    "ResolverName",
    "Source",
    "Spec",
    "direct_urls",
    "parse_spec",
]

#: The installer backends ``[env] installer`` may name; the first is the default.
InstallerName = Literal["native", "pip", "uv"]
INSTALLERS: tuple[InstallerName, ...] = get_args(InstallerName)
#: How the native installer puts a cached file into a venv; the first is the default.
LinkMode = Literal["hardlink", "copy", "clone"]
LINK_MODES: tuple[LinkMode, ...] = get_args(LinkMode)
#: The resolver backends ``[env] resolver`` may name; the first is the default.
ResolverName = Literal["pip-tools", "uv"]
RESOLVERS: tuple[ResolverName, ...] = get_args(ResolverName)
#: Installed packages that apply never removes unless the spec says otherwise.
#: The tables an env.toml may hold (schemas/env.schema.json lists the same, a test checks).
TOP_KEYS = frozenset({"env", "envs", "groups", "index", "indexes", "lock", "sources"})
#: The keys of env.toml the fast paths' recipes may hold: any other ([envs], [sources]) could
#: change what a requirement list means, so a spec with one keeps no recipe.
RECIPE_KEYS = TOP_KEYS - {"envs", "sources"}
#: The keys of ``[env]``.
ENV_KEYS = frozenset(
    {
        "python",
        "venv",
        "dependencies",
        "keep",
        "default-groups",
        "installer",
        "compile-bytecode",
        "link-mode",
        "resolver",
        "build",
        "seed",
    }
)


def direct_urls(*requirements: Iterable[Requirement]) -> tuple[str, ...]:
    """The URLs of the direct-URL requirements among *requirements*, each once."""
    return tuple(dict.fromkeys(r.url for reqs in requirements for r in reqs if r.url))


@dataclass(frozen=True, kw_only=True, slots=True)
class Group:
    """A named dependency group (PEP 735 style)."""

    name: str
    """Group name as written (normalized for comparison)."""
    requirements: tuple[Requirement, ...]
    """The group's requirements."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Spec:
    """A parsed env.toml."""

    path: Path
    """The env.toml file; relative paths in it are relative to its folder."""
    python: SpecifierSet
    """Interpreter versions accepted; ``"3.12"`` becomes ``==3.12.*``; empty accepts any."""
    venv: Path
    """Absolute path of the virtual environment."""
    dependencies: tuple[Requirement, ...]
    """Top-level requirements, always installed."""
    groups: tuple[Group, ...] = ()
    """Optional groups, installed on request; sorted by name."""
    index: IndexConfig = field(default_factory=IndexConfig)
    """Package sources."""
    keep: tuple[NormalizedName, ...] = ()
    """Packages apply never removes (normalized); defaults to DEFAULT_KEEP."""
    default_groups: tuple[str, ...] = ()
    """Groups apply installs unless told otherwise (normalized, sorted; each defined)."""
    indexes: tuple[NamedIndex, ...] = ()
    """Named indexes, sorted by name."""
    sources: tuple[Source, ...] = ()
    """Per-package sources, sorted by package."""
    installer: InstallerName = "native"
    """The backend that installs: envsync's own (``native``), ``pip``, or ``uv`` where installed."""
    compile_bytecode: bool = False
    """Write ``.pyc`` files at install time (the native and uv installers; pip always does)."""
    link_mode: LinkMode = "hardlink"
    """How installed files come from the cache: hard links (shared with every venv linked
    from the same entry), copies, or copy-on-write clones where the filesystem has them.
    How, not what, is installed: like ``installer``, it leaves the lock fresh."""
    resolver: ResolverName = "pip-tools"
    """What resolves: pip-compile (pip's resolver), or ``uv pip compile`` where uv is installed."""
    build: bool = True
    """Whether packages may be built from source (sdists, local folders): false means wheels
    only, so no package's build code ever runs."""
    lock: LockTargets = field(default_factory=LockTargets)
    """``[lock]``: the Python versions and platforms one lock serves (empty: this machine's)."""
    envs: tuple[NamedEnv, ...] = ()
    """Every environment, ``[env]`` (named ``default``) first, when env.toml has ``[envs]``."""
    env_name: str = DEFAULT_ENV
    """The environment this Spec is for; its venv, python and keep are that environment's."""

    @property
    def lock_python(self) -> SpecifierSet:
        """The Pythons the lock states (requires-python, fingerprint), whichever environment.

        ``[env] python``, or any Python when the environments ask for different ones: they
        all install from the one lock, and its targets name their Pythons.
        """
        if not self.envs:
            return self.python
        first = self.envs[0].python
        return first if all(env.python == first for env in self.envs) else SpecifierSet()

    seed: bool = False
    """Put pip into the venv (from its Python's ensurepip), as ``uv venv --seed`` does, and
    keep it there; like ``installer``, it changes no resolution and leaves the lock fresh."""

    def source(self, name: str) -> Source | None:
        """The [sources] entry for package *name*, if any."""
        wanted = canonicalize_name(name)
        return next((s for s in self.sources if s.package == wanted), None)

    def direct_urls(self) -> tuple[str, ...]:
        """The URLs of direct-URL requirements, as written (credentials and all)."""
        return direct_urls(self.dependencies, *(g.requirements for g in self.groups))

    @property
    def root(self) -> Path:
        """The folder holding env.toml: the project root."""
        return self.path.parent

    def group(self, name: str) -> Group | None:
        """Return the group called *name* (normalized match), if any."""
        wanted = _normalize_group(name)
        return next((g for g in self.groups if _normalize_group(g.name) == wanted), None)


def _normalize_group(name: str) -> str:
    # PEP 735: group names compare like package names.
    return str(canonicalize_name(name))


def parse_spec(text: str, *, path: Path) -> Spec:
    """Parse env.toml *text* read from *path*; raise SpecError listing every problem."""
    data = load_toml(text, path)
    check = Checker(text)
    check_keys(check, data, (), TOP_KEYS)
    env = get_table(check, data, ("env",), ENV_KEYS)
    asked: list[tuple[Key, Requirement]] = []  # every requirement, for the [sources] checks
    dependencies = _requirements(check, env, ("env", "dependencies"), asked)
    groups = _groups(check, data, asked)
    sources = read_sources(check, data)
    check_path_sources(check, sources.values(), asked)
    python = read_python(check, env, ("env", "python"))
    spec = Spec(
        path=path,
        python=python,
        venv=read_venv(check, env, ("env", "venv"), path.parent),
        dependencies=dependencies,
        groups=groups,
        index=read_index(check, data),
        keep=read_keep(check, env, ("env", "keep")),
        default_groups=_default_groups(check, env, groups),
        indexes=read_indexes(check, data),
        sources=tuple(sources[package][1] for package in sorted(sources)),
        installer=_choice(check, env, "installer", INSTALLERS),
        resolver=_choice(check, env, "resolver", RESOLVERS),
        compile_bytecode=get_boolean(check, env, ("env", "compile-bytecode")),
        link_mode=_choice(check, env, "link-mode", LINK_MODES),
        build=_build(check, env, sources),
        # With [envs], [lock]'s Pythons are checked against every environment's (below).
        lock=read_lock(check, data, SpecifierSet() if "envs" in data else python),
        seed=get_boolean(check, env, ("env", "seed")),
    )
    spec = _with_envs(check, data, spec)
    if check.problems:
        # File order reads best; problems without a line go last.
        problems = sorted(check.problems, key=lambda p: (p.line is None, p.line or 0))
        raise SpecError(path, problems)
    return spec


def _with_envs(check: Checker, data: Mapping[str, object], spec: Spec) -> Spec:
    """*spec* with ``[envs]``: the default environment is [env] (``specenvs``)."""
    default = NamedEnv(name=DEFAULT_ENV, venv=spec.venv, python=spec.python, keep=spec.keep)
    groups = [group.name for group in spec.groups]
    envs = read_envs(check, data, default=default, folder=spec.root, groups=groups, lock=spec.lock)
    return replace(spec, envs=envs)


# --- the keys -------------------------------------------------------------------------------------


def _build(
    check: Checker, env: Mapping[str, object], sources: Mapping[NormalizedName, tuple[Key, Source]]
) -> bool:
    """Read ``[env] build`` (default true); false forbids [sources] folders, which need a build."""
    if "build" not in env:
        return True
    build = get_boolean(check, env, ("env", "build"))
    for key, source in sources.values():
        if not build and source.path is not None:
            found = f"a local folder, {source.path}"
            check.add(key, "a source that needs no build (build = false)", found, None)
    return build


_C = TypeVar("_C", bound=str)


def _choice(check: Checker, env: Mapping[str, object], name: str, choices: tuple[_C, ...]) -> _C:
    """Read ``[env] <name>``: one of *choices* (the first when absent or wrong)."""
    key: Key = ("env", name)
    text = get_string(check, env, key)
    chosen = next((choice for choice in choices if choice == text), None)
    if text is not None and chosen is None:
        undefined(
            check, key, f"an {name}" if name[0] in "aeiou" else f"a {name}", text, list(choices)
        )
    return chosen or choices[0]


def _requirements(
    check: Checker, table: Mapping[str, object], key: Key, asked: list[tuple[Key, Requirement]]
) -> tuple[Requirement, ...]:
    """Read a list of PEP 508 requirements, each package at most once per environment marker.

    Each is also added to *asked*, keyed, for the checks that look across lists.
    """
    parsed = get_each(check, table, key, _requirement, "a PEP 508 requirement") or []
    asked.extend(parsed)
    seen: dict[str, list[tuple[Key, str | None]]] = {}
    for item_key, requirement in parsed:
        name = canonicalize_name(requirement.name)
        marker = str(requirement.marker) if requirement.marker else None
        # The same name twice is fine only when both entries are for different environments.
        clash = next((k for k, m in seen.get(name, []) if None in {m, marker} or m == marker), None)
        if clash is not None:
            expected = "each package once (or once per distinct environment marker)"
            check.add(item_key, expected, f"{show(name)} again, also at {dotted(clash)}", None)
        seen.setdefault(name, []).append((item_key, marker))
    return tuple(requirement for _, requirement in parsed)


def _requirement(text: str) -> Requirement:
    """Parse a PEP 508 requirement whose direct URL, if any, pip can open."""
    requirement = Requirement(check_digits(text))
    if requirement.url and (problem := url_problem(requirement.url)):
        raise ValueError(problem)
    if requirement.url and (problem := vcs_problem(requirement.url)):  # git locks; hg does not
        raise ValueError(problem)
    if requirement.marker is not None:
        check_marker(requirement.marker, "requirement")
    return requirement


def _groups(
    check: Checker, data: Mapping[str, object], asked: list[tuple[Key, Requirement]]
) -> tuple[Group, ...]:
    """Read ``[groups]``: valid, unique names, each with requirements; sorted by name."""
    table = get_table(check, data, ("groups",))
    groups: dict[str, Group] = {}
    for name in table:
        key: Key = ("groups", name)
        requirements = _requirements(check, table, key, asked)
        normal = convert_value(check, key, name, valid_name, f"a group name {NAME_CHARS}")
        if normal in groups:
            found = f"{show(name)}, the same name as {show(groups[normal].name)}"
            check.add(key, "each group name once (compared like package names)", found, None)
        elif normal is not None:
            groups[normal] = Group(name=name, requirements=requirements)
    return tuple(groups[normal] for normal in sorted(groups))


# --- default groups ------------------------------------------------------------------------------


def _default_groups(
    check: Checker, env: Mapping[str, object], groups: tuple[Group, ...]
) -> tuple[str, ...]:
    """Read ``[env] default-groups``: groups defined in [groups]; normalized and sorted."""
    key: Key = ("env", "default-groups")
    named = get_each(check, env, key, _named, "a group name") or []
    defined = [group.name for group in groups]
    normal = {_normalize_group(name) for name in defined}
    for item_key, (text, name) in named:
        if name not in normal:
            undefined(check, item_key, "a group defined in [groups]", text, defined)
    return tuple(sorted({name for _, (_, name) in named}))


def _named(text: str) -> tuple[str, str]:
    """Return *text* as written and normalized, if it is a valid name."""
    return text, valid_name(text)
