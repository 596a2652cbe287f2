"""The package's layering, read from the source: a module imports only its own layer or lower,
and no import cycle exists. Every import counts, at module level or inside a function, relative
or absolute: a lazy import is still a dependency. Imports under ``if TYPE_CHECKING:`` do not:
they exist only for annotations (models name ``ModelConfig`` in signatures, while config reads
the model registry), never run, and so cannot make a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import grokking_tickets

ROOT = Path(grokking_tickets.__file__).parent
PKG = "grokking_tickets"

# Low to high. A package's modules take the package's layer (train.loss -> train); "" is the
# package itself (__init__: pins the arithmetic, registers validation's checks with config,
# __version__ and load()), which no module imports; "__main__" the `python -m` entry point.
LAYERS = [
    ("arithmetic", "errors", "files", "progress", "registry", "version"),
    ("config",),
    ("tasks", "models"),
    ("spec", "validation"),
    ("store",),
    ("train",),
    ("pruning",),
    ("trackers",),
    ("cohort",),
    ("executors", "runner", "tuning"),
    ("analysis",),
    ("experiments",),
    ("report",),
    ("status", "bench", "golden", "checkpoint", "catalog", "publish", "cli", "__main__"),
    ("lens",),
    ("",),
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}



def _modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the package (a package is its __init__.py)."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([PKG, *parts])] = path
    return out


MODULES = _modules()


def _nearest_module(name: str) -> str:
    """``name`` (a module, or an attribute of one) -> the module that holds it."""
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def imports_of(module: str) -> set[str]:
    """The package's modules that ``module`` imports, anywhere in its file."""
    path = MODULES[module]
    # the package a relative import starts from: the module's own for a package's __init__
    here = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            # `from pkg import name`: the submodule pkg.name if there is one, else pkg itself
            names = [f"{source}.{a.name}" if f"{source}.{a.name}" in MODULES else source for a in node.names]
        else:
            continue
        found |= {_nearest_module(n) for n in names if n == PKG or n.startswith(f"{PKG}.")}
    found.discard(module)
    return found


def _runtime_nodes(tree: ast.AST):
    """Every node of ``tree`` except the bodies of ``if TYPE_CHECKING:`` blocks."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


GRAPH = {m: imports_of(m) for m in MODULES}


def layer_of(module: str) -> int:
    key = module.removeprefix(PKG).removeprefix(".").split(".")[0]
    return LAYER[key]


def test_every_module_has_a_layer():
    unknown = sorted(m for m in MODULES if m.removeprefix(PKG).removeprefix(".").split(".")[0] not in LAYER)
    assert not unknown, f"modules without a layer (add them to LAYERS in {Path(__file__).name}): {unknown}"


def _layer_cases() -> list:
    return [pytest.param(m, id=m.removeprefix(f"{PKG}.") or PKG) for m in MODULES]


def _name(module: str) -> str:
    return f"{module} (L{layer_of(module)})"


@pytest.mark.parametrize("module", _layer_cases())
def test_no_import_of_a_higher_layer(module):
    up = sorted(t for t in GRAPH[module] if layer_of(t) > layer_of(module))
    assert not up, "imports of a higher layer: " + "; ".join(f"{_name(module)} -> {_name(t)}" for t in up)


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a -> ... -> a) through each strongly connected component of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    sccs: list[set[str]] = []

    def visit(v: str) -> None:  # Tarjan's algorithm; the package has ~60 modules, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                scc.add(w)
                if w == v:
                    break
            if len(scc) > 1:
                sccs.append(scc)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    cycles = []
    for scc in sccs:  # the shortest way from the component's first module back to it
        start = min(scc)
        prev: dict[str, str] = {}  # breadth-first search: module -> the one it was reached from
        frontier = [start]
        while start not in prev:
            reached = []
            for v in frontier:
                for w in sorted(graph[v] & scc):
                    if w not in prev:
                        prev[w] = v
                        reached.append(w)
            frontier = reached
        back = [start]
        while (v := prev[back[-1]]) != start:
            back.append(v)
        cycles.append([start, *reversed(back[1:]), start])
    return cycles


def test_import_cycles_are_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c", "a"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_type_checking_imports_are_not_dependencies():
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\nelse:\n    import b\nimport c")
    names = {a.name for n in _runtime_nodes(tree) if isinstance(n, ast.Import) for a in n.names}
    assert names == {"b", "c"}


def test_relative_imports_are_resolved():
    assert f"{PKG}.cohort" in GRAPH[f"{PKG}.runner"]  # from .cohort import ...
    assert f"{PKG}.store" in GRAPH[f"{PKG}.analysis.tables"]  # from ..store import ...
    assert f"{PKG}.train.population" in GRAPH[f"{PKG}.train"]  # a package's __init__: from .population
    assert f"{PKG}.errors" in GRAPH[PKG]  # inside a function: load()


def test_config_imports_no_registry():
    assert not {m for m in GRAPH[f"{PKG}.config"] if layer_of(m) >= LAYER["tasks"]}


def test_no_import_cycles():
    cycles = import_cycles(GRAPH)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)
