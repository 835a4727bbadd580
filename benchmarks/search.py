"""Scoring every Cranfield query against every document, three ways, measured side by side.

    python benchmarks/search.py [--repeat 3] [--qdrant-queries 25]

- package: one sparse matrix product, queries (CSR) @ documents (CSR).T;
- seed: the seed's dict-intersection loop, one (query, document) pair at a time;
- Qdrant local mode: one query_points call per query on the splade vector (a sample of queries).
Same SPLADE vectors everywhere; results are checked equal. Prints a table, then one JSON line.
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
from splade_helpers import qdrant as q  # noqa: E402


def seed_scores(queries: list[dict], docs: list[dict]) -> np.ndarray:
    """The seed's sparse dot product (dict intersection), for every pair."""
    out = np.zeros((len(queries), len(docs)))
    for i, qv in enumerate(queries):
        for j, dv in enumerate(docs):
            common = set(qv) & set(dv)
            out[i, j] = sum(qv[t] * dv[t] for t in common)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--qdrant-queries", type=int, default=25)
    parser.add_argument("--dataset", default="cranfield")
    args = parser.parse_args()
    ds = sh.load_dataset(args.dataset)
    enc = sh.SpladeEncoder()
    D, Q = enc.encode_documents(ds.doc_texts), enc.encode_queries(ds.query_texts)
    as_dicts = lambda m: [dict(zip(m[i].indices.tolist(), m[i].data.tolist())) for i in range(m.shape[0])]  # noqa: E731
    qd, dd = as_dicts(Q), as_dicts(D)

    def timed(fn):
        start = time.perf_counter()
        out = fn()
        return time.perf_counter() - start, out

    package = [timed(lambda: (Q @ D.T).toarray()) for _ in range(args.repeat)]
    seed = [timed(lambda: seed_scores(qd, dd)) for _ in range(max(1, args.repeat // 3))]
    assert np.allclose(package[0][1], seed[0][1], rtol=1e-5, atol=1e-5)

    client = q.get_client()
    store = q.QdrantStore(client, "bench", splade=enc)
    store.index(ds.doc_ids, ds.doc_texts)
    n = min(args.qdrant_queries, len(ds.query_ids))
    vectors = store.query_vectors(ds.query_texts[:n])["splade"]
    qdrant_s, _ = timed(lambda: [q.search(client, "bench", "splade", v, limit=10) for v in vectors])

    nq = len(ds.query_ids)
    per_query = {"package": statistics.median(t for t, _ in package) / nq,
                 "seed dict loop": statistics.median(t for t, _ in seed) / nq,
                 "qdrant local": qdrant_s / n}
    print(f"{nq} queries x {len(ds.doc_ids)} documents (Qdrant: {n} queries), same SPLADE vectors, results equal")
    for name, s in per_query.items():
        print(f"  {name:<16}{s * 1e3:9.3f} ms per query   x{s / per_query['package']:,.0f} the package's time")
    print(json.dumps({"benchmark": "search", "queries": nq, "docs": len(ds.doc_ids),
                      "ms_per_query": {k: round(v * 1e3, 4) for k, v in per_query.items()},
                      "seed_over_package": round(per_query["seed dict loop"] / per_query["package"], 1),
                      "qdrant_local_over_package": round(per_query["qdrant local"] / per_query["package"], 1)}))


if __name__ == "__main__":
    main()
