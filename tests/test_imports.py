"""The package's dependency structure, read from the source (ast), not by importing it.

- No computational module imports a command-line module: the CLI depends on the engine
  (cli -> reconstruct_cli -> reconstruct), never the other way.
- No import cycle among the package's modules at module level (what runs at import time).
- Every third-party package the code imports is pinned in requirements.txt.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "reanalysis"
CLI_MODULES = {f"{PACKAGE}.cli", f"{PACKAGE}.reconstruct_cli", f"{PACKAGE}.__main__"}
# pandas methods that import an optional dependency when called: the code needs it installed
PANDAS_OPTIONAL = {"to_markdown": "tabulate", "style": "jinja2"}


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


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned() -> dict[str, str]:
    """Distribution (canonical name) -> pinned version, from requirements.txt."""
    out = {}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            out[_canonical(name)] = version.strip()
    return out


def third_party(folder: str) -> dict[str, set[str]]:
    """Top-level names of third-party imports in ``folder`` (anywhere in a file) -> files,
    plus the optional dependencies of the pandas methods the code calls."""
    out: dict[str, set[str]] = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Attribute) and node.attr in PANDAS_OPTIONAL:
                names = [PANDAS_OPTIONAL[node.attr]]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in (PACKAGE, "__future__"):
                    out.setdefault(top, set()).add(rel)
    return out


@pytest.mark.parametrize("folder", [PACKAGE, "tests", "benchmarks", "book/_ext"])
def test_every_third_party_import_is_pinned(folder):
    """Import names map to distributions as installed (``yaml`` -> PyYAML, ``sklearn`` ->
    scikit-learn, ``IPython`` -> ipython, ``myst_nb`` -> myst-nb)."""
    dists = packages_distributions()
    pins = pinned()
    local = {p.stem for p in (ROOT / folder).rglob("*.py")}  # a helper imported by a sibling
    missing = {}
    for top, files in third_party(folder).items():
        if top in local:
            continue
        candidates = {_canonical(d) for d in dists.get(top, [top])}
        if not candidates & set(pins):
            missing[top] = sorted(files)
    assert not missing, f"imported but not pinned in requirements.txt: {missing}"


def test_pins_are_exact_versions():
    assert all(re.fullmatch(r"\d+(\.\d+)*(\.post\d+)?", v) for v in pinned().values()), pinned()
