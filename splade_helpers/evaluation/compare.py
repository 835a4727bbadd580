"""Compare retrievers on a test collection: index, search every judged query, measure (notebook 00).

:func:`compare_retrievers` is what ``python -m splade_helpers.evaluation`` runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..datasets import Dataset
from ..retrievers import RETRIEVERS, HybridRetriever, build_retrievers
from ..validation import check_bool, check_int
from .metrics import MEASURES, evaluate_run

if TYPE_CHECKING:
    from ..qdrant import QdrantStore

BACKENDS = ("memory", "qdrant", "edge", "local", "server")


def _makers(backend: str | QdrantStore, splade_model: str | None):
    """Retriever makers for a backend, and the store to close afterwards (``None`` if the caller owns it)."""
    if isinstance(backend, str):
        if backend not in BACKENDS:
            raise ValueError(f"backend={backend!r} is not supported; use one of {list(BACKENDS)} or a QdrantStore.")
        from ..inference_free import load_sparse_encoder

        if backend == "memory":
            from ..retrievers import BM25Retriever, DenseRetriever, SpladeRetriever

            splade = (lambda: SpladeRetriever(load_sparse_encoder(splade_model))) if splade_model else SpladeRetriever
            return {"bm25": BM25Retriever, "splade": splade, "dense": DenseRetriever}, None
        from ..qdrant import open_store, qdrant_retrievers

        engine = None if backend == "qdrant" else backend
        store = open_store(None, "evaluate", engine=engine,
                           splade=load_sparse_encoder(splade_model) if splade_model else None)
        return {n: (lambda r=r: r) for n, r in qdrant_retrievers(store).items()}, store
    from ..qdrant import QdrantStore, qdrant_retrievers

    if not isinstance(backend, QdrantStore):
        raise TypeError(f"backend={backend!r} is not supported; use one of {list(BACKENDS)} or a QdrantStore.")
    return {n: (lambda r=r: r) for n, r in qdrant_retrievers(backend, reindex=False).items()}, None


def compare_retrievers(
    dataset: Dataset,
    names: Sequence[str] | str = RETRIEVERS,
    k: int = 100,
    cache: bool = True,
    backend: str | QdrantStore = "memory",
    splade_model: str | None = None,
) -> list[dict]:
    """Index ``dataset`` with each retriever, search every judged query, and measure.

    Args:
        backend: ``"memory"`` (numpy / scipy here), ``"qdrant"`` (a new collection on the default
            engine: a Qdrant server if ``$QDRANT_URL`` is set, else Qdrant Edge in a temporary
            folder), ``"edge"``, ``"local"`` (qdrant-client's pure-Python local mode), ``"server"``,
            or a ``QdrantStore`` already holding ``dataset``'s documents (searched as it is).
        splade_model: a hub id or folder for SPLADE (default: ``$SPLADE_MODEL`` or the bundled model).
    Returns:
        one dict per retriever: ``retriever``, the metrics, ``encode_s``, ``queries``, and
        ``per_query`` (query id -> metrics). A hybrid reuses its components' score matrices.
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a Dataset (from load_dataset), got {type(dataset).__name__}.")
    k = check_int(k, "k", minimum=1)
    cache = check_bool(cache, "cache")
    qids = dataset.judged_query_ids
    if not qids:
        raise ValueError(f"{dataset.name!r} has no judged query (no query with a relevant document); "
                         f"nothing can be measured. Check its qrels.")
    makers, owned = _makers(backend, splade_model)
    try:
        retrievers = build_retrievers(names, makers)
        texts = [dataset.query(q) for q in qids]
        score_of: dict[str, np.ndarray] = {}
        for r in retrievers.values():
            for part in getattr(r, "retrievers", [r]):
                if not cache and hasattr(part, "encoder"):
                    part.encoder.cache = False
        rows = []
        for name, r in retrievers.items():
            r.index(dataset.doc_ids, dataset.doc_texts)
            if isinstance(r, HybridRetriever):
                for part in r.retrievers:
                    if part.name not in score_of:
                        score_of[part.name] = part.scores(texts)
                scores = r.fuse([score_of[p.name] for p in r.retrievers])
            else:
                scores = score_of[name] = r.scores(texts)
            run = dict(zip(qids, r.rank(scores, k)))
            means, per_query = evaluate_run(run, dataset.qrels, qids)
            rows.append({"retriever": name, **means, "encode_s": r.encode_seconds, "queries": len(qids),
                         "per_query": per_query})
        return rows
    finally:
        if owned is not None:
            owned.close()


def format_table(rows: list[dict], show_time: bool = True) -> str:
    """A plain-text table of :func:`compare_retrievers` rows, metrics at 3 decimals."""
    head = f"{'retriever':<10}" + "".join(f"{m:>9}" for m in MEASURES) + (f"{'encode s':>10}" if show_time else "")
    lines = [head, "-" * len(head)]
    for row in rows:
        line = f"{row['retriever']:<10}" + "".join(f"{row[m]:>9.3f}" for m in MEASURES)
        lines.append(line + (f"{row['encode_s']:>10.1f}" if show_time else ""))
    return "\n".join(lines)
