"""The package's layers (CONTRIBUTING.md, "The package's layers"): a module never imports from a layer above its own.

Every import is read from the source (at module level, inside functions, under ``TYPE_CHECKING``), so a lazy import
that climbs a layer is caught too. The one exception CONTRIBUTING.md names is allowed: evaluation's
``compare_retrievers(..., backend=...)`` imports ``qdrant`` inside the call.
"""

import ast
import graphlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "splade_helpers"

LAYERS = {
    1: ("validation", "course", "cache", "timing", "folders", "integrity"),
    2: ("kernels",),
    3: ("models", "bm25", "sparse", "dense", "inference_free"),
    4: ("expansion", "fusion", "article", "tuning", "label_budget", "inverted_index", "datasets", "training_record"),
    5: ("retrievers",),
    6: ("evaluation",),
    7: ("lab", "plots", "widgets", "exercises"),
    8: ("qdrant",),
    9: ("training",),
}
LAYER = {name: n for n, names in LAYERS.items() for name in names}
ALLOWED_UPWARD = {("evaluation/compare.py", "qdrant")}  # lazy, inside compare_retrievers (and for type hints)


def imported_parts(path: Path) -> list[tuple[int, str]]:
    """(line, first part under splade_helpers) of every package import in ``path``, relative ones resolved."""
    rel = path.relative_to(PACKAGE)
    package = list(rel.parts[:-1])  # the package the module lives in, as parts under splade_helpers
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - node.level + 1]
            names = node.module.split(".") if node.module else []
            targets = [base + names] if names else [base + [a.name] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "splade_helpers":
            targets = [node.module.split(".")[1:] or [a.name for a in node.names][:1]]
        elif isinstance(node, ast.Import):
            targets = [a.name.split(".")[1:] for a in node.names if a.name.split(".")[0] == "splade_helpers"]
        else:
            continue
        found += [(node.lineno, t[0]) for t in targets if t]
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py")


def test_every_module_has_a_layer():
    tops = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in MODULES}
    assert tops == set(LAYER), f"add to LAYERS (and to CONTRIBUTING.md): {sorted(tops - set(LAYER))}; gone: {sorted(set(LAYER) - tops)}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_module_imports_from_a_layer_above(path):
    rel = path.relative_to(PACKAGE)
    own = LAYER[rel.parts[0].removesuffix(".py")]
    upward = [f"line {line}: {target} (layer {LAYER[target]})" for line, target in imported_parts(path)
              if LAYER.get(target, 0) > own and (rel.as_posix(), target) not in ALLOWED_UPWARD]
    assert not upward, f"{rel} is in layer {own} and imports from above: {upward}"


def test_the_check_sees_lazy_and_relative_imports():
    """The reader resolves ``from ..x import y`` and finds imports inside functions (so the test above can fail)."""
    module = PACKAGE / "evaluation" / "compare.py"
    tree = ast.parse(module.read_text(encoding="utf-8"))
    bodies = [range(f.lineno, f.end_lineno + 1) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)]
    found = imported_parts(module)
    assert {"retrievers", "datasets"} <= {target for _, target in found}
    assert any(target == "qdrant" and any(line in body for body in bodies) for line, target in found)


def test_contributing_lists_the_same_layers():
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text.split("## The package's layers", 1)[1].split("\n## ", 1)[0]
    items = dict(re.findall(r"^(\d+)\. (.*?)(?=^\d+\. |\Z)", section, flags=re.M | re.S))
    for n, names in LAYERS.items():
        for name in names:
            assert re.search(rf"`{name}/?`", items[str(n)]), f"CONTRIBUTING.md's layer {n} does not name `{name}`"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_level(tree: ast.Module) -> list[ast.stmt]:
    """The statements run when the module is imported: its body, into ``if`` / ``try`` blocks (not ``TYPE_CHECKING``),
    not into functions."""
    out, todo = [], list(tree.body)
    while todo:
        node = todo.pop()
        out.append(node)
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            continue  # never runs
        if isinstance(node, (ast.If, ast.Try)):
            todo += [*node.body, *node.orelse, *getattr(node, "finalbody", []),
                     *(s for h in getattr(node, "handlers", []) for s in h.body)]
    return out


def test_no_import_cycle_at_module_level():
    """What a module imports when it is imported (not inside functions) forms no cycle between the package's modules."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        package = [p for p in package if p]
        edges = set()
        for node in module_level(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + (node.module.split(".") if node.module else []))
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "splade_helpers":
                target = node.module.removeprefix("splade_helpers").lstrip(".")
            else:
                continue
            names = {f"{target}.{a.name}".strip(".") for a in node.names}
            edges |= names if node.module is None else {target} | names  # "from .. import folders": the module
        graph[name] = {e for e in edges if e in modules and e != name}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle
