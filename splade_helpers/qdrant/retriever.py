"""A Qdrant store behind the course's Retriever interface (storage imports retrievers, never the other way round).

:class:`QdrantRetriever` searches one named vector, :class:`QdrantHybrid` runs a hybrid inside the engine
(prefetch + fusion): both return the engine's own top k, which is what a deployment runs. ``scores`` (every
document's score, from the engine) stays available to the lessons that need all-document matrices.
Introduced in notebook 05.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from ..fusion import ENGINE_FUSIONS, ENGINE_HYBRID, RRF_K
from ..retrievers import Retriever
from ..validation import check_choice, check_int, check_number, check_texts, check_weights
from .schema import VECTOR_NAMES
from .store import QdrantStore


def _hold(store: QdrantStore, reindex: bool, doc_ids: list[str], texts: list[str]) -> None:
    """Make sure ``store`` holds exactly these documents: load them, or (``reindex=False``) refuse."""
    if store.holds(doc_ids, texts):
        return
    if not reindex:
        raise ValueError(
            f"collection {store.collection!r} holds {len(store.doc_ids):,} documents that are not the "
            f"{len(doc_ids):,} given (ids or texts differ); call store.index(doc_ids, texts) first, or evaluate "
            f"with backend='qdrant' for a new collection.")
    store.index(doc_ids, texts)


class QdrantRetriever(Retriever):
    """Scores from one named vector (``dense``, ``splade`` or ``bm25``) of a :class:`QdrantStore`.

    Not called by the notebooks; used by qdrant.qdrant_retrievers.

    Retrievers sharing a store load it once. With ``reindex=False`` the store must already hold
    exactly the documents given to :meth:`index` (ids and texts): it is searched as it is.
    """

    def __init__(self, store: QdrantStore, using: str, reindex: bool = True) -> None:
        if not isinstance(store, QdrantStore):
            raise TypeError(f"store must be a QdrantStore (EdgeStore or ClientStore), got {type(store).__name__}.")
        super().__init__()
        self.store, self.reindex = store, reindex
        self.name = check_choice(using, "using", VECTOR_NAMES)

    def _index(self, doc_ids: list[str], texts: list[str]) -> None:
        _hold(self.store, self.reindex, doc_ids, texts)

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        """Every document's score from the engine (a teaching device: a deployment asks for the top k)."""
        self._check_indexed()
        return self.store.score_matrix(self.name, check_texts(queries, "queries"), self.doc_ids)

    def search(self, queries: Sequence[str], k: int = 100) -> list[list[tuple[str, float]]]:
        """The engine's own top ``k`` for each query, best first (ties in document order); an empty query returns []."""
        k = check_int(k, "k", minimum=1, hint="It is how many documents to return per query.")
        self._check_indexed()
        start = time.perf_counter()
        vectors = self.store.query_vectors(check_texts(queries, "queries"), kinds=(self.name,))[self.name]
        self.encode_seconds += time.perf_counter() - start
        return self.store.search_many(self.name, vectors, limit=k)


class QdrantHybrid(Retriever):
    """A hybrid the engine executes: one prefetch per named vector, fused by the engine (``hybrid_search``).

    Not called by the notebooks; used by qdrant.qdrant_retrievers.

    Args:
        store: a :class:`QdrantStore`.
        vectors: the named vectors to prefetch (default ``fusion.ENGINE_HYBRID``: dense, BM25 and SPLADE).
        fusion: ``"dbsf"`` (default) or ``"rrf"`` (with ``rrf_k`` and optional ``weights``, one per vector).
        prefetch_limit: each prefetch's depth (default 100).
        reindex: as for :class:`QdrantRetriever`.

    It returns each query's top ``k`` only: there is no score for every document (:meth:`scores` refuses).
    """

    name = "hybrid"

    def __init__(self, store: QdrantStore, vectors: Sequence[str] = ENGINE_HYBRID["vectors"],
                 fusion: str = ENGINE_HYBRID["fusion"], prefetch_limit: int = ENGINE_HYBRID["prefetch_limit"],
                 weights: Sequence[float] | None = None, rrf_k: float = RRF_K, reindex: bool = True) -> None:
        if not isinstance(store, QdrantStore):
            raise TypeError(f"store must be a QdrantStore (EdgeStore or ClientStore), got {type(store).__name__}.")
        super().__init__()
        self.store, self.reindex = store, reindex
        self.vectors = tuple(check_choice(v, "vector", VECTOR_NAMES) for v in vectors)
        if not self.vectors or len(set(self.vectors)) != len(self.vectors):
            raise ValueError(f"vectors={list(vectors)!r} must name distinct vectors among {list(VECTOR_NAMES)}.")
        self.fusion = check_choice(fusion, "fusion", [f for f in ENGINE_FUSIONS if f != "formula"])
        self.prefetch_limit = check_int(prefetch_limit, "prefetch_limit", minimum=1)
        self.weights = None if weights is None else check_weights(weights, "weights", len(self.vectors))
        self.rrf_k = check_number(rrf_k, "rrf_k", minimum=0.0)

    def __repr__(self) -> str:
        return f"QdrantHybrid({'+'.join(self.vectors)}, fusion={self.fusion!r}, prefetch_limit={self.prefetch_limit})"

    def _index(self, doc_ids: list[str], texts: list[str]) -> None:
        _hold(self.store, self.reindex, doc_ids, texts)

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        raise ValueError("an engine-fused hybrid returns each query's top results, not a score for every document; "
                         "call search(queries, k), or fuse all-document scores in memory with sh.HybridRetriever.")

    def search(self, queries: Sequence[str], k: int = 100) -> list[list[tuple[str, float]]]:
        """The engine's fused top ``k`` for each query (prefetch + fusion inside the engine), best first."""
        k = check_int(k, "k", minimum=1, hint="It is how many documents to return per query.")
        self._check_indexed()
        queries = check_texts(queries, "queries")
        start = time.perf_counter()
        vectors = self.store.query_vectors(queries, kinds=self.vectors)
        self.encode_seconds += time.perf_counter() - start
        extra = {"weights": self.weights, "rrf_k": self.rrf_k} if self.fusion == "rrf" else {}
        return [self.store.hybrid_search({v: vectors[v][i] for v in self.vectors}, fusion=self.fusion, limit=k,
                                         prefetch_limit=self.prefetch_limit, **extra)
                for i in range(len(queries))]


def qdrant_retrievers(store: QdrantStore, reindex: bool = True) -> dict[str, Retriever]:
    """One retriever per named vector of ``store`` (``bm25``, ``splade``, ``dense``) and the engine's ``hybrid``.

    Not called by the notebooks; used by compare_retrievers (python -m splade_helpers.evaluation --backend edge or server).
    """
    out: dict[str, Retriever] = {n: QdrantRetriever(store, n, reindex=reindex) for n in ("bm25", "splade", "dense")}
    out["hybrid"] = QdrantHybrid(store, reindex=reindex)
    return out
