"""The package's shape: no import cycles, function-level imports only where they keep start-up fast (and say
so), and one registry each for optimizers and writers that a new module joins by registering."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "optviz"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    """The optviz modules an ``from ... import ...`` at module level loads."""
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if not target.startswith("optviz"):
        return []
    return [target] + [f"{target}.{alias.name}" for alias in node.names]


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        deps: set[str] = set()
        for node in ast.parse(path.read_text()).body:          # module level only: function imports are lazy
            if isinstance(node, ast.ImportFrom):
                deps.update(d for d in resolve(name, path.name == "__init__.py", node) if d in files)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name in files)
        graph[name] = deps - {name}
    return graph


def test_no_import_cycles():
    graph = import_graph()
    assert len(graph) > 30
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                # a package's __init__ importing its own submodules is how packages work, not a cycle
                if not node.startswith(dep + ".") and not dep.startswith(node + "."):
                    cycle = stack[stack.index(dep):] + [dep]
                    pytest.fail("import cycle: " + " -> ".join(cycle))
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)


def test_function_level_imports_say_why():
    """An import inside a function must carry a ``lazy:`` comment (on its line, or on the line before its block)."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for sub in ast.walk(node):
                if isinstance(sub, (ast.Import, ast.ImportFrom)):
                    i = sub.lineno - 1
                    while i > 0 and lines[i - 1].strip().startswith(("from ", "import ")):
                        i -= 1                               # the top of this block of imports
                    if "lazy:" not in lines[sub.lineno - 1] and "# lazy:" not in lines[i - 1]:
                        offenders.append(f"{path.relative_to(PACKAGE.parent)}:{sub.lineno}")
    assert offenders == []


def test_import_optviz_does_not_load_pyplot_or_torch():
    code = "import sys, optviz; print(sorted(m for m in ('matplotlib.pyplot', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_optimizer_module_registers_and_every_writer_module_registers():
    import optviz.draw.writers as writers
    import optviz.maths.optimizers as optimizers

    families = {p.stem for p in (PACKAGE / "maths" / "optimizers").glob("*.py")} - {"__init__", "base"}
    families = {f for f in families if not f.startswith("_")}
    registered = {spec.build.__module__ for spec in optimizers.OPTIMIZERS.values()}
    assert {f"optviz.maths.optimizers.{f}" for f in families} == {m for m in registered}
    formats = {p.stem for p in (PACKAGE / "draw" / "writers").glob("*.py")} - {"__init__", "base"}
    assert formats == set(writers.WRITERS)
