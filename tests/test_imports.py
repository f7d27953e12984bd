"""The package's dependency structure, read from the source (ast), not by importing it.

- No computational module imports a command-line module: the CLI depends on the engine
  (cli -> reconstruct_cli -> reconstruct), never the other way.
- No import cycle among the package's modules at module level (what runs at import time).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "reanalysis"
CLI_MODULES = {f"{PACKAGE}.cli", f"{PACKAGE}.reconstruct_cli", f"{PACKAGE}.__main__"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    """Module name -> file, for every module of the package (subpackages included)."""
    return {module_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))}


MODULES = package_modules()


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    """The package modules a ``from ... import ...`` names (a name may be a submodule)."""
    if node.level:
        base = importer.split(".") if is_package else importer.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    found = [target] if target in MODULES else []
    found += [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES]
    return found


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports(module: str, module_level: bool) -> set[str]:
    """Package modules ``module`` imports: at module level only (what runs when it is
    imported; ``if TYPE_CHECKING:`` blocks excluded), or anywhere (functions included)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes: list[ast.AST] = []
    if module_level:
        todo = list(tree.body)
        while todo:  # statements that run at import: top level, and inside if/try/with there
            node = todo.pop()
            if _type_checking_only(node):
                continue
            nodes.append(node)
            if isinstance(node, ast.If | ast.Try | ast.With):
                for field in ("body", "orelse", "finalbody", "handlers"):
                    todo.extend(getattr(node, field, []))
            if isinstance(node, ast.ExceptHandler):
                todo.extend(node.body)
    else:
        nodes = list(ast.walk(tree))
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in MODULES}
        elif isinstance(node, ast.ImportFrom):
            out |= set(_resolve(module, path.name == "__init__.py", node))
    return out - {module}


def test_the_walker_sees_the_package():
    """Guards the tests below against passing vacuously."""
    assert {f"{PACKAGE}.reconstruct", f"{PACKAGE}.cli", f"{PACKAGE}.patient.report"} <= set(MODULES)
    assert f"{PACKAGE}.reconstruct_cli" in imports(f"{PACKAGE}.cli", module_level=False)
    assert f"{PACKAGE}.reconstruct" in imports(f"{PACKAGE}.reconstruct_cli", module_level=False)
    assert {f"{PACKAGE}.plots", f"{PACKAGE}.tables"} <= imports(
        f"{PACKAGE}.patient.report", module_level=True
    )


def test_no_computational_module_imports_a_cli_module():
    offenders = {
        module: sorted(imports(module, module_level=False) & CLI_MODULES)
        for module in MODULES
        if module not in CLI_MODULES
    }
    assert not {m: cli for m, cli in offenders.items() if cli}


def test_no_module_level_import_cycle():
    graph = {m: imports(m, module_level=True) for m in MODULES}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return path[path.index(n) :] + [n]
            if n not in state and (cycle := visit(n)):
                return cycle
        state[m] = 2
        path.pop()
        return None

    for m in sorted(graph):
        if m not in state:
            cycle = visit(m)
            assert cycle is None, "import cycle: " + " -> ".join(cycle)
