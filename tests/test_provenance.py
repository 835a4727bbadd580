"""Provenance, d2l's habit: each public helper's docstring says which notebook introduces it.

The line reads ``Introduced in notebook 02 (section 3, "Max pooling").`` (the first notebook, in course order,
whose code cells use the helper, and the H2 section of that first use) or, for a name in an ``__all__`` that no
notebook calls, ``Not called by the notebooks; used by <who>.`` A constant, which has no docstring, carries the
line as a ``#:`` comment right above its assignment. The lines are checked against the notebooks' code cells, so
moving a helper's first use to another notebook or section, or renaming that section, fails here until the
docstring says so.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import splade_helpers as sh

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
# Packages whose ``__all__`` is public API besides the top level's, and modules the notebooks reach through an alias.
PACKAGES = ("qdrant", "training", "exercises", "kernels")
MODULES = ("plots", "widgets", "lab", "inverted_index", "inference_free")
INTRODUCED = re.compile(r"Introduced in notebook (\w+) \((.+)\)\.")
NOT_CALLED = re.compile(r"Not called by the notebooks; used by .+\.")
SETUP_CELL = "the imports and settings cell"  # the code before the first H2


@dataclass
class Notebook:
    number: str  # "05a"
    path: Path
    uses: dict[int, str] = field(default_factory=dict)  # id(object) -> H2 heading of its first use
    names: dict[int, set[str]] = field(default_factory=dict)  # id(object) -> the attribute names it was reached by
    objects: list[object] = field(default_factory=list)  # every object reached, to resolve the ids


def course_order(path: Path) -> tuple[int, str]:
    number = path.name.split("_")[0]
    return int(number.rstrip("abcdefghijklmnopqrstuvwxyz")), number


def _chain(node: ast.AST) -> list[str] | None:
    """``sh.qdrant.open_store`` -> ["sh", "qdrant", "open_store"]; None for anything but names and attributes."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


def _import(module: str, name: str) -> object | None:
    """``from module import name``: an attribute of the module, its submodule, or None (the notebook's own tests
    report a name the package lacks)."""
    try:
        return getattr(importlib.import_module(module), name)
    except AttributeError:
        try:
            return importlib.import_module(f"{module}.{name}")
        except ModuleNotFoundError:
            return None


def read_notebook(path: Path) -> Notebook:
    """Which package objects each code cell reaches (through ``import splade_helpers ...`` names), and in which H2."""
    nb = Notebook(path.name.split("_")[0], path)
    aliases: dict[str, object] = {}  # local name -> the package object it was imported as
    heading = ""
    for cell in json.loads(path.read_text())["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            for line in source.splitlines():
                if line.startswith("## ") and line[3:].strip() != "References":  # a bibliography holds no lesson code
                    heading = line[3:].strip()
            continue
        if cell["cell_type"] != "code":
            continue
        code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
        tree = ast.parse(code)
        for node in ast.walk(tree):  # imports first, so that a cell's own import binds its names
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "splade_helpers":
                        module = importlib.import_module(alias.name)
                        aliases[alias.asname or alias.name.split(".")[0]] = module if alias.asname else sh
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "splade_helpers":
                for alias in node.names:
                    if (obj := _import(node.module, alias.name)) is not None:
                        aliases[alias.asname or alias.name] = obj
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Attribute, ast.Name)) or not isinstance(getattr(node, "ctx", None), ast.Load):
                continue
            parts = _chain(node)
            if not parts or parts[0] not in aliases:
                continue
            obj, reached = aliases[parts[0]], [(aliases[parts[0]], parts[0])]
            for part in parts[1:]:
                obj = getattr(obj, part, None)
                if obj is None:
                    break
                reached.append((obj, part))
            for obj, name in reached:
                if id(obj) not in nb.uses:
                    nb.uses[id(obj)] = heading
                    nb.objects.append(obj)
                nb.names.setdefault(id(obj), set()).add(name)
    return nb


def introduced_line(number: str, heading: str) -> str:
    """The line a helper first used under ``heading`` of notebook ``number`` carries."""
    if not heading:
        return f"Introduced in notebook {number} ({SETUP_CELL})."
    numbered = re.fullmatch(r"(\d+)\.\s+(.+)", heading)
    where = f'section {numbered[1]}, "{numbered[2]}"' if numbered else f'section "{heading}"'
    return f"Introduced in notebook {number} ({where})."


def _is_helper(obj: object) -> bool:
    return inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismodule(obj)


def public_helpers() -> dict[int, tuple[str, object, str, bool]]:
    """id(object) -> (how a notebook reaches it, the object, its name, whether it must carry a line).

    Required: every name in ``splade_helpers.__all__`` and the functions and classes in the ``__all__`` of
    :data:`PACKAGES`. Covered when a notebook uses them: the public functions and classes of :data:`MODULES`.
    """
    out: dict[int, tuple[str, object, str, bool]] = {}
    for name in sh.__all__:
        out[id(getattr(sh, name))] = (f"sh.{name}", getattr(sh, name), name, True)
    for package in PACKAGES:
        module = importlib.import_module(f"splade_helpers.{package}")
        for name in module.__all__:
            obj = getattr(module, name)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and id(obj) not in out:
                out[id(obj)] = (f"sh.{package}.{name}", obj, name, True)
    for short in MODULES:
        module = importlib.import_module(f"splade_helpers.{short}")
        for name, obj in vars(module).items():
            if name.startswith("_") or id(obj) in out:
                continue
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == module.__name__:
                out[id(obj)] = (f"sh.{short}.{name}", obj, name, False)
    return out


HELPERS = public_helpers()


def _constant_comment(name: str, obj: object) -> str:
    """The ``#:`` comment right above the module-level assignment that defines the constant ``name``."""
    found = []
    for path in sorted(Path(sh.__file__).parent.rglob("*.py")):
        source = path.read_text()
        for node in ast.parse(source).body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                above = source.splitlines()[node.lineno - 2] if node.lineno > 1 else ""
                found.append(above.strip().removeprefix("#:").strip() if above.lstrip().startswith("#:") else "")
    assert len(found) == 1, f"{name} is assigned at module level {len(found)} times in splade_helpers; expected once"
    return found[0]


def provenance(obj: object, name: str) -> list[str]:
    """Every provenance line of a helper: from its docstring, or from the ``#:`` comment above a constant."""
    text = (obj.__doc__ or "") if _is_helper(obj) else _constant_comment(name, obj)
    lines = [line.strip() for line in text.splitlines()]
    return [line for line in lines if INTRODUCED.fullmatch(line) or NOT_CALLED.fullmatch(line)]


@pytest.fixture(scope="module")
def course() -> list[Notebook]:
    paths = sorted(NOTEBOOKS.glob("[0-9]*.ipynb"), key=course_order)
    assert [p.name.split("_")[0] for p in paths][:2] == ["00", "01"], f"no course notebooks in {NOTEBOOKS}"
    return [read_notebook(p) for p in paths]


def first_use(course: list[Notebook], obj: object, name: str) -> tuple[Notebook, str] | None:
    """The first notebook, in course order, whose code cells use ``obj`` (a constant: by its own name), and the H2."""
    for nb in course:
        if id(obj) in nb.uses and (_is_helper(obj) or name in nb.names[id(obj)]):
            return nb, nb.uses[id(obj)]
    return None


def test_course_order_puts_appendices_after_their_lesson():
    names = ["06_training.ipynb", "05a_qdrant_operations.ipynb", "05_qdrant_storage.ipynb", "00_quickstart.ipynb"]
    assert sorted(names, key=lambda n: course_order(Path(n))) == [names[3], names[2], names[1], names[0]]


def test_headings_become_sections():
    assert introduced_line("02", "3. Max pooling") == 'Introduced in notebook 02 (section 3, "Max pooling").'
    assert introduced_line("00", "Exercises") == 'Introduced in notebook 00 (section "Exercises").'
    assert introduced_line("00", "") == f"Introduced in notebook 00 ({SETUP_CELL})."


def test_every_exported_name_has_one_line():
    missing = [label for label, obj, name, required in HELPERS.values() if required and len(provenance(obj, name)) != 1]
    assert not missing, (
        f"{missing}: each needs exactly one line 'Introduced in notebook NN (section N, \"Title\").' or "
        "'Not called by the notebooks; used by <who>.' after its docstring's summary (a constant: a '#:' comment "
        "right above its assignment)"
    )


@pytest.mark.parametrize("label", sorted(label for label, *_ in HELPERS.values()))
def test_line_names_the_first_use(course, label):
    _, obj, name, _ = next(h for h in HELPERS.values() if h[0] == label)
    lines = provenance(obj, name)
    if not lines:
        return  # a public function outside every __all__ that no notebook uses: nothing to check (see the next test)
    first = first_use(course, obj, name)
    numbers = [nb.number for nb in course]
    if match := INTRODUCED.fullmatch(lines[0]):
        assert match[1] in numbers, f"{label}: {lines[0]!r} names notebook {match[1]}, but notebooks/ has {numbers}"
        assert first is not None, f"{label}: {lines[0]!r}, but no notebook's code cells use it"
        nb, heading = first
        assert lines[0] == introduced_line(nb.number, heading), (
            f"{label}: the docstring says {lines[0]!r}, but it is first used in {nb.path.name} under "
            f"{heading or 'no H2'!r}: write {introduced_line(nb.number, heading)!r}"
        )
    else:
        assert first is None, (
            f"{label}: {lines[0]!r}, but {first[0].path.name} uses it under {first[1] or 'no H2'!r}: write "
            f"{introduced_line(first[0].number, first[1])!r}"
        )


def _package_function_or_class(obj: object) -> bool:
    """A function or class defined at the top level of a ``splade_helpers`` module (not a method, not a library's)."""
    if not (inspect.isfunction(obj) or inspect.isclass(obj)) or obj.__module__.split(".")[0] != "splade_helpers":
        return False
    return getattr(sys.modules.get(obj.__module__), obj.__qualname__, None) is obj


def test_every_helper_a_notebook_uses_has_a_line(course):
    """A function or class of the package that a notebook reaches, exported or not, says where it is introduced."""
    missing = sorted({f"{obj.__module__}.{obj.__qualname__}" for nb in course for obj in nb.objects
                      if _package_function_or_class(obj)
                      and not any(INTRODUCED.fullmatch(line) for line in provenance(obj, obj.__name__))})
    assert not missing, f"{missing}: used by a notebook, but the docstring has no 'Introduced in notebook ...' line"
