"""What every benchmark shares: the environment, the machine's description, arguments, targets and saving.

Import it first, before numpy, torch or the package (``import common``; the scripts run from their folder):
it sets ``splade_helpers.course.TEST_ENV`` (offline models, no progress bars) with ``os.environ.setdefault``,
so a value already in the environment wins. tqdm and huggingface_hub read these flags when first imported,
and importing ``splade_helpers`` imports tqdm: the flags are therefore read from ``course.py`` by path.

Time with ``splade_helpers.timing`` (``Stopwatch``, ``timeit``). A script ends with ``finish(...)``: one JSON line
on stdout, and with ``--save`` the same result in ``benchmarks/results/<name>.json``, from which
``python benchmarks/report.py`` writes ``docs/performance.md``. A result describes the current code only.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import operator
import os
import platform
import shlex
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def _test_env() -> dict[str, str]:
    """``TEST_ENV`` from ``splade_helpers/course.py``, without importing the package (which imports tqdm)."""
    spec = importlib.util.spec_from_file_location("_course_settings", ROOT / "splade_helpers" / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.TEST_ENV)


TEST_ENV = _test_env()
_too_late = sorted(m for m in ("tqdm", "huggingface_hub", "transformers") if m in sys.modules)
if _too_late:
    warnings.warn(f"benchmarks/common.py was imported after {', '.join(_too_late)}: their settings from TEST_ENV may "
                  "not apply; import common first.", stacklevel=2)
for _name, _value in TEST_ENV.items():
    os.environ.setdefault(_name, _value)

OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}
_LOAD_AT_START = os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def cpu_model() -> str | None:
    """The CPU's model name from /proc/cpuinfo (Linux), or None where that file is missing."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.lower().startswith("model name") and ":" in line:
            return " ".join(line.split(":", 1)[1].split())
    return None


def machine_info() -> dict:
    """Cores, architecture, CPU model, Python version, torch's thread count (as set when this is called) and load.

    ``load_average``: the 1-minute load average when the script started and now; above the number of
    cores, other work competed with the benchmark for the CPU.
    """
    import torch

    load = [_LOAD_AT_START, os.getloadavg()[0]] if _LOAD_AT_START is not None else None
    return {"cpus": os.cpu_count(), "machine": platform.machine(), "cpu_model": cpu_model(),
            "python": platform.python_version(), "torch_threads": torch.get_num_threads(),
            "load_average": None if load is None else [round(x, 1) for x in load]}


def parser(doc: str, *, repeat: int | None = None, dataset: bool = True) -> argparse.ArgumentParser:
    """An argument parser with the shared options: ``--save [FILE]``, and ``--repeat N`` / ``--dataset NAME`` if asked."""
    p = argparse.ArgumentParser(description=doc.strip().split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--save", nargs="?", const="", default=None, metavar="FILE",
                   help="also write the result as JSON (default file: benchmarks/results/<benchmark>.json)")
    if repeat is not None:
        p.add_argument("--repeat", type=int, default=repeat, help=f"timed rounds; the median is reported (default {repeat})")
    if dataset:
        p.add_argument("--dataset", default="cranfield", help="a dataset splade_helpers.load_dataset knows (default cranfield)")
    return p


def command() -> str:
    """The command line that ran this script, from the project root (stored with its result)."""
    script = Path(sys.argv[0]).resolve()
    try:
        script = script.relative_to(ROOT)
    except ValueError:
        pass
    return shlex.join(["python", script.as_posix(), *sys.argv[1:]])


def judge(figures: dict[str, float], targets: dict[str, tuple[str, float]]) -> dict:
    """``figures``, ``targets`` (name -> [op, bound]) and whether each is ``met``, for the figures that were measured."""
    for name, (op, _) in targets.items():
        if op not in OPS:
            raise ValueError(f"target {name!r} has op {op!r}; use one of {', '.join(OPS)}.")
    met = {k: OPS[targets[k][0]](v, targets[k][1]) for k, v in figures.items() if k in targets}
    return {"figures": figures, "targets": {k: list(v) for k, v in targets.items()}, "met": met,
            "targets_met": bool(met) and all(met.values())}


def verdict(name: str, result: dict) -> str:
    """One printed line per target: figure, target, met or NOT met."""
    op, bound = result["targets"][name]
    return f"{name} = {result['figures'][name]:g} (target {op} {bound:g}): {'met' if result['met'][name] else 'NOT met'}"


def save(name: str, result: dict, path: str | Path | None = None) -> Path:
    """Write ``result`` as JSON (indent 1) to ``path`` or ``benchmarks/results/<name>.json``.

    Keys keep the order in which the script builds them (fixed by its code, so deterministic): notebooks
    print some of these dicts in their order (05 its targets), which sorting would change.
    """
    path = result_path(name, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    return path


def result_path(name: str, path: str | Path | None = None) -> Path:
    """Where ``--save`` writes a result: ``path``, or ``benchmarks/results/<name>.json``."""
    return Path(path) if path else RESULTS / f"{name}.json"


def finish(name: str, result: dict, save_to: str | None, *, stem: str | None = None) -> dict:
    """Complete ``result`` (benchmark name, machine, command), save it if ``--save`` was given, print it as the last line.

    Args:
        save_to: ``args.save``: None (not asked), ``""`` (the default file) or a path.
        stem: the default file's name when one benchmark stores several results (default ``name``).
    """
    result = {"benchmark": name, "machine": machine_info(), "command": command(), **result}
    if save_to is not None:
        print(f"saved {save(stem or name, result, save_to or None)}", file=sys.stderr)
    print(json.dumps(result))
    return result
