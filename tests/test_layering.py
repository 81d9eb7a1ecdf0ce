"""The architecture, enforced: packages by job, imports flowing one way, a pure core, no cycles.

docs/architecture.md draws the same map in prose; the two change together.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "envsync"

#: The modules at the package's top level, importable from anywhere: the exception tree,
#: progress events, type aliases, the interruption flag, the version.
BASE = {"errors", "report", "_types", "interrupt", "__init__"}

#: What each part may import at run time (besides itself and the standard library).
#: cli -> usecases -> {resolve, install} -> {index, venv} -> system -> core -> base.
ALLOWED: dict[str, set[str]] = {
    "base": set(),
    "core": {"base"},
    "system": {"base", "core"},
    "index": {"base", "core", "system"},
    "venv": {"base", "core", "system"},
    "resolve": {"base", "core", "system", "index", "venv"},
    "install": {"base", "core", "system", "index", "venv"},
    "usecases": {"base", "core", "system", "index", "venv", "resolve", "install"},
    "cli": {"base", "core", "usecases"},
}

#: Standard-library and third-party modules that act on the world. The core imports none.
EFFECT_IMPORTS = {
    "subprocess",
    "socket",
    "urllib.request",
    "http",
    "shutil",
    "tempfile",
    "threading",
    "concurrent",
    "filelock",
    "installer",
    "signal",
}
#: Calls that touch the filesystem or the environment; none may appear in the core.
EFFECT_CALLS = {
    "open",
    "read_text",
    "read_bytes",
    "write_text",
    "write_bytes",
    "exists",
    "is_file",
    "is_dir",
    "is_symlink",
    "stat",
    "lstat",
    "iterdir",
    "glob",
    "rglob",
    "resolve",
    "mkdir",
    "unlink",
    "getenv",
    "listdir",
    "scandir",
    "walk",
    "realpath",
    "getcwd",
    "cwd",
    "home",
    "expanduser",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


FILES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _part(module: str) -> str:
    name = module.split(".")
    if len(name) < 2 or name[1] in BASE:
        return "base"
    if name[1] == "__main__":
        return "cli"
    return name[1]


@cache
def runtime_imports(module: str) -> frozenset[str]:
    """The modules *module* imports outside ``if TYPE_CHECKING:`` blocks, as dotted names."""
    tree = ast.parse(FILES[module].read_text("utf-8"))
    package = module if FILES[module].name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], base]
                )
                base = base.rstrip(".")
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in FILES)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return frozenset(found)


def _envsync_imports(module: str) -> set[str]:
    return {name for name in runtime_imports(module) if name in FILES and name != module}


def test_every_part_is_known() -> None:
    assert {_part(m) for m in FILES} == set(ALLOWED)


@pytest.mark.parametrize("module", sorted(FILES))
def test_imports_flow_one_way(module: str) -> None:
    mine = _part(module)
    for name in _envsync_imports(module):
        other = _part(name)
        assert other == mine or other in ALLOWED[mine], (
            f"{module} ({mine}) imports {name} ({other})"
        )


@pytest.mark.parametrize("module", sorted(m for m in FILES if _part(m) == "core"))
def test_the_core_does_no_io(module: str) -> None:
    imported = runtime_imports(module)
    effects = {i for i in imported if i in EFFECT_IMPORTS or i.split(".")[0] in EFFECT_IMPORTS}
    assert not effects, f"{module} imports {effects}"
    calls = {
        node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        for node in ast.walk(ast.parse(FILES[module].read_text("utf-8")))
        if isinstance(node, ast.Call)
    }
    assert not calls & EFFECT_CALLS, f"{module} calls {calls & EFFECT_CALLS}"
    names = {
        n.attr
        for n in ast.walk(ast.parse(FILES[module].read_text("utf-8")))
        if isinstance(n, ast.Attribute)
    }
    assert "environ" not in names, f"{module} reads the environment"


@pytest.mark.parametrize("module", sorted(FILES))
def test_only_the_chokepoint_starts_processes(module: str) -> None:
    if module == "envsync.system.process":
        return
    assert "subprocess" not in runtime_imports(module)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in *graph* (module -> modules it imports), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = 1
        for other in sorted(graph[module]):
            if state.get(other) == 1:
                return [*path[path.index(other) :], other]
            found = None if other in state else visit(other, [*path, other])
            if found:
                return found
        state[module] = 2
        return None

    for module in sorted(graph):
        found = None if module in state else visit(module, [module])
        if found:
            return found
    return None


def _not_an_ancestor(module: str, name: str) -> bool:
    """False for a package that *module* is inside: Python imports it first anyway."""
    return not module.startswith(name + ".")


def test_no_import_cycles() -> None:
    graph = {m: {n for n in _envsync_imports(m) if _not_an_ancestor(m, n)} for m in FILES}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
        ({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
        ({"a": {"b"}, "b": {"c"}, "c": {"b"}}, ["b", "c", "b"]),
        ({"a": {"a"}}, ["a", "a"]),
    ],
)
def test_the_cycle_check_finds_cycles(graph: dict[str, set[str]], cycle: list[str] | None) -> None:
    assert find_cycle(graph) == cycle
