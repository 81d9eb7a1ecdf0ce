"""Imported (or nothing) -> env.toml text, checked by envsync's own loader. PURE."""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import tomli_w

from envsync.core.importers._model import Imported, ImportSourceError, LocalSource
from envsync.core.spec import parse_spec
from envsync.core.speclock import allows_minor
from envsync.errors import SpecError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["render", "template"]


_HEADER = """\
# envsync spec made by `envsync init --from {origin}`; edit it freely.
# `envsync apply` installs it; the format is described in envsync's README (env.toml).
"""
_EXTRAS_NOTE = """\
# Groups made from extras ([project.optional-dependencies]): {names}.
# envsync groups are not extras: each is resolved together with the main dependencies,
# and `envsync apply --group NAME` installs it.
"""
_TEMPLATE = """\
# envsync spec: what this project's venv holds. The format is in envsync's README (env.toml).
# `envsync apply` resolves it into pylock.toml and makes the venv match it exactly.

[env]
{python}  # a PEP 440 specifier, or a bare version: "3.12" means ==3.12.*
dependencies = [
    # "requests>=2.31",
]
# installer = "native"      # or "pip", or "uv" (where uv is installed): what installs
# resolver = "pip-tools"    # or "uv" (uv pip compile, where uv is installed)
# build = true              # false: wheels only, so no package's build code ever runs
# compile-bytecode = false  # write .pyc files at install time
# seed = false              # true: pip in the venv (its Python's ensurepip), and kept there

# Groups, installed on request with `envsync apply --group NAME`:
# [groups]
# dev = ["pytest>=8", "ruff"]

# Where packages come from (without [index], pip's default index):
# [index]
# url = "https://my.index.example/simple"
# extra-urls = []
# find-links = []

# More environments from the same lock, each with its own venv (.venvs/NAME), as a test
# matrix: `envsync apply --all-envs`, `envsync run -e NAME -- pytest`.
# [envs.{env_name}]
# python = "{env_python}"
# groups = ["dev"]

# What one lock serves (without [lock], this machine's Python and platform). Platforms:
# linux-x86_64, linux-aarch64, macos-arm64, macos-x86_64, windows-x86_64.
# [lock]
# python-versions = {versions}
# platforms = ["linux-x86_64", "macos-arm64", "windows-x86_64"]
"""


def template(*, python: str, path: Path) -> str:
    """A commented starter env.toml asking for Python *python*; checked to parse at *path*."""
    setting = tomli_w.dumps({"python": python}).strip()
    examples = _example_versions(setting, path)
    versions = json.dumps(examples)  # one line; TOML spells it the same
    newest = examples[-1]
    text = _TEMPLATE.format(
        python=setting,
        versions=versions,
        env_name="py" + newest.replace(".", ""),
        env_python=newest,
    )
    return _checked(text, path, "the template")


#: The minor versions the [lock] example picks from, in this order: from 3.10 up, then down.
_EXAMPLE_MINORS = tuple(f"3.{minor}" for minor in (*range(10, 40), *range(9, -1, -1)))


def _example_versions(setting: str, path: Path) -> list[str]:
    """Two Python versions the ``[env] python`` *setting* allows, so the example is valid."""
    try:
        python = parse_spec(f"[env]\n{setting}\n", path=path).python
    except SpecError:  # the template's own check reports it
        return list(_EXAMPLE_MINORS[:2])
    allowed = [v for v in _EXAMPLE_MINORS if not python or allows_minor(python, v)][:2]
    return sorted(allowed, key=lambda v: int(v[2:])) or list(_EXAMPLE_MINORS[:2])


def render(imported: Imported, *, python: str, path: Path) -> str:
    """env.toml text for *imported*, asking for Python *python*; checked to parse at *path*.

    The same input always gives the same bytes.
    """
    data: dict[str, Any] = {"env": {"python": python, "dependencies": list(imported.dependencies)}}
    if imported.groups:
        data["groups"] = {group: list(reqs) for group, reqs in imported.groups}
    index = {
        "url": imported.index_url,
        "extra-urls": list(imported.extra_urls),
        "find-links": list(imported.find_links),
    }
    if any(index.values()):
        data["index"] = {key: value for key, value in index.items() if value}
    if imported.sources:
        data["sources"] = {s.name: _source(s) for s in imported.sources}
    header = _HEADER.format(origin=PurePath(imported.origin).name)
    if imported.extras:
        header += _EXTRAS_NOTE.format(names=", ".join(imported.extras))
    return _checked(f"{header}\n{tomli_w.dumps(data)}", path, imported.origin)


def _source(source: LocalSource) -> dict[str, Any]:
    return {"path": source.path, "editable": True} if source.editable else {"path": source.path}


def _checked(text: str, path: Path, origin: str) -> str:
    """*text*, once envsync's own loader accepts it (what init writes must load)."""
    try:
        parse_spec(text, path=path)
    except SpecError as exc:
        raise ImportSourceError(origin, [p.describe(path) for p in exc.problems]) from exc
    return text
