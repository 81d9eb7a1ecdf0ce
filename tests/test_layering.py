"""The architecture, enforced: a pure core, effects at the edges, imports flowing one way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "envsync"

# Layers from the bottom up; a module may import only from its own layer or those below.
LAYERS = [
    {"errors", "_types", "report", "_interrupt"},
    {
        "_tomlcheck",
        "spec",
        "_lockcheck",
        "lockfile",
        "planner",
        "compiled",
        "selection",
        "pruning",
        "importers",
        "export",
    },
    {"_cachedir"},
    {
        "_subprocess",
        "_shims",
        "_pipoutput",
        "_fastpath",
        "_probecache",
        "pagecache",
        "_faults",
        "_atomic",
        "removal",
        "retry",
    },
    {
        "credentials",
        "simpleapi",
        "indexproxy",
        "interpreters",
        "venv",
        "venvsafety",
        "environment",
        "drift",
        "resolver",
        "installer",
        "uninstall",
        "unpack",
        "linking",
        "cacheadmin",
        "cache",
        "nativeinstall",
        "uvinstall",
        "transaction",
        "venvlock",
    },
    {"projectfiles", "target"},
    {"check"},
    {"reconcile", "render"},
    {"cli", "__main__", "__init__"},
]
PURE = {
    "_tomlcheck",
    "_lockcheck",
    "pruning",
    "selection",
    "spec",
    "lockfile",
    "planner",
    "compiled",
    "errors",
    "_types",
    "report",
    "render",
    "importers",
    "export",
}
EFFECT_IMPORTS = {"subprocess", "socket", "urllib.request", "http", "shutil", "tempfile"}


def layer_of(module: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if module in layer)


def runtime_imports(path: Path) -> set[str]:
    """Modules imported outside `if TYPE_CHECKING:` blocks."""
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            if node.module == "envsync":
                found.update(
                    f"envsync.{a.name}"
                    for a in node.names
                    if (SRC / f"{a.name}.py").exists() or (SRC / a.name).is_dir()
                )
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


FILES = {str(p.relative_to(SRC)): p for p in SRC.rglob("*.py")}
MODULES = sorted({Path(name).parts[0].removesuffix(".py") for name in FILES})


def files_of(module: str) -> list[Path]:
    """The file of a module, or every file of a subpackage (such as cli/)."""
    return [p for name, p in FILES.items() if Path(name).parts[0].removesuffix(".py") == module]


def test_every_module_has_a_layer() -> None:
    assert set(MODULES) <= set().union(*LAYERS)


@pytest.mark.parametrize("module", MODULES)
def test_imports_flow_downwards(module: str) -> None:
    mine = layer_of(module)
    for name in {i for path in files_of(module) for i in runtime_imports(path)}:
        if name.startswith("envsync."):
            other = name.split(".")[1]
            assert layer_of(other) <= mine, f"{module} imports {other} from a higher layer"


@pytest.mark.parametrize("module", sorted(PURE))
def test_pure_modules_do_no_io(module: str) -> None:
    imported = {i for path in files_of(module) for i in runtime_imports(path)}
    assert not {i for i in imported if i.split(".")[0] in EFFECT_IMPORTS or i in EFFECT_IMPORTS}


@pytest.mark.parametrize("module", MODULES)
def test_only_the_chokepoint_starts_processes(module: str) -> None:
    if module == "_subprocess":
        return
    assert all("subprocess" not in runtime_imports(path) for path in files_of(module))
