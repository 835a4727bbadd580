"""Run a learner's function in a fresh Python process: its own source, plus the names it uses.

What a kernel restart would do to an answer (``hash`` of a string changes, variables are gone),
without restarting the learner's kernel. The program sent is the function's own source (a ``def``
block, or a lambda's text cut out of its line with :mod:`ast`), preceded by the modules, simple
values (str, int, float, bool, None, UUID), library functions and other functions of the notebook
it refers to.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import subprocess
import sys
import textwrap
import types
import uuid
from collections.abc import Callable

SIMPLE = (str, int, float, bool, bytes, type(None))


class NotSelfContained(Exception):
    """The function cannot be sent to another process; the text says why, for the learner."""


def _lambda_source(fn: Callable, name: str) -> str:
    """The text of a lambda alone (``inspect.getsource`` gives its whole line, assignment or call included)."""
    code = fn.__code__
    try:
        lines, _ = inspect.findsource(fn)
        tree = ast.parse("".join(lines))
    except (OSError, TypeError, SyntaxError, ValueError):
        raise NotSelfContained("its source is not available (define it with def or lambda in a cell)") from None
    text = "".join(lines)
    found = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda) and n.lineno == code.co_firstlineno
             and [a.arg for a in n.args.posonlyargs + n.args.args] == list(code.co_varnames[:code.co_argcount])]
    # the instructions' positions lie inside the lambda's own text: keep the innermost node holding them all
    spans = [p for p in code.co_positions() if None not in p and (p[0], p[2]) != (p[1], p[3])]
    inside = [n for n in found if all((n.lineno, n.col_offset) <= (a, c) and (b, d) <= (n.end_lineno, n.end_col_offset)
                                      for a, b, c, d in spans)]
    if not inside:
        raise NotSelfContained("its source could not be found in its cell (define it with def in a cell)")
    node = min(inside, key=lambda n: (n.end_lineno - n.lineno, n.end_col_offset - n.col_offset))
    return f"{name} = (\n{ast.get_source_segment(text, node)}\n)\n"


def _source(fn: Callable, name: str) -> str:
    """Source that defines ``fn`` as ``name``."""
    if fn.__name__ == "<lambda>":
        return _lambda_source(fn, name)
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        raise NotSelfContained("its source is not available (define it with def in a cell)") from None
    return f"{source}\n{name} = {fn.__name__}\n"


def _names(code: types.CodeType) -> list[str]:
    """Global names a code object and the code nested in it (comprehensions, inner functions) look up."""
    names = list(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names += [n for n in _names(const) if n not in names]
    return names


def _importable(value: object) -> str | None:
    """``from module import name`` for a library function or class, if that import gives back ``value``."""
    module, qualname = getattr(value, "__module__", None), getattr(value, "__qualname__", "")
    if not module or module == "__main__" or "<" in qualname or "." in qualname:
        return None
    return module if getattr(sys.modules.get(module), qualname, None) is value else None


def program_lines(fn: Callable, name: str, seen: set[int] | None = None) -> list[str]:
    """Lines of a program that defines ``fn`` as ``name``, with what it refers to defined first."""
    seen = set() if seen is None else seen
    seen.add(id(fn))
    code = fn.__code__
    cells = dict(zip(code.co_freevars, (c.cell_contents for c in fn.__closure__ or ())))
    lines: list[str] = []
    for ref in _names(code) + list(cells):
        value = cells[ref] if ref in cells else fn.__globals__.get(ref, fn.__globals__)
        if value is fn.__globals__ or id(value) in seen:  # not a global (an attribute name, a built-in) or done
            continue
        if isinstance(value, (dict, list, set)):
            raise NotSelfContained(
                f"it keeps ids in the variable {ref!r} ({type(value).__name__}); a variable is lost when the kernel "
                f"restarts, and new random ids would duplicate every point: derive the id from the document id alone")
        if isinstance(value, types.ModuleType):
            lines.append(f"import {value.__name__} as {ref}")
        elif isinstance(value, SIMPLE) or (isinstance(value, (tuple, frozenset)) and all(isinstance(v, SIMPLE) for v in value)):
            lines.append(f"{ref} = {value!r}")
        elif isinstance(value, uuid.UUID):
            lines.append(f"import uuid as _uuid\n{ref} = _uuid.UUID({str(value)!r})")
        elif isinstance(value, types.FunctionType) and (value.__module__ == fn.__module__ or _importable(value) is None):
            lines += program_lines(value, ref, seen)  # another function of the notebook: send its source too
        elif (module := _importable(value)) is not None:
            lines.append(f"from {module} import {value.__qualname__} as {ref}")
    return [*lines, _source(fn, name)]


def run_in_fresh_process(fn: Callable, args: list[str], timeout: float = 60) -> list[str]:
    """``str(fn(a))`` for each of ``args``, computed in a new Python process with another string-hash seed.

    Raises:
        NotSelfContained: with a sentence for the learner when the function cannot run there.
    """
    if not isinstance(fn, types.FunctionType):
        raise NotSelfContained("it is not a plain function (define it with def or lambda in a cell)")
    program = "\n".join([*program_lines(fn, "_answer"), "import json as _json, sys as _sys",
                         "print(_json.dumps([str(_answer(a)) for a in _json.loads(_sys.argv[1])]))"])
    seed = "54321" if os.environ.get("PYTHONHASHSEED") == "12345" else "12345"  # never the current process's seed
    try:
        proc = subprocess.run([sys.executable, "-c", program, json.dumps(args)], capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise NotSelfContained(f"it did not finish within {timeout:.0f} s in a fresh Python process") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        raise NotSelfContained(f"it could not run on its own in a fresh Python process ({last}); import or define "
                               f"what it needs inside it")
    return json.loads(proc.stdout.strip().splitlines()[-1])
