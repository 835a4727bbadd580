"""Latency of the live-demo interactions on Cranfield (225 queries x 1,400 documents).

    python benchmarks/interaction.py [--repeat 30]

- slider: one alpha move of the alpha slider's computation (AlphaLab.state: fuse all 225 queries,
  nDCG@10 for every query, the chosen query's top 10), min-max and RRF; the widget redraw is not included;
- typed query: one new query through BM25, SPLADE, dense and the hybrid (lab.explore), encoders warm.
Prints a table of medians and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

import numpy as np  # noqa: E402

import splade_helpers as sh  # noqa: E402
from splade_helpers.lab import AlphaLab, explore  # noqa: E402

QUERIES = ["heat transfer in hypersonic flow", "buckling of thin cylindrical shells under pressure",
           "how does a shock wave interact with a boundary layer", "flutter of swept wings", "laminar to turbulent transition"]


def median_ms(fn, args_list) -> float:
    times = []
    for args in args_list:
        start = time.perf_counter()
        fn(*args)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--dataset", default="cranfield")
    args = parser.parse_args()
    ds = sh.load_dataset(args.dataset)
    retrievers = {"bm25": sh.BM25Retriever(), "splade": sh.SpladeRetriever(), "dense": sh.DenseRetriever()}
    scores = {n: r.index(ds.doc_ids, ds.doc_texts).scores(ds.query_texts) for n, r in retrievers.items()}
    lab = AlphaLab(ds, scores)
    rng = np.random.default_rng(0)
    alphas = [(float(a),) for a in rng.choice(lab.alphas, size=args.repeat)]
    results = {}
    for method in ("minmax", "rrf"):
        lab.state(0.5, method)  # warm: per-method normalisation computed once per session
        results[f"slider_{method}_ms"] = median_ms(lambda a, m=method: lab.state(a, m, ds.query_ids[0]), alphas)
    explore(QUERIES[0], retrievers)  # warm the encoders
    typed = [(QUERIES[i % len(QUERIES)] + f" {i}",) for i in range(args.repeat)]
    results["typed_query_ms"] = median_ms(lambda q: explore(q, retrievers), typed)
    print(f"{args.dataset}: {len(ds.query_ids)} queries x {len(ds.doc_ids)} documents, median of {args.repeat}, {os.cpu_count()} cores")
    targets = {"slider_minmax_ms": 50, "slider_rrf_ms": 50, "typed_query_ms": 200}
    for name, value in results.items():
        print(f"  {name:<18}{value:8.1f} ms   (target <= {targets[name]} ms: {'met' if value <= targets[name] else 'NOT met'})")
    print(json.dumps({"benchmark": "interaction", "dataset": args.dataset, **{k: round(v, 1) for k, v in results.items()}}))


if __name__ == "__main__":
    main()
