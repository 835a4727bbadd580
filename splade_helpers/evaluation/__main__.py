"""Compare retrievers on a test collection.

    python -m splade_helpers.evaluation --dataset cranfield|mini|PATH_TO_BEIR_FOLDER \\
        [--retrievers bm25,splade,dense,hybrid] [--json FILE] [--no-cache] \\
        [--backend memory|qdrant|edge|local|server] [--splade-model NAME_OR_FOLDER]

Prints one row per retriever (nDCG@10, R@100, MRR@10 over the judged queries, and the seconds
spent encoding in this run: near 0 when the encodings come from the on-disk cache).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ..datasets import available_datasets, load_dataset
from ..fusion import ENGINE_HYBRID
from ..retrievers import RETRIEVERS
from ..folders import check_output_file, write_file
from .compare import BACKENDS, compare_retrievers, format_table, hybrid_label


MADE_BY = "splade_helpers.evaluation"


def ours(path: Path) -> bool:
    """Whether ``path`` is a results file this command wrote (so ``--json`` may replace it)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8")) if path.stat().st_size < 2**28 else None
    except (OSError, ValueError):
        return False
    legacy = {"dataset", "k", "backend", "results"}  # written before the mark existed
    return isinstance(record, dict) and (record.get("made_by") == MADE_BY or legacy <= set(record))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m splade_helpers.evaluation", description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="cranfield", help=f"one of {available_datasets()} or a BEIR folder")
    parser.add_argument("--retrievers", default=",".join(RETRIEVERS), help="comma-separated subset of " + ",".join(RETRIEVERS))
    parser.add_argument("--json", metavar="FILE", help="also write the rows (with per-query metrics) as JSON")
    parser.add_argument("--k", type=int, default=100, help="documents retrieved per query (default 100)")
    parser.add_argument("--no-cache", action="store_true", help="encode from scratch, ignoring the on-disk cache")
    parser.add_argument("--backend", default="memory", choices=BACKENDS,
                        help="memory (every document scored in this process); or an engine searched as deployed (each "
                             "vector's top k, the hybrid fused by the engine): qdrant (a server if QDRANT_URL is set, "
                             "else Qdrant Edge), edge, local (qdrant-client's local mode), server")
    parser.add_argument("--splade-model", default=None, help="SPLADE hub id or folder (e.g. one made by splade_helpers.train)")
    args = parser.parse_args(argv)
    try:
        if args.json:  # before the run, not after it; an existing file only if this command wrote it
            json_path = check_output_file(args.json, "--json", ours)
        dataset = load_dataset(args.dataset)
        rows = compare_retrievers(dataset, args.retrievers, args.k, cache=not args.no_cache, backend=args.backend,
                                  splade_model=args.splade_model)
    except (ValueError, TypeError, RuntimeError, ConnectionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{dataset!r}; {rows[0]['queries']} judged queries, top {args.k} per query, backend {args.backend}")
    print(format_table(rows))
    if any(r["retriever"] == hybrid_label("engine") for r in rows):
        fusion = ENGINE_HYBRID
        print(f"{hybrid_label('engine')}: fused inside the engine, {fusion['fusion'].upper()} over each top "
              f"{fusion['prefetch_limit']} of {', '.join(fusion['vectors'])} (what a deployment runs); "
              f"{hybrid_label('memory')}: the recommended hybrid over every document's score, in memory, for comparison.")
    if args.json:
        record = {"made_by": MADE_BY, "dataset": dataset.name, "k": args.k, "backend": args.backend, "results": rows}
        try:
            write_file(json_path, json.dumps(record, indent=1), "--json")
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
