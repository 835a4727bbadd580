"""Time every notebook end to end, as a learner runs it (Restart & Run All), warm or cold.

    python benchmarks/notebooks.py            # warm: the project's encoding cache as it is
    python benchmarks/notebooks.py --cold     # cold: a fresh, empty encoding cache
    python benchmarks/notebooks.py --only 00  # notebooks whose name starts with 00
    python benchmarks/notebooks.py --slowest 3  # also the three slowest cells of each notebook

Prints a table and, last, one JSON line with the figures. Nothing is written to the notebooks.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
ENV = {"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TQDM_DISABLE": "1",
       "TOKENIZERS_PARALLELISM": "false", "PLOTLY_RENDERER": "plotly_mimetype"}
TARGET_S = {"warm": 120, "cold": 480}  # the whole course with notebook 06 (training), as its issue set them


def run(path: Path) -> tuple[float, list[tuple[float, int, str]]]:
    """Seconds for the whole notebook (kernel start included) and (seconds, index, first line) per code cell."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=1800, kernel_name="python3", record_timing=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    cells = []
    for i, cell in enumerate(nb.cells):
        t = cell.get("metadata", {}).get("execution", {})
        if cell.cell_type == "code" and "iopub.execute_input" in t and "shell.execute_reply" in t:
            took = datetime.fromisoformat(t["shell.execute_reply"]) - datetime.fromisoformat(t["iopub.execute_input"])
            cells.append((took.total_seconds(), i, cell.source.strip().splitlines()[0][:60] if cell.source.strip() else ""))
    return seconds, cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cold", action="store_true", help="start from an empty encoding cache")
    parser.add_argument("--only", default="", help="run notebooks whose name starts with this")
    parser.add_argument("--slowest", type=int, default=0, metavar="K", help="also print the K slowest cells of each")
    args = parser.parse_args()
    os.environ.update(ENV)
    tmp = tempfile.TemporaryDirectory() if args.cold else None
    if tmp:
        os.environ["SPLADE_CACHE_DIR"] = tmp.name
    paths = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb") if p.name.startswith(args.only))
    times, slowest = {}, {}
    for p in paths:
        times[p.stem], cells = run(p)
        print(f"{p.stem:<28}{times[p.stem]:8.1f} s", flush=True)
        slowest[p.stem] = sorted(cells, reverse=True)[: args.slowest]
        for took, i, line in slowest[p.stem]:
            print(f"    cell {i:>2} {took:6.1f} s  {line}")
    total = sum(times.values())
    target = TARGET_S["cold" if args.cold else "warm"] if not args.only else None  # targets are for the whole course
    verdict = "" if target is None else f"; target <= {target} s: {'met' if total <= target else 'NOT met'}"
    print(f"{'total':<28}{total:8.1f} s  ({'cold' if args.cold else 'warm'} cache, {os.cpu_count()} cores{verdict})")
    print(json.dumps({"benchmark": "notebooks", "cache": "cold" if args.cold else "warm", "cores": os.cpu_count(),
                      "machine": platform.machine(), "seconds": {k: round(v, 1) for k, v in times.items()},
                      "total_s": round(total, 1), "target_s": target,
                      "target_met": None if target is None else total <= target,
                      "slowest_cells": {k: [[i, round(t, 1)] for t, i, _ in v] for k, v in slowest.items()}}))
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
