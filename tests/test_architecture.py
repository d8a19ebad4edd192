"""The layer order of docs/ARCHITECTURE.md, enforced on the source (AST, nothing imported).

Every ``import`` / ``from ... import`` in ``ccreco/`` counts, at module level or inside a
function or class, including those under ``if TYPE_CHECKING:`` (none are needed today), and so
does ``importlib.import_module("ccreco....")`` with a literal name. A
module may import from its own layer's subpackage (``ccreco.reco.core`` from
``ccreco.reco.batch``) and from any lower layer; never from a higher one or a sibling of the
same rank. Module-level imports must also form no cycle between modules.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "ccreco"

#: Rank of each top-level part of ``ccreco`` (lower ranks never import higher ones; parts of the
#: same rank never import each other). Mirrors the table in docs/ARCHITECTURE.md.
LAYERS: dict[str, float] = {
    "__init__": 0, "constants": 0, "errors": 0,
    "_extras": 0.25,
    "_progress": 0.5, "_outputs": 0.5, "_memory": 0.5, "geometry": 0.5, "config": 0.5, "plotting": 0.5,
    "io": 1, "kernels": 1,
    "sim": 2,
    "models": 3,
    "reco": 4,
    "analysis": 5, "hpo": 5,
    "cli": 6,
    "processors": 7, "__main__": 7,
}
#: Modules ranked apart from their subpackage. ``ccreco.analysis.metrics`` holds the metric
#: definitions (pure statistics on arrays, importing only ``kernels``) that training
#: (``models``) reports under the same names as ``ccreco evaluate``: it sits between ``kernels``
#: and ``sim``.
MODULE_LAYERS: dict[str, float] = {"ccreco.analysis.metrics": 1.5}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _resolve(module: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_pkg:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str, path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level) for every ccreco import of ``module``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_pkg = path.name == "__init__.py"
    top_level = {id(n) for n in tree.body}
    # statements directly under a module-level ``if``/``try`` still run at import time
    for n in tree.body:
        if isinstance(n, (ast.If, ast.Try)):
            for sub in ast.walk(n):
                top_level.add(id(sub))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")):
            names = [node.args[0].value]  # an import by name in a string is an edge too
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_pkg, node)
            # ``from ccreco.x import y`` may import the submodule ccreco.x.y
            names = [target] + [f"{target}.{a.name}" for a in node.names]
        if not names:
            continue
        for name in names:
            if name == "ccreco" or name.startswith("ccreco."):
                found.append((name, node.lineno, id(node) in top_level))
    return found


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


MODULES = _modules()


def test_every_part_has_a_layer() -> None:
    missing = sorted({_part(m) for m in MODULES} - set(LAYERS))
    assert not missing, f"add {missing} to LAYERS here and to docs/ARCHITECTURE.md"


def _layer(module: str) -> float:
    return MODULE_LAYERS.get(module, LAYERS[_part(module)])


def test_no_upward_or_sideways_import() -> None:
    bad = set()
    for module, path in MODULES.items():
        for target, line, _ in _imports(module, path):
            if target not in MODULES and target.rsplit(".", 1)[0] in MODULES:
                target = target.rsplit(".", 1)[0]  # ``from pkg import name`` of a non-module
            if target not in MODULES or target == "ccreco":
                continue
            same_part = _part(target) == _part(module)
            if same_part and module not in MODULE_LAYERS and target not in MODULE_LAYERS:
                continue
            if same_part and target == module.rsplit(".", 1)[0]:
                continue  # a module's own package ``__init__``
            if _layer(target) >= _layer(module):
                bad.add(f"{path.relative_to(ROOT)}:{line}: {module} (layer {_layer(module)}) "
                        f"imports {target} (layer {_layer(target)})")
    assert not bad, "imports against the layer order:\n" + "\n".join(sorted(bad))


def test_no_import_cycle_at_module_level() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in MODULES.items():
        for target, _, top in _imports(module, path):
            if not top:
                continue
            while target not in MODULES and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in MODULES and target != module and not module.startswith(target + "."):
                graph[module].add(target)
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycles.append(" -> ".join(stack[stack.index(t):] + [t]))
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(MODULES):
        if m not in state:
            visit(m)
    assert not cycles, "module-level import cycles:\n" + "\n".join(cycles)


def test_no_module_imports_the_top_level_processors_name() -> None:
    # the coffea processor is ``ccreco.processors``; a bare ``processors`` would pick up the
    # user's own analysis package of that name (the usual coffea layout)
    bad = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            bad += [f"{module}: {n}" for n in names if n == "processors" or n.startswith("processors.")]
    assert not bad, bad


@pytest.mark.parametrize("edge", [("ccreco.reco.batch", "ccreco.cli.reco")])
def test_the_checker_sees_a_function_level_upward_import(edge: tuple[str, str], tmp_path: Path) -> None:
    # guard against a checker that silently sees nothing
    src = "def f():\n    from ccreco.cli.reco import run\n"
    p = tmp_path / "batch.py"
    p.write_text(src)
    found = _imports(edge[0], p)
    assert (edge[1], 2, False) in found


def test_the_checker_sees_an_import_by_string(tmp_path: Path) -> None:
    p = tmp_path / "evaluate.py"
    p.write_text("import importlib\n\ndef f():\n    importlib.import_module('ccreco.cli.reco')\n")
    assert ("ccreco.cli.reco", 4, False) in _imports("ccreco.analysis.evaluate", p)
