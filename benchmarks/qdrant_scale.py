"""Qdrant's cost as the corpus grows: Qdrant Edge (Rust, in process) against qdrant-client's local mode.

    python benchmarks/qdrant_scale.py                      # 1,400 / 14,000 / 100,000 points
    python benchmarks/qdrant_scale.py --save                # also write benchmarks/results/qdrant_scale.json
    python benchmarks/qdrant_scale.py --sizes 1400,14000 --queries 50 --save /tmp/scale.json

The first 1,400 points are Cranfield's real vectors (MiniLM dense, SPLADE, BM25). Larger
collections add **synthetic** points drawn to match them: each synthetic SPLADE (or BM25) vector
takes as many terms as a random real document, drawn from the pool of all real (term, weight)
entries, so term frequencies and weights follow Cranfield's; dense vectors are drawn from a
Gaussian with the real embeddings' mean and covariance, then normalised. Queries are Cranfield's
real query vectors. Each (engine, size) runs in a fresh process, so resident memory is its own.

Measured per (engine, size): upsert throughput through ``QdrantStore.upsert`` (validated points,
batches of 256), ``optimize()`` time (Edge), p50 / p95 query latency through the store's API
for dense, SPLADE, BM25 and a dense + SPLADE RRF hybrid (Edge: before and after ``optimize()``),
disk use (apparent and allocated) and resident memory. Local mode is run up to the largest size
whose projected time stays under a minute. Prints a table, then one JSON line with the targets,
judged on Edge after ``optimize()`` (the state a collection is served from): SPLADE p50 <= 2 ms and
RRF hybrid p50 <= 10 ms at 100,000 points; Edge >= 1,000x local mode (SPLADE p50) at 14,000 points.
"""

from __future__ import annotations

import common  # first: the environment flags, before anything imports tqdm or Hugging Face code

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from splade_helpers.timing import Stopwatch

ROOT = common.ROOT
KINDS = ("dense", "splade", "bm25", "hybrid")
TARGETS = {"edge_splade_p50_ms_at_100000": ("<=", 2.0), "edge_hybrid_p50_ms_at_100000": ("<=", 10.0),
           "edge_over_local_at_14000": (">=", 1000.0)}


def real_vectors(dataset: str):
    """Cranfield's (or another dataset's) document and query vectors, from the encoding cache."""
    import splade_helpers as sh
    from splade_helpers.bm25 import BM25Vectors

    ds = sh.load_dataset(dataset)
    splade, dense = sh.SpladeEncoder(), sh.DenseEncoder()
    bm25 = BM25Vectors()
    docs = {"dense": dense.encode(ds.doc_texts), "splade": splade.encode_documents(ds.doc_texts),
            "bm25": bm25.fit_transform(ds.doc_texts)}
    queries = {"dense": dense.encode(ds.query_texts), "splade": splade.encode_queries(ds.query_texts),
               "bm25": [bm25.query(t) for t in ds.query_texts]}
    return ds, docs, queries


def synthetic_rows(rows: list[tuple[np.ndarray, np.ndarray]], n: int, rng: np.random.Generator):
    """``n`` sparse rows with the real rows' length distribution, entries drawn from the real (term, weight) pool."""
    lengths = np.array([len(i) for i, _ in rows])
    pool_ids = np.concatenate([i for i, _ in rows])
    pool_vals = np.concatenate([v for _, v in rows])
    out = []
    for length in rng.choice(lengths, size=n):
        pick = rng.choice(len(pool_ids), size=int(length) * 2 + 4, replace=True)
        _, first = np.unique(pool_ids[pick], return_index=True)  # one weight per term
        first = first[: int(length)]
        ids, vals = pool_ids[pick][first], pool_vals[pick][first]
        order = np.argsort(ids)
        out.append((ids[order], vals[order]))
    return out


def points(size: int, dataset: str, seed: int = 0):
    """The validated points of a collection of ``size``: the real ones, then synthetic ones."""
    from splade_helpers.qdrant.schema import csr_row, iter_points

    ds, docs, queries = real_vectors(dataset)
    n_real = min(size, len(ds.doc_ids))
    splade_rows = [csr_row(docs["splade"], i) for i in range(len(ds.doc_ids))]
    real = list(iter_points(ds.doc_ids[:n_real], [""] * n_real, docs["dense"][:n_real], docs["splade"][:n_real],
                            docs["bm25"][:n_real]))
    extra = size - n_real
    if extra <= 0:
        return real, queries
    rng = np.random.default_rng(seed)
    d = docs["dense"][docs["dense"].any(axis=1)].astype(np.float64)
    mean, cov = d.mean(axis=0), np.cov(d, rowvar=False)
    try:
        dense = rng.multivariate_normal(mean, cov, size=extra, method="cholesky")
    except np.linalg.LinAlgError:  # fewer documents than dimensions (a small corpus): a singular covariance
        dense = rng.multivariate_normal(mean, cov, size=extra, method="eigh")
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    import scipy.sparse as sp

    srows = synthetic_rows([r for r in splade_rows if len(r[0])], extra, rng)
    splade = sp.csr_matrix((np.concatenate([v for _, v in srows]), np.concatenate([i for i, _ in srows]),
                            np.concatenate([[0], np.cumsum([len(i) for i, _ in srows])])), shape=(extra, docs["splade"].shape[1]))
    bm25 = synthetic_rows([r for r in docs["bm25"] if r[1].any()], extra, rng)
    ids = [f"synthetic-{i}" for i in range(extra)]
    return real + list(iter_points(ids, [""] * extra, dense, splade, bm25)), queries


def percentile_ms(seconds: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1e3, p))


def measure(engine: str, size: int, n_queries: int, dataset: str) -> dict:
    """One (engine, size) run, in this process."""
    import psutil

    from splade_helpers.qdrant import SparseVec, open_store
    from splade_helpers.qdrant.schema import Layout, csr_row

    pts, queries = points(size, dataset)
    rss_before = psutil.Process().memory_info().rss
    folder = tempfile.mkdtemp(prefix="qdrant-scale-")
    store = open_store(folder if engine == "edge" else None, "scale", engine=engine)
    store._create(Layout(dense_dim=int(queries["dense"].shape[1])))  # layout without loading the encoders
    upsert = Stopwatch()
    with upsert:
        store.upsert(pts, batch_size=256)
        store.flush()
    upsert_s = upsert.seconds
    store._refresh_ids()
    nq = min(n_queries, len(queries["bm25"]))
    vec = {"dense": [queries["dense"][i].tolist() for i in range(nq)],
           "splade": [SparseVec(*(a.tolist() for a in csr_row(queries["splade"], i))) for i in range(nq)],
           "bm25": [SparseVec(*(a.tolist() for a in queries["bm25"][i])) for i in range(nq)]}

    def one(kind: str, i: int) -> None:
        if kind == "hybrid":
            store.hybrid_search({"dense": vec["dense"][i], "splade": vec["splade"][i]}, "rrf", limit=10,
                                prefetch_limit=100, rrf_k=1)
        else:
            store.search(kind, vec[kind][i], limit=10)

    def latencies() -> dict:
        """Steady state: every query runs once untimed (page cache, lazy structures), then timed."""
        out = {}
        for kind in KINDS:
            for i in range(nq):
                one(kind, i)
            watch = Stopwatch()
            for i in range(nq):
                with watch:
                    one(kind, i)
            out[kind] = {"p50_ms": round(percentile_ms(watch.laps, 50), 4), "p95_ms": round(percentile_ms(watch.laps, 95), 4)}
        return out

    result = {"engine": engine, "points": size, "queries": nq, "upsert_points_per_s": round(size / upsert_s, 1),
              "upsert_s": round(upsert_s, 2), "latency": latencies()}
    if engine == "edge":
        optimize = Stopwatch()
        with optimize:
            result["optimized"] = store.optimize()
        result["optimize_s"] = round(optimize.seconds, 2)
        result["latency_after_optimize"] = latencies()
        result["info"] = store.info()
    files = [f.stat() for f in Path(folder).rglob("*") if f.is_file()]
    result["disk_apparent_mb"] = round(sum(f.st_size for f in files) / 1e6, 1)
    result["disk_allocated_mb"] = round(sum(f.st_blocks * 512 for f in files) / 1e6, 1)
    result["rss_mb"] = round((psutil.Process().memory_info().rss - rss_before) / 1e6, 1)  # what the store added
    store.close()
    return result


def run_one(engine: str, size: int, n_queries: int, dataset: str, timeout: float) -> dict | None:
    cmd = [sys.executable, __file__, "--one", engine, str(size), "--queries", str(n_queries), "--dataset", dataset]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode != 0:
        raise RuntimeError(f"{engine} at {size} points failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = common.parser(__doc__)  # --save: notebook 05 reads benchmarks/results/qdrant_scale.json
    parser.add_argument("--sizes", default="1400,14000,100000")
    parser.add_argument("--queries", type=int, default=100, help="queries per kind (Edge); local mode uses at most 10")
    parser.add_argument("--local-budget", type=float, default=60.0, help="seconds local mode may take per size")
    parser.add_argument("--one", nargs=2, metavar=("ENGINE", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), args.queries, args.dataset)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    results, local_per_point = [], None
    for size in sizes:
        results.append(run_one("edge", size, args.queries, args.dataset, timeout=3600))
        if local_per_point is not None and local_per_point * size > args.local_budget:
            print(f"local mode skipped at {size:,} points: projected {local_per_point * size:.0f} s > {args.local_budget:g} s")
            continue
        got = run_one("local", size, min(args.queries, 10), args.dataset, timeout=max(4 * args.local_budget, 120))
        if got is None:
            print(f"local mode timed out at {size:,} points")
            local_per_point = float("inf")
            continue
        results.append(got)
        took = got["upsert_s"] + got["queries"] * sum(v["p50_ms"] for v in got["latency"].values()) / 1e3
        local_per_point = took / size

    def row(r: dict, lat: dict, label: str) -> str:
        cells = "".join(f"{lat[k]['p50_ms']:>12.2f}{lat[k]['p95_ms']:>8.2f}" for k in KINDS)
        opt = f"{r['optimize_s']:>8.1f}" if "optimize_s" in r else f"{'-':>8}"
        return (f"{label:<16}{r['points']:>9,}{r['upsert_points_per_s']:>10,.0f}{opt}"
                f"{cells}{r['disk_apparent_mb']:>9.0f}{r['disk_allocated_mb']:>8.1f}{r['rss_mb']:>8.0f}")

    head = (f"{'engine':<16}{'points':>9}{'upsert/s':>10}{'opt. s':>8}"
            + "".join(f"{k + ' p50':>12}{'p95':>8}" for k in KINDS) + f"{'disk MB':>9}{'alloc.':>8}{'+RSS MB':>8}")
    print("milliseconds per query through QdrantStore (p50, p95); disk: apparent and allocated MB; +RSS: "
          "resident memory the store added")
    print(head)
    for r in results:
        print(row(r, r["latency"], r["engine"]))
        if "latency_after_optimize" in r:
            print(row(r, r["latency_after_optimize"], "  after optimize"))
    edge = {r["points"]: r for r in results if r["engine"] == "edge"}
    local = {r["points"]: r for r in results if r["engine"] == "local"}
    served = lambda r, k: r.get("latency_after_optimize", r["latency"])[k]["p50_ms"]  # noqa: E731 - the state one serves from
    figures = {}
    if 100000 in edge:
        figures["edge_splade_p50_ms_at_100000"] = served(edge[100000], "splade")
        figures["edge_hybrid_p50_ms_at_100000"] = served(edge[100000], "hybrid")
    if 14000 in edge and 14000 in local:
        figures["edge_over_local_at_14000"] = round(local[14000]["latency"]["splade"]["p50_ms"] / served(edge[14000], "splade"), 1)
    judged = common.judge(figures, TARGETS)
    print("targets: " + "; ".join(common.verdict(k, judged) for k in judged["met"]))
    common.finish("qdrant_scale", {**judged, "results": results}, args.save)


if __name__ == "__main__":
    main()
