"""No import cycle among app.py, chalicelib and ops: a leaf never imports the root.

The imports are read from the source (every ``import`` statement, at module level or inside a
function, for a lazy import is still a dependency; those under ``if TYPE_CHECKING:`` only name
types and are left out), so the test needs no import of the app and sees the lazy imports the
cold start relies on.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("chalicelib", "ops")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _project_modules() -> dict[str, Path]:
    modules = {"app": ROOT / "app.py"}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            modules[_module_name(path)] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def _imported(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``module`` imports."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules]
            # ``from package import module`` depends on the module; the package itself only
            # when a name is taken from its __init__
            names = submodules if len(submodules) == len(node.names) else [base, *submodules]
        targets.update(name for name in names if name in modules)
    # a module's own packages are imported before it by Python itself, never a circle it made
    return {target for target in targets if target != module and not module.startswith(f"{target}.")}


def import_graph() -> dict[str, set[str]]:
    modules = _project_modules()
    return {module: _imported(module, path, modules) for module, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_app_chalicelib_and_ops_import_each_other_in_one_direction_only():
    # GIVEN every import of app.py, chalicelib and ops, lazy ones included
    graph = import_graph()
    # THEN no module reaches itself again through them
    assert cycles(graph) == []


def test_the_walk_sees_a_cycle_through_a_lazy_import():
    # GIVEN the project's graph with one edge added the way the clients once called back
    # into wiring (inside a function)
    graph = import_graph()
    assert "chalicelib.clients" in graph["chalicelib.wiring"]
    graph["chalicelib.clients"] = {*graph["chalicelib.clients"], "chalicelib.wiring"}
    # THEN the walk reports that circle
    assert ["chalicelib.clients", "chalicelib.wiring"] in cycles(graph)


def test_a_lazy_import_inside_a_function_is_an_edge():
    # GIVEN wiring, which imports the service modules only when it builds them
    graph = import_graph()
    # THEN those imports are in the graph (the walk does not stop at module level)
    assert {"chalicelib.service", "chalicelib.repository", "chalicelib.scheduler"} <= graph["chalicelib.wiring"]
