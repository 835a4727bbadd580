"""Latency of the live-demo interactions on Cranfield (225 queries x 1,400 documents).

    python benchmarks/interaction.py [--repeat 30] [--save]

- slider: one alpha move of the alpha slider's computation (AlphaLab.state: fuse all 225 queries,
  nDCG@10 for every query, the chosen query's top 10), min-max and RRF; the widget redraw is not included;
- typed query: one new query through BM25, SPLADE, dense and the hybrid (lab.explore), encoders warm.
Prints a table of medians and, last, one JSON line; ``--save`` writes benchmarks/results/interaction.json.
"""

from __future__ import annotations

import common  # first: the environment flags, before anything imports tqdm or Hugging Face code

import numpy as np

import splade_helpers as sh
from splade_helpers.lab import AlphaLab, explore
from splade_helpers.timing import Stopwatch

QUERIES = ["heat transfer in hypersonic flow", "buckling of thin cylindrical shells under pressure",
           "how does a shock wave interact with a boundary layer", "flutter of swept wings", "laminar to turbulent transition"]
TARGETS = {"slider_minmax_ms": ("<=", 50.0), "slider_rrf_ms": ("<=", 50.0), "typed_query_ms": ("<=", 200.0)}


def median_ms(fn, args_list) -> float:
    """Median milliseconds of ``fn(*args)`` over the argument tuples."""
    watch = Stopwatch()
    for args in args_list:
        with watch:
            fn(*args)
    return watch.median * 1e3


def main() -> None:
    args = common.parser(__doc__, repeat=30).parse_args()
    ds = sh.load_dataset(args.dataset)
    retrievers = {"bm25": sh.BM25Retriever(), "splade": sh.SpladeRetriever(), "dense": sh.DenseRetriever()}
    scores = {n: r.index(ds.doc_ids, ds.doc_texts).scores(ds.query_texts) for n, r in retrievers.items()}
    lab = AlphaLab(ds, scores)
    rng = np.random.default_rng(0)
    alphas = [(float(a),) for a in rng.choice(lab.alphas, size=args.repeat)]
    figures = {}
    for fusion in ("minmax", "rrf"):
        lab.state(0.5, fusion)  # warm: each fusion's normalisation computed once per session
        figures[f"slider_{fusion}_ms"] = round(median_ms(lambda a, f=fusion: lab.state(a, f, ds.query_ids[0]), alphas), 1)
    explore(QUERIES[0], retrievers)  # warm the encoders
    typed = [(QUERIES[i % len(QUERIES)] + f" {i}",) for i in range(args.repeat)]
    figures["typed_query_ms"] = round(median_ms(lambda q: explore(q, retrievers), typed), 1)
    judged = common.judge(figures, TARGETS)
    print(f"{args.dataset}: {len(ds.query_ids)} queries x {len(ds.doc_ids)} documents, median of {args.repeat}")
    for name in figures:
        print(f"  {common.verdict(name, judged)}")
    common.finish("interaction", {"dataset": args.dataset, "queries": len(ds.query_ids), "docs": len(ds.doc_ids),
                                  "repeat": args.repeat, **judged}, args.save)


if __name__ == "__main__":
    main()
