"""Time every notebook end to end, as a learner runs it (Restart & Run All), warm or cold.

    python benchmarks/notebooks.py            # warm: the project's encoding cache as it is
    python benchmarks/notebooks.py --cold     # cold: a fresh, empty encoding cache
    python benchmarks/notebooks.py --only 00  # notebooks whose name starts with 00

Prints a table and, last, one JSON line with the figures. Nothing is written to the notebooks.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
ENV = {"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TQDM_DISABLE": "1",
       "TOKENIZERS_PARALLELISM": "false", "PLOTLY_RENDERER": "plotly_mimetype"}


def run(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cold", action="store_true", help="start from an empty encoding cache")
    parser.add_argument("--only", default="", help="run notebooks whose name starts with this")
    args = parser.parse_args()
    os.environ.update(ENV)
    tmp = tempfile.TemporaryDirectory() if args.cold else None
    if tmp:
        os.environ["SPLADE_CACHE_DIR"] = tmp.name
    paths = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb") if p.name.startswith(args.only))
    times = {}
    for p in paths:
        times[p.stem] = run(p)
        print(f"{p.stem:<28}{times[p.stem]:8.1f} s", flush=True)
    total = sum(times.values())
    print(f"{'total':<28}{total:8.1f} s  ({'cold' if args.cold else 'warm'} cache, {os.cpu_count()} cores)")
    print(json.dumps({"benchmark": "notebooks", "cache": "cold" if args.cold else "warm", "cores": os.cpu_count(),
                      "machine": platform.machine(), "seconds": {k: round(v, 1) for k, v in times.items()},
                      "total_s": round(total, 1)}))
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
