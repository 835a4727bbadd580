"""Scoring every Cranfield query against every document, four ways, measured side by side.

    python benchmarks/search.py [--repeat 3] [--local-queries 25] [--save]

- package: one sparse matrix product, queries (CSR) @ documents (CSR).T;
- reference article: its dict-intersection loop, one (query, document) pair at a time;
- Qdrant Edge: one query per query vector on the splade vector (Qdrant's Rust engine in process);
- qdrant-client local mode: the same queries on a sample (pure Python, slow).
Same SPLADE vectors everywhere; top-10 lists are checked equal. Prints a table, then one JSON line;
``--save`` writes benchmarks/results/search.json.
"""

from __future__ import annotations

import common  # first: the environment flags, before anything imports tqdm or Hugging Face code

import numpy as np

import splade_helpers as sh
from splade_helpers import qdrant as q
from splade_helpers.timing import Stopwatch


def seed_scores(queries: list[dict], docs: list[dict]) -> np.ndarray:
    """The reference article's sparse dot product (dict intersection), for every pair."""
    out = np.zeros((len(queries), len(docs)))
    for i, qv in enumerate(queries):
        for j, dv in enumerate(docs):
            common_terms = set(qv) & set(dv)
            out[i, j] = sum(qv[t] * dv[t] for t in common_terms)
    return out


def main() -> None:
    parser = common.parser(__doc__, repeat=3)
    parser.add_argument("--local-queries", type=int, default=25)
    args = parser.parse_args()
    ds = sh.load_dataset(args.dataset)
    enc = sh.SpladeEncoder()
    D, Q = enc.encode_documents(ds.doc_texts), enc.encode_queries(ds.query_texts)
    as_dicts = lambda m: [dict(zip(m[i].indices.tolist(), m[i].data.tolist())) for i in range(m.shape[0])]  # noqa: E731
    qd, dd = as_dicts(Q), as_dicts(D)

    package, article = Stopwatch(), Stopwatch()
    for _ in range(args.repeat):
        with package:
            scores = (Q @ D.T).toarray()
    for _ in range(max(1, args.repeat // 3)):  # slow: a third of the rounds
        with article:
            article_scores = seed_scores(qd, dd)
    assert np.allclose(scores, article_scores, rtol=1e-5, atol=1e-5)

    top10 = [[ds.doc_ids[j] for j in row] for row in sh.fusion.top_k(scores, 10)]
    nq = len(ds.query_ids)
    per_query = {"package": package.median / nq, "article dict loop": article.median / nq}
    n_local = min(args.local_queries, nq)
    for engine, n in (("edge", nq), ("local", n_local)):
        with q.open_store(None, "bench", engine=engine, splade=enc) as store:
            store.index(ds.doc_ids, ds.doc_texts)
            vectors = store.query_vectors(ds.query_texts[:n], kinds=("splade",))["splade"]
            store.search("splade", vectors[0], limit=10)  # warm-up
            watch = Stopwatch()
            with watch:
                hits = [store.search("splade", v, limit=10) for v in vectors]
            for i, h in enumerate(hits):  # same documents, or a tie at the cut-off
                assert {d for d, _ in h} == set(top10[i]) or min(s for _, s in h) == sorted(scores[i])[-10], (engine, i)
            per_query[f"qdrant {engine}"] = watch.seconds / n
    print(f"{nq} queries x {len(ds.doc_ids)} documents (local mode: {n_local} queries), same SPLADE vectors, "
          f"same top 10")
    for name, sec in per_query.items():
        print(f"  {name:<18}{sec * 1e3:9.3f} ms per query   x{sec / per_query['package']:,.1f} the package's time")
    common.finish("search", {
        "dataset": args.dataset, "queries": nq, "docs": len(ds.doc_ids), "local_queries": n_local, "repeat": args.repeat,
        "ms_per_query": {k: round(v * 1e3, 4) for k, v in per_query.items()},
        "article_over_package": round(per_query["article dict loop"] / per_query["package"], 1),
        "edge_over_package": round(per_query["qdrant edge"] / per_query["package"], 1),
        "local_over_edge": round(per_query["qdrant local"] / per_query["qdrant edge"], 1)}, args.save)


if __name__ == "__main__":
    main()
