"""No import cycle anywhere in layers/mailexports: the dialects are values the handlers
compose, nothing loads a module back by name.

Every import is counted: module level, inside functions, under TYPE_CHECKING, and
`importlib.import_module("mailexports...")` / `__import__` calls with a literal name.
"""

from __future__ import annotations

import ast
from pathlib import Path

from mailexports_dev.local.template import PROJECT_ROOT

LAYER = PROJECT_ROOT / "layers"
PACKAGE = "mailexports"


def module_name(path: Path) -> str:
    parts = path.relative_to(LAYER).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(name: str, modules: set[str]) -> str | None:
    """The module `name` denotes, or the package holding the name (`from pkg import thing`)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imported_names(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every dotted name the module imports, absolute, including `from x import y` as `x.y`."""
    tree = ast.parse(source)
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                names.add(node.args[0].value)
    return {name for name in names if name == PACKAGE or name.startswith(PACKAGE + ".")}


def import_graph() -> dict[str, set[str]]:
    files = {module_name(path): path for path in (LAYER / PACKAGE).rglob("*.py")}
    modules = set(files)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        names = imported_names(path.read_text(), module, path.name == "__init__.py")
        targets = {_resolve(name, modules) for name in names}
        graph[module] = {target for target in targets if target is not None and target != module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as `[a, b, ..., a]`, or None (depth-first search, colouring the nodes)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_sees_every_kind_of_import() -> None:
    """The walk finds imports in functions and importlib calls, and finds a cycle when
    there is one (so an empty answer below means something)."""
    source = (
        "import importlib\n"
        "from . import checkpoint\n"
        "def late():\n"
        "    from mailexports.exports import task\n"
        "    importlib.import_module('mailexports.dialects')\n"
    )
    names = imported_names(source, "mailexports.exports.probe")
    assert {"mailexports.exports.checkpoint", "mailexports.exports.task", "mailexports.dialects"} <= names
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_the_layer() -> None:
    graph = import_graph()
    assert "mailexports.dialects.pinpointe" in graph  # the walk found the package
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_nothing_in_the_layer_loads_a_module_by_name() -> None:
    """No importlib of mailexports modules (nor of a computed name): what a function uses,
    it imports or is given."""
    loaded = {
        module: sorted(name for name in names if name)
        for module, names in (
            (module_name(path), _dynamic_imports(path)) for path in (LAYER / PACKAGE).rglob("*.py")
        )
        if names
    }
    assert loaded == {}


def _dynamic_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called not in ("import_module", "__import__", "spec_from_file_location") or not node.args:
                continue
            name = node.args[0]
            # A literal third-party name (a lazily loaded SDK) is fine; ours, or a computed one, is not.
            if not (isinstance(name, ast.Constant) and not str(name.value).startswith(PACKAGE)):
                found.add(ast.unparse(node))
    return found
